/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Header parsing: one bounds-checked step per header, advancing a cursor. */
#ifndef XVRRP_BPF_PARSING_H
#define XVRRP_BPF_PARSING_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define XVRRP_MAX_VLAN_TAGS 2

#ifndef IPPROTO_VRRP
#define IPPROTO_VRRP 112
#endif

struct hdr_cursor {
	void *pos;
	void *end;
};

struct vlan_tag {
	__be16 tci;
	__be16 encap_proto;
};

static __always_inline int proto_is_vlan(__be16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

/*
 * Ethernet plus up to two 802.1Q/802.1ad tags. Returns the inner ethertype
 * (network order) or -1 when truncated; *vlan gets the innermost VLAN id (0
 * when untagged). Frames with more tags than we parse are returned with the
 * tag ethertype, which no handler claims, so they pass.
 */
static __always_inline int parse_ethhdr(struct hdr_cursor *c, struct ethhdr **eth, __u16 *vlan)
{
	struct ethhdr *e = c->pos;

	if ((void *)(e + 1) > c->end)
		return -1;
	c->pos = e + 1;
	*eth = e;
	*vlan = 0;

	__be16 proto = e->h_proto;
#pragma unroll
	for (int i = 0; i < XVRRP_MAX_VLAN_TAGS; i++) {
		if (!proto_is_vlan(proto))
			break;
		struct vlan_tag *tag = c->pos;
		if ((void *)(tag + 1) > c->end)
			return -1;
		*vlan = bpf_ntohs(tag->tci) & 0x0fff;
		proto = tag->encap_proto;
		c->pos = tag + 1;
	}
	return proto;
}

/* IPv4 header with options skipped; returns the L4 protocol or -1. */
static __always_inline int parse_iphdr(struct hdr_cursor *c, struct iphdr **iph)
{
	struct iphdr *ip = c->pos;

	if ((void *)(ip + 1) > c->end)
		return -1;
	__u32 len = ip->ihl * 4;
	if (len < sizeof(*ip))
		return -1;
	if (c->pos + len > c->end)
		return -1;
	c->pos += len;
	*iph = ip;
	return ip->protocol;
}

/* IPv6 fixed header; returns the next header or -1. Extension headers are not
 * walked: VRRP, NS and everything we answer carry none. */
static __always_inline int parse_ip6hdr(struct hdr_cursor *c, struct ipv6hdr **ip6h)
{
	struct ipv6hdr *ip6 = c->pos;

	if ((void *)(ip6 + 1) > c->end)
		return -1;
	c->pos = ip6 + 1;
	*ip6h = ip6;
	return ip6->nexthdr;
}

#endif
