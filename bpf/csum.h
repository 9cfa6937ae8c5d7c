/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Internet checksum (RFC 1071) helpers. Sums are kept in 64 bits and folded once. */
#ifndef XVRRP_BPF_CSUM_H
#define XVRRP_BPF_CSUM_H

#include "parsing.h"

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

static __always_inline __u16 csum_fold64(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Sum of 16 bytes (an IPv6 address) as four 32-bit words. */
static __always_inline __u64 csum_add16(const void *p)
{
	const __u32 *w = p;
	return (__u64)w[0] + w[1] + w[2] + w[3];
}

/* The same for an address already in two 64-bit registers. */
static __always_inline __u64 csum_add64x2(__u64 lo, __u64 hi)
{
	return (lo & 0xffffffff) + (lo >> 32) + (hi & 0xffffffff) + (hi >> 32);
}

/*
 * Sum of len bytes at p (a packet pointer), len <= max_len. Words are summed in
 * network byte order as loaded; a one's-complement sum is byte-order
 * independent as long as the fold happens at the end and the caller's
 * pseudo-header words are added the same way.
 */
static __always_inline int csum_packet(const void *p, const void *end, __u32 len, __u32 max_len,
				       __u64 *sum)
{
	__u64 s = 0;
	__u32 words = len / 4;

	if (len > max_len || p + len > end)
		return -1;
	for (__u32 i = 0; i < max_len / 4; i++) {
		if (i >= words)
			break;
		const __u32 *w = p + i * 4;
		if ((const void *)(w + 1) > end)
			return -1;
		s += *w;
	}
	const __u8 *tail = p + words * 4;
	__u32 rest = len & 3;
	if (rest) {
		/* Remaining 1-3 bytes, padded with zeros to a 32-bit word in wire order. */
		__u8 b[4] = {};
		if ((const void *)(tail + 1) > end)
			return -1;
		b[0] = tail[0];
		if (rest > 1) {
			if ((const void *)(tail + 2) > end)
				return -1;
			b[1] = tail[1];
		}
		if (rest > 2) {
			if ((const void *)(tail + 3) > end)
				return -1;
			b[2] = tail[2];
		}
		s += *(__u32 *)b;
	}
	*sum += s;
	return 0;
}

#endif
