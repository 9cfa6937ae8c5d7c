/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Reads like the packet: eth -> vlan* -> {arp | ipv4 -> vrrp | ipv6 -> vrrp | ns}.
 * Anything not addressed to us leaves through the first branch that can tell.
 * Kept in a header so the benchmark's frame-restoring wrapper runs the same code.
 */
#ifndef XVRRP_BPF_DISPATCH_H
#define XVRRP_BPF_DISPATCH_H

#include "arp.h"
#include "nd.h"
#include "parsing.h"
#include "vrrp.h"

static __always_inline int ipv4_header_ok(const struct iphdr *ip)
{
	/* Not version 4, options (adverts carry none), fragments and a bad header checksum make an
	 * advert invalid. */
	if (ip->version != 4 || ip->ihl != 5 || (ip->frag_off & bpf_htons(0x3fff)))
		return 0;
	const __u32 *w = (const __u32 *)ip;
	return csum_fold64((__u64)w[0] + w[1] + w[2] + w[3] + w[4]) == 0;
}

static __always_inline int xvrrp_dispatch(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct hdr_cursor c = {.pos = data, .end = end};
	struct ethhdr *eth;
	__u16 vlan;

	int proto = parse_ethhdr(&c, &eth, &vlan);
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip;
		if (parse_iphdr(&c, &ip) != IPPROTO_VRRP)
			return count_exit(ctx, XVRRP_STAT_PASS, XDP_PASS);
		if (!ipv4_header_ok(ip))
			return count_exit(ctx, XVRRP_STAT_ADVERT_BAD_IP, XDP_DROP);
		__u32 tot = bpf_ntohs(ip->tot_len);
		if (tot < sizeof(*ip))
			return count_exit(ctx, XVRRP_STAT_ADVERT_BAD_IP, XDP_DROP);
		struct vrrp_ip v = {
			.key = {.ifindex = ctx->ingress_ifindex, .vlan = vlan, .family = XVRRP_AF_INET},
			.ttl = ip->ttl,
			.payload_len = tot - sizeof(*ip),
			.src = &ip->saddr,
			.dst = &ip->daddr,
			.addr_len = 4,
		};
		return handle_vrrp(ctx, &v, c.pos, end);
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6;
		void *l3 = c.pos;
		int next = parse_ip6hdr(&c, &ip6);
		if (next >= 0 && ip6->version != 6) /* the stack drops it; an advert is counted as invalid */
			return next == IPPROTO_VRRP ? count_exit(ctx, XVRRP_STAT_ADVERT_BAD_IP, XDP_DROP)
						    : count_exit(ctx, XVRRP_STAT_PASS, XDP_PASS);
		if (next == IPPROTO_ICMPV6) {
			__u8 *type = c.pos;
			if ((void *)(type + 1) <= end && *type == ND_NS_TYPE)
				return handle_ns(ctx, l3 - data, vlan);
			return count_exit(ctx, XVRRP_STAT_PASS, XDP_PASS);
		}
		if (next != IPPROTO_VRRP)
			return count_exit(ctx, XVRRP_STAT_PASS, XDP_PASS);
		struct vrrp_ip v = {
			.key = {.ifindex = ctx->ingress_ifindex, .vlan = vlan, .family = XVRRP_AF_INET6},
			.ttl = ip6->hop_limit,
			.payload_len = bpf_ntohs(ip6->payload_len),
			.src = &ip6->saddr,
			.dst = &ip6->daddr,
			.addr_len = 16,
		};
		return handle_vrrp(ctx, &v, c.pos, end);
	}
	if (proto == bpf_htons(ETH_P_ARP))
		return handle_arp(ctx, eth, c.pos, end, vlan);
	return count_exit(ctx, XVRRP_STAT_PASS, XDP_PASS);
}

#endif
