/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Small helpers on addresses kept as wire-order byte arrays. */
#ifndef XVRRP_BPF_ADDR_H
#define XVRRP_BPF_ADDR_H

#include "parsing.h"

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

static __always_inline void addr_copy16(__u8 *dst, const void *src)
{
	__builtin_memcpy(dst, src, 16);
}

static __always_inline void addr_copy4(__u8 *dst16, const void *src)
{
	__builtin_memset(dst16, 0, 16);
	__builtin_memcpy(dst16, src, 4);
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

static __always_inline void mac_copy(__u8 *dst, const __u8 *src)
{
	__builtin_memcpy(dst, src, 6);
}

#endif
