/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What leaves an interface, at TC egress: the kernel never speaks for a VIP.
 *
 * Only XDP (its XDP_TX replies never pass TC) and the controller (frames marked
 * XVRRP_TX_MARK) may say at which MAC a VIP lives. An ARP reply from a VIP, or an
 * NA for one, that reaches TC egress unmarked is the kernel answering a request
 * XDP never saw: XDP was detached, or went with a private bpffs when the daemon
 * died, and the VIP left on the interface would be claimed with the interface
 * MAC for as long as it stays. It is dropped and counted. The TC filter is held
 * by the kernel, not by the daemon or a pin, so this outlives both.
 *
 * The kernel's own solicitations from a VIP (it resolves a client it answers
 * from the VIP) carry the interface MAC in their link-layer option, and the
 * client would learn the VIP at that MAC instead of the virtual one: while the
 * VIP is ours they get the VIP's MAC (Ethernet source and option); once it is
 * not (a dead or silent controller), they are dropped like an answer.
 */
#ifndef XVRRP_BPF_EGRESS_H
#define XVRRP_BPF_EGRESS_H

#include <linux/pkt_cls.h>
#include "arp.h"
#include "ctl.h"
#include "nd.h"
#include "stats.h"

#define ND_MAX_OPTIONS 4

struct nd_lladdr_opt {
	__u8 type;
	__u8 len; /* in units of 8 bytes */
	__u8 mac[ETH_ALEN];
};

static __always_inline struct xvrrp_vip *egress_vip(__u32 ifindex, __u8 family, __u64 lo, __u64 hi)
{
	struct xvrrp_vip_key vk;
	vip_key_init(&vk, ifindex, 0, family, lo, hi);
	return vip_lookup(&vk);
}

static __always_inline int drop_kernel_claim(struct __sk_buff *skb)
{
	count_stat(XVRRP_STAT_KERNEL_CLAIM_DROPPED, skb->len);
	return TC_ACT_SHOT;
}

/* ARP from a VIP: a reply is the kernel answering for it; a request (arp_announce=2 makes the
 * kernel use the primary address, so only with that undone) is allowed while the VIP is ours. */
static __always_inline int arp_egress(struct __sk_buff *skb, struct ethhdr *eth, void *end)
{
	struct arp_eth_ipv4 *arp = (void *)(eth + 1);

	if ((void *)(arp + 1) > end || arp->ptype != bpf_htons(ETH_P_IP) || arp->plen != 4)
		return TC_ACT_OK;
	struct xvrrp_vip *vip = egress_vip(skb->ifindex, XVRRP_AF_INET, *(__u32 *)arp->spa, 0);
	if (!vip)
		return TC_ACT_OK;
	if (arp->op == bpf_htons(ARPOP_REPLY) || !vip_answerable(vip))
		return drop_kernel_claim(skb);
	return TC_ACT_OK;
}

static __always_inline int nd_egress(struct __sk_buff *skb, struct ethhdr *eth, void *end)
{
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	struct nd_ns_msg *nd = (void *)(ip6 + 1); /* NS and NA share this 24-byte layout */

	if ((void *)(nd + 1) > end || ip6->nexthdr != IPPROTO_ICMPV6)
		return TC_ACT_OK;
	if (nd->type == ND_NA_TYPE) {
		if (egress_vip(skb->ifindex, XVRRP_AF_INET6, ((__u64 *)nd->target)[0], ((__u64 *)nd->target)[1]))
			return drop_kernel_claim(skb);
		return TC_ACT_OK;
	}
	if (nd->type != ND_NS_TYPE)
		return TC_ACT_OK;

	struct xvrrp_vip *vip =
		egress_vip(skb->ifindex, XVRRP_AF_INET6, ((__u64 *)&ip6->saddr)[0], ((__u64 *)&ip6->saddr)[1]);
	if (!vip)
		return TC_ACT_OK;
	if (!vip_answerable(vip))
		return drop_kernel_claim(skb);
	__u8 mac[ETH_ALEN];
	__builtin_memcpy(mac, vip->mac, ETH_ALEN); /* stack copies: the verifier wants them aligned */

	__u32 off = sizeof(*eth) + sizeof(*ip6) + sizeof(*nd);
	const __u32 csum_off = sizeof(*eth) + sizeof(*ip6) + offsetof(struct nd_ns_msg, csum);
#pragma unroll
	for (int i = 0; i < ND_MAX_OPTIONS; i++) {
		struct nd_lladdr_opt opt;
		if (bpf_skb_load_bytes(skb, off, &opt, sizeof(opt)))
			break;
		if (!opt.len)
			break; /* malformed: the stack never sends this */
		if (opt.type == ND_OPT_SOURCE_LLADDR && opt.len == 1) {
			struct nd_lladdr_opt fixed = opt;
			__builtin_memcpy(fixed.mac, mac, ETH_ALEN);
			__s64 diff = bpf_csum_diff((__be32 *)&opt, sizeof(opt), (__be32 *)&fixed, sizeof(fixed), 0);
			if (bpf_skb_store_bytes(skb, off, &fixed, sizeof(fixed), 0) ||
			    bpf_l4_csum_replace(skb, csum_off, 0, diff, 0))
				return TC_ACT_OK;
			break;
		}
		off += opt.len * 8;
	}
	/* Pointers are stale after the stores above: write the source MAC through the helper too. */
	bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_source), mac, ETH_ALEN, 0);
	return TC_ACT_OK;
}

static __always_inline int vip_egress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end || skb->mark == XVRRP_TX_MARK)
		return TC_ACT_OK;
	if (eth->h_proto == bpf_htons(ETH_P_ARP))
		return arp_egress(skb, eth, end);
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return nd_egress(skb, eth, end);
	return TC_ACT_OK;
}

#endif
