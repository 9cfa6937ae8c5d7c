/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ARP responder for VIPs: a request for a VIP we own is turned into the reply
 * in place (XDP_TX); one for a VIP we do not own now is dropped, so the kernel
 * never answers for an address left on the interface. Anything else passes.
 */
#ifndef XVRRP_BPF_ARP_H
#define XVRRP_BPF_ARP_H

#include "parsing.h"

#include "addr.h"
#include "ctl.h"
#include "stats.h"

/* From linux/if_arp.h, which drags in libc headers a BPF build cannot use. */
#define ARPHRD_ETHER 1
#define ARPOP_REQUEST 1
#define ARPOP_REPLY 2

struct arp_eth_ipv4 {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[ETH_ALEN];
	__u8 spa[4];
	__u8 tha[ETH_ALEN];
	__u8 tpa[4];
};

static __always_inline int handle_arp(struct xdp_md *ctx, struct ethhdr *eth, void *l3, void *end,
				      __u16 vlan)
{
	struct arp_eth_ipv4 *arp = l3;

	if ((void *)(arp + 1) > end) {
		/* Only Ethernet/IPv4 ARP concerns us; a cut one is no use to the stack either. */
		if (l3 + 8 <= end && ((struct arp_eth_ipv4 *)l3)->ptype != bpf_htons(ETH_P_IP))
			return count_exit(ctx, XVRRP_STAT_PASS, XDP_PASS);
		return count_exit(ctx, XVRRP_STAT_ARP_MALFORMED, XDP_DROP);
	}
	if (arp->htype != bpf_htons(ARPHRD_ETHER) || arp->ptype != bpf_htons(ETH_P_IP) ||
	    arp->hlen != ETH_ALEN || arp->plen != 4 || arp->op != bpf_htons(ARPOP_REQUEST))
		return count_exit(ctx, XVRRP_STAT_PASS, XDP_PASS);

	struct xvrrp_vip_key vk;
	vip_key_init(&vk, ctx->ingress_ifindex, vlan, XVRRP_AF_INET, *(__u32 *)arp->tpa, 0);
	struct xvrrp_vip *vip = vip_lookup(&vk);
	if (!vip)
		return count_exit(ctx, XVRRP_STAT_PASS, XDP_PASS);

	/* Gratuitous ARP (sender == target) is an announcement, not a question: the
	 * stack learns the new owner from it and never replies to it. */
	if (*(__u32 *)arp->spa == *(__u32 *)arp->tpa)
		return count_exit(ctx, XVRRP_STAT_PASS, XDP_PASS);

	/* A multicast sender hardware address is not one to answer to. */
	if (arp->sha[0] & 1)
		return count_exit(ctx, XVRRP_STAT_ARP_MALFORMED, XDP_DROP);

	if (!vip_answerable(vip)) {
		INST_COUNT(vip->slot, arp_dropped);
		return count_exit(ctx, XVRRP_STAT_ARP_DROPPED_UNOWNED, XDP_DROP);
	}

	__u32 asker_ip = *(__u32 *)arp->spa;
	mac_copy(eth->h_dest, arp->sha);
	mac_copy(eth->h_source, vip->mac);
	arp->op = bpf_htons(ARPOP_REPLY);
	mac_copy(arp->tha, arp->sha);
	*(__u32 *)arp->tpa = asker_ip;
	mac_copy(arp->sha, vip->mac);
	*(__u32 *)arp->spa = *(__u32 *)vk.addr;

	INST_COUNT(vip->slot, arp_replied);
	return count_exit(ctx, XVRRP_STAT_ARP_REPLIED, XDP_TX);
}

#endif
