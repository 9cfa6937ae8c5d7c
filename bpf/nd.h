/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * IPv6 neighbour discovery for VIPs (RFC 4861): a valid neighbour
 * solicitation for a VIP we own becomes a neighbour advertisement in place
 * (XDP_TX) with the Target Link-Layer Address option; one for a VIP we do not
 * own now is dropped. Everything else passes.
 */
#ifndef XVRRP_BPF_ND_H
#define XVRRP_BPF_ND_H

#include "parsing.h"

#include <linux/icmpv6.h>
#include "addr.h"
#include "csum.h"
#include "ctl.h"
#include "stats.h"

#define ND_NS_TYPE 135
#define ND_NA_TYPE 136
#define ND_OPT_TARGET_LLADDR 2
#define ND_NA_F_ROUTER 0x80
#define ND_NA_F_SOLICITED 0x40
#define ND_NA_F_OVERRIDE 0x20
/* Longest solicitation we checksum; real ones are 24-32 bytes (a nonce adds 8). */
#define ND_MAX_NS_LEN 256

struct nd_ns_msg {
	__u8 type;
	__u8 code;
	__u16 csum;
	__u32 reserved;
	__u8 target[16];
};

struct nd_na_msg {
	__u8 type;
	__u8 code;
	__u16 csum;
	__u8 flags;
	__u8 reserved[3];
	__u8 target[16];
	__u8 opt_type;
	__u8 opt_len; /* in units of 8 bytes */
	__u8 opt_mac[ETH_ALEN];
};

static __always_inline __u64 csum_ipv6_pseudo(const struct ipv6hdr *ip6, __u32 len)
{
	return csum_add16(&ip6->saddr) + csum_add16(&ip6->daddr) + bpf_htonl(len) +
	       bpf_htonl(IPPROTO_ICMPV6);
}

static __always_inline int ns_valid(const struct ipv6hdr *ip6, const struct nd_ns_msg *ns,
				    const void *end)
{
	__u32 len = bpf_ntohs(ip6->payload_len);
	__u64 sum = csum_ipv6_pseudo(ip6, len);

	if (ip6->hop_limit != 255 || ns->code != 0 || len < sizeof(*ns))
		return 0;
	/* Nearly every NS carries one source link-layer option: 32 bytes, summed unrolled. */
	const __u32 *w = (const __u32 *)ns;
	if (len == 32 && (const void *)(w + 8) <= end)
		return csum_fold64(sum + w[0] + w[1] + w[2] + w[3] + w[4] + w[5] + w[6] + w[7]) == 0;
	if (csum_packet(ns, end, len, ND_MAX_NS_LEN, &sum))
		return 0;
	return csum_fold64(sum) == 0;
}

static __always_inline int handle_ns(struct xdp_md *ctx, __u32 l3_off, __u16 vlan)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;

	if (l3_off > sizeof(struct ethhdr) + 4 * XVRRP_MAX_VLAN_TAGS)
		return count_exit(ctx, XVRRP_STAT_PASS, XDP_PASS);
	struct ipv6hdr *ip6 = data + l3_off;
	struct nd_ns_msg *ns = (void *)(ip6 + 1);
	if ((void *)(ns + 1) > end)
		return count_exit(ctx, XVRRP_STAT_NS_MALFORMED, XDP_DROP);

	struct xvrrp_vip_key vk = {.ifindex = ctx->ingress_ifindex, .vlan = vlan, .family = XVRRP_AF_INET6};
	addr_copy16(vk.addr, ns->target);
	struct xvrrp_vip *vip = vip_lookup(&vk);
	if (!vip)
		return count_exit(ctx, XVRRP_STAT_PASS, XDP_PASS);
	if (!ns_valid(ip6, ns, end))
		return count_exit(ctx, XVRRP_STAT_NS_MALFORMED, XDP_DROP);

	if (!vip_answerable(vip)) {
		INST_COUNT(vip->slot, ns_dropped);
		return count_exit(ctx, XVRRP_STAT_NS_DROPPED_UNOWNED, XDP_DROP);
	}

	/* Everything the advertisement needs, before the frame may be resized. */
	struct ethhdr *eth = data;
	__u8 peer_mac[ETH_ALEN], vip_mac[ETH_ALEN], peer_ip[16];
	mac_copy(peer_mac, eth->h_source);
	mac_copy(vip_mac, vip->mac);
	addr_copy16(peer_ip, &ip6->saddr);
	__u32 slot = vip->slot;
	__u8 flags = ND_NA_F_OVERRIDE | ((vip->flags & XVRRP_VIP_F_ROUTER) ? ND_NA_F_ROUTER : 0);
	/* Duplicate address detection comes from ::; the answer goes to all nodes, unsolicited. */
	int dad = addr_is_zero16(peer_ip);
	if (!dad)
		flags |= ND_NA_F_SOLICITED;

	__u32 want = l3_off + sizeof(struct ipv6hdr) + sizeof(struct nd_na_msg);
	int delta = (int)want - (int)(end - data);
	if (delta && bpf_xdp_adjust_tail(ctx, delta))
		return count_exit(ctx, XVRRP_STAT_NS_MALFORMED, XDP_DROP);

	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	ip6 = data + l3_off;
	struct nd_na_msg *na = (void *)(ip6 + 1);
	if ((void *)(na + 1) > end || (void *)(eth + 1) > end)
		return count_exit(ctx, XVRRP_STAT_NS_MALFORMED, XDP_DROP);

	if (dad) {
		/* All-nodes: 33:33:00:00:00:01 and ff02::1. */
		__builtin_memset(peer_mac, 0, ETH_ALEN);
		peer_mac[0] = peer_mac[1] = 0x33;
		peer_mac[5] = 1;
		peer_ip[0] = 0xff;
		peer_ip[1] = 0x02;
		peer_ip[15] = 1;
	}
	mac_copy(eth->h_dest, peer_mac);
	mac_copy(eth->h_source, vip_mac);

	*(__be32 *)ip6 = bpf_htonl(0x60000000); /* version 6, no traffic class or flow label */
	ip6->payload_len = bpf_htons(sizeof(*na));
	ip6->nexthdr = IPPROTO_ICMPV6;
	ip6->hop_limit = 255;
	addr_copy16((__u8 *)&ip6->saddr, vk.addr);
	addr_copy16((__u8 *)&ip6->daddr, peer_ip);

	na->type = ND_NA_TYPE;
	na->code = 0;
	na->csum = 0;
	na->flags = flags;
	na->reserved[0] = na->reserved[1] = na->reserved[2] = 0;
	addr_copy16(na->target, vk.addr);
	na->opt_type = ND_OPT_TARGET_LLADDR;
	na->opt_len = 1;
	mac_copy(na->opt_mac, vip_mac);

	const __u32 *w = (const __u32 *)na;
	__u64 sum = csum_ipv6_pseudo(ip6, sizeof(*na));
#pragma unroll
	for (int i = 0; i < (int)(sizeof(*na) / 4); i++)
		sum += w[i];
	na->csum = csum_fold64(sum);

	INST_COUNT(slot, ns_replied);
	return count_exit(ctx, XVRRP_STAT_NS_REPLIED, XDP_TX);
}

#endif
