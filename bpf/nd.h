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

/* Partial sums of the solicitation that the advertisement's checksum re-uses. */
struct ns_sums {
	__u64 target; /* the VIP: the answer's source and target */
};

#define ND_OPT_SOURCE_LLADDR 1
/* Options walked in a solicitation; real ones carry one (or a nonce too). */
#define ND_MAX_NS_OPTS 6

/*
 * RFC 4861 7.1.1, the rest: every option has a non-zero length and they fill the message
 * exactly; a solicitation from the unspecified address (duplicate address detection) goes to a
 * solicited-node address and carries no source link-layer option.
 */
static __always_inline int ns_options_ok(const struct ipv6hdr *ip6, const struct nd_ns_msg *ns, const void *end,
					 __u32 len)
{
	int has_sll = 0;
	__u32 off = sizeof(*ns);

	for (int i = 0; i < ND_MAX_NS_OPTS; i++) {
		if (off >= len)
			break;
		if (off > ND_MAX_NS_LEN)
			return 0;
		const __u8 *opt = (const __u8 *)ns + (off & (2 * ND_MAX_NS_LEN - 1));
		if ((const void *)(opt + 2) > end || opt[1] == 0)
			return 0;
		has_sll |= opt[0] == ND_OPT_SOURCE_LLADDR;
		off += (__u32)opt[1] * 8;
	}
	if (off != len) /* an option runs past the message, or more of them than anyone sends */
		return 0;
	if (!addr_is_zero16(&ip6->saddr))
		return 1;
	const __u32 *d = (const __u32 *)&ip6->daddr;
	return !has_sll && d[0] == bpf_htonl(0xff020000) && d[1] == 0 && d[2] == bpf_htonl(1) &&
	       (d[3] & bpf_htonl(0xff000000)) == bpf_htonl(0xff000000);
}

/* RFC 4861 7.1.1: hop limit 255, code 0, at least 24 bytes, a valid checksum and sane options. */
static __always_inline int ns_valid(const struct ipv6hdr *ip6, const struct nd_ns_msg *ns,
				    const void *end, struct ns_sums *sums)
{
	__u32 len = bpf_ntohs(ip6->payload_len);

	if (ip6->hop_limit != 255 || ns->code != 0 || len < sizeof(*ns))
		return 0;
	sums->target = csum_add16(ns->target);
	__u64 sum = csum_add16(&ip6->saddr) + csum_add16(&ip6->daddr) + bpf_htonl(len) + bpf_htonl(IPPROTO_ICMPV6);
	/* Nearly every NS carries one source link-layer option: 32 bytes, summed unrolled. */
	const __u32 *w = (const __u32 *)ns;
	if (len == 32 && (const void *)(w + 8) <= end) {
		if (csum_fold64(sum + w[0] + w[1] + sums->target + w[6] + w[7]) != 0)
			return 0;
	} else if (csum_packet(ns, end, len, ND_MAX_NS_LEN, &sum) || csum_fold64(sum) != 0) {
		return 0;
	}
	return ns_options_ok(ip6, ns, end, len);
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

	struct xvrrp_vip_key vk;
	vip_key_init(&vk, ctx->ingress_ifindex, vlan, XVRRP_AF_INET6, ((__u64 *)ns->target)[0],
		     ((__u64 *)ns->target)[1]);
	struct xvrrp_vip *vip = vip_lookup(&vk);
	if (!vip)
		return count_exit(ctx, XVRRP_STAT_PASS, XDP_PASS);
	struct ns_sums sums;
	if (!ns_valid(ip6, ns, end, &sums))
		return count_exit(ctx, XVRRP_STAT_NS_MALFORMED, XDP_DROP);

	if (!vip_answerable(vip)) {
		INST_COUNT(vip->slot, ns_dropped);
		return count_exit(ctx, XVRRP_STAT_NS_DROPPED_UNOWNED, XDP_DROP);
	}

	const __u8 *vip_mac = vip->mac; /* a map value: still valid after the frame is resized */
	__u32 slot = vip->slot;
	__u8 flags = ND_NA_F_OVERRIDE | ((vip->flags & XVRRP_VIP_F_ROUTER) ? ND_NA_F_ROUTER : 0);
	/* Duplicate address detection comes from ::; the answer goes to all nodes, unsolicited. */
	int dad = addr_is_zero16(&ip6->saddr);
	if (!dad)
		flags |= ND_NA_F_SOLICITED;

	__u32 want = l3_off + sizeof(struct ipv6hdr) + sizeof(struct nd_na_msg);
	int delta = (int)want - (int)(end - data);
	if (delta) {
		/* Only the tail moves: the headers read below stay where they were. */
		if (bpf_xdp_adjust_tail(ctx, delta))
			return count_exit(ctx, XVRRP_STAT_NS_MALFORMED, XDP_DROP);
		data = (void *)(long)ctx->data;
		end = (void *)(long)ctx->data_end;
	}
	struct ethhdr *eth = data;
	ip6 = data + l3_off;
	struct nd_na_msg *na = (void *)(ip6 + 1);
	if ((void *)(na + 1) > end || (void *)(eth + 1) > end)
		return count_exit(ctx, XVRRP_STAT_NS_MALFORMED, XDP_DROP);

	/* To the asker, or for DAD to all nodes (33:33:00:00:00:01, ff02::1); in registers, since
	 * the headers they come from are overwritten next. */
	const __u32 to_mac_lo = dad ? bpf_htonl(0x33330000) : *(__u32 *)eth->h_source;
	const __u16 to_mac_hi = dad ? bpf_htons(0x0001) : *(__u16 *)(eth->h_source + 4);
	const __u64 to_ip_lo = dad ? bpf_cpu_to_be64(0xff02000000000000ULL) : ((__u64 *)&ip6->saddr)[0];
	const __u64 to_ip_hi = dad ? bpf_cpu_to_be64(1) : ((__u64 *)&ip6->saddr)[1];

	*(__u32 *)eth->h_dest = to_mac_lo;
	*(__u16 *)(eth->h_dest + 4) = to_mac_hi;
	mac_copy(eth->h_source, vip_mac);

	/* Headers and message are written as whole words built in registers, and the checksum is
	 * summed from those registers: reading back words just written byte by byte would stall on
	 * store forwarding, which cost more than everything else here. */
	*(__be32 *)ip6 = bpf_htonl(0x60000000); /* version 6, no traffic class or flow label */
	*(__be32 *)((__u8 *)ip6 + 4) = bpf_htonl(sizeof(*na) << 16 | IPPROTO_ICMPV6 << 8 | 255);
	addr_copy16((__u8 *)&ip6->saddr, vk.addr);
	((__u64 *)&ip6->daddr)[0] = to_ip_lo;
	((__u64 *)&ip6->daddr)[1] = to_ip_hi;

	const __u32 w_type = bpf_htonl(ND_NA_TYPE << 24);                   /* type, code, checksum 0 */
	const __u32 w_flags = bpf_htonl((__u32)flags << 24);               /* flags, reserved */
	const __u32 w_opt = bpf_htonl(ND_OPT_TARGET_LLADDR << 24 | 1 << 16) | /* type, length 1, mac[0..1] */
			    (__u32)(*(__u16 *)vip_mac) << 16;
	const __u32 w_mac = *(__u32 *)(vip_mac + 2);                        /* mac[2..5] */
	__u64 sum = 2 * sums.target + csum_add64x2(to_ip_lo, to_ip_hi) + bpf_htonl(sizeof(*na)) + bpf_htonl(IPPROTO_ICMPV6) + w_type +
		    w_flags + w_opt + w_mac;
	__u32 *w = (__u32 *)na;
	w[0] = w_type | (__u32)csum_fold64(sum) << 16;
	w[1] = w_flags;
	addr_copy16(na->target, vk.addr);
	w[6] = w_opt;
	w[7] = w_mac;

	INST_COUNT(slot, ns_replied);
	return count_exit(ctx, XVRRP_STAT_NS_REPLIED, XDP_TX);
}

#endif
