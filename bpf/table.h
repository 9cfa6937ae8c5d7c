/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The open-addressed tables the controller fills (VIPs, the instance directory): linear probing
 * over an array map of buckets that carry a key and an enum xvrrp_bucket_state, the walk the
 * controller makes too (include/xvrrp/open_table.hpp). A few inlined array reads where a kernel
 * hash lookup costs more than the rest of the path.
 */
#ifndef XVRRP_BPF_TABLE_H
#define XVRRP_BPF_TABLE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xvrrp/abi.h"

/* The bucket of type `type` in `map` whose key `equal`s `want`, probing from `home` up to
 * `probes` buckets or an empty one; NULL if none. */
#define table_find(type, map, buckets, probes, home, want, equal)                          \
	({                                                                                 \
		type *found_ = NULL;                                                       \
		for (__u32 i_ = 0; i_ < (probes); i_++) {                                  \
			__u32 idx_ = ((home) + i_) & ((buckets) - 1);                      \
			type *b_ = bpf_map_lookup_elem(&(map), &idx_);                     \
			if (!b_ || b_->state == XVRRP_BUCKET_EMPTY)                        \
				break;                                                     \
			if (b_->state == XVRRP_BUCKET_USED && equal(&b_->key, (want))) {   \
				found_ = b_;                                               \
				break;                                                     \
			}                                                                  \
		}                                                                          \
		found_;                                                                    \
	})

#endif
