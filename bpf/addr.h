/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Small helpers on addresses kept as wire-order byte arrays. */
#ifndef XVRRP_BPF_ADDR_H
#define XVRRP_BPF_ADDR_H

#include "parsing.h"

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

/*
 * Word-sized copies: packet pointers have no known alignment, so memcpy would
 * go byte by byte. x86 (and arm64) JITs load unaligned words without cost and
 * the verifier allows it for packets unless strict alignment is asked for.
 */
static __always_inline void addr_copy16(void *dst, const void *src)
{
	((__u64 *)dst)[0] = ((const __u64 *)src)[0];
	((__u64 *)dst)[1] = ((const __u64 *)src)[1];
}

static __always_inline void addr_copy4(void *dst16, const void *src)
{
	((__u64 *)dst16)[0] = *(const __u32 *)src;
	((__u64 *)dst16)[1] = 0;
}

static __always_inline int addr_equal16(const void *a, const void *b)
{
	const __u64 *x = a, *y = b;
	return x[0] == y[0] && x[1] == y[1];
}

/* Compare as unsigned big-endian numbers: <0, 0, >0 (RFC 9568 tie-break). */
static __always_inline int addr_cmp16(const __u8 *a, const __u8 *b)
{
#pragma unroll
	for (int i = 0; i < 16; i++) {
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	}
	return 0;
}

static __always_inline int addr_is_zero16(const void *a)
{
	const __u64 *x = a;
	return !(x[0] | x[1]);
}

static __always_inline void mac_copy(void *dst, const void *src)
{
	*(__u32 *)dst = *(const __u32 *)src;
	((__u16 *)dst)[2] = ((const __u16 *)src)[2];
}

#endif
