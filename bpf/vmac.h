/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Traffic for the virtual MACs this node owns. The stack accepts only frames
 * for the interface's own MAC (others are PACKET_OTHERHOST and dropped), so a
 * frame sent to an owned virtual MAC is handed up as if sent to the interface.
 * This runs at TC ingress, not in XDP: on veth a frame reaches XDP as an skb
 * whose packet type is already set, and only TC can change it.
 */
#ifndef XVRRP_BPF_VMAC_H
#define XVRRP_BPF_VMAC_H

#include "parsing.h"

#include "addr.h"
#include "maps.h"

/* The owner's entry when dst is a virtual MAC (00:00:5e:00:01:VRID or :02:VRID) we own. */
static __always_inline struct xvrrp_vmac *owned_vmac(__u32 ifindex, const __u8 *dst)
{
	/* 00:00:5e:00 is the VRRP prefix: one compare keeps this off every other frame's path. */
	if (*(const __u32 *)dst != bpf_htonl(0x00005e00))
		return NULL;
	__u8 af = dst[4], vrid = dst[5];
	if (af != 1 && af != 2)
		return NULL;
	struct xvrrp_vmac *v = bpf_map_lookup_elem(&xvrrp_vmac, &ifindex);
	if (!v || !(v->owned[(af - 1) & 1][(vrid >> 6) & 3] >> (vrid & 63) & 1))
		return NULL;
	return v;
}

#endif
