/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The kernel's own neighbour discovery sent from a VIP (it solicits a client
 * from the VIP when it answers one) carries the interface MAC in its
 * link-layer option, and the client would learn the VIP at that MAC instead of
 * the virtual one. At TC egress, an NS or NA from an owned VIP gets the VIP's
 * MAC as Ethernet source and in its source/target link-layer option.
 */
#ifndef XVRRP_BPF_ND_EGRESS_H
#define XVRRP_BPF_ND_EGRESS_H

#include <linux/pkt_cls.h>
#include "ctl.h"
#include "nd.h"

#define ND_OPT_SOURCE_LLADDR 1
#define ND_MAX_OPTIONS 4

struct nd_lladdr_opt {
	__u8 type;
	__u8 len; /* in units of 8 bytes */
	__u8 mac[ETH_ALEN];
};

static __always_inline int vip_nd_egress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	struct nd_ns_msg *nd = (void *)(ip6 + 1); /* NS and NA share this 24-byte layout */

	if ((void *)(nd + 1) > end || eth->h_proto != bpf_htons(ETH_P_IPV6) || ip6->nexthdr != IPPROTO_ICMPV6 ||
	    (nd->type != ND_NS_TYPE && nd->type != ND_NA_TYPE))
		return TC_ACT_OK;

	struct xvrrp_vip_key vk;
	vip_key_init(&vk, skb->ifindex, 0, XVRRP_AF_INET6, ((__u64 *)&ip6->saddr)[0], ((__u64 *)&ip6->saddr)[1]);
	struct xvrrp_vip *vip = vip_lookup(&vk);
	if (!vip || !(vip->flags & XVRRP_VIP_F_OWNED))
		return TC_ACT_OK;
	__u8 mac[ETH_ALEN];
	__builtin_memcpy(mac, vip->mac, ETH_ALEN); /* stack copies: the verifier wants them aligned */

	/* The option that names our link-layer address: source in an NS, target in an NA. */
	const __u8 want = nd->type == ND_NS_TYPE ? ND_OPT_SOURCE_LLADDR : ND_OPT_TARGET_LLADDR;
	__u32 off = sizeof(*eth) + sizeof(*ip6) + sizeof(*nd);
	const __u32 csum_off = sizeof(*eth) + sizeof(*ip6) + offsetof(struct nd_ns_msg, csum);
#pragma unroll
	for (int i = 0; i < ND_MAX_OPTIONS; i++) {
		struct nd_lladdr_opt opt;
		if (bpf_skb_load_bytes(skb, off, &opt, sizeof(opt)))
			break;
		if (!opt.len)
			break; /* malformed: the stack never sends this */
		if (opt.type == want && opt.len == 1) {
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

#endif
