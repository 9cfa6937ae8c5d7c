/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Counting: every XDP verdict leaves through count_exit(). Per-CPU, so no atomics. */
#ifndef XVRRP_BPF_STATS_H
#define XVRRP_BPF_STATS_H

#include "parsing.h"

#include "maps.h"

static __always_inline void count_stat(enum xvrrp_stat stat, __u64 bytes)
{
	__u32 key = stat;
	struct xvrrp_counter *c = bpf_map_lookup_elem(&xvrrp_stats, &key);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline int count_exit(struct xdp_md *ctx, enum xvrrp_stat stat, int action)
{
	count_stat(stat, (void *)(long)ctx->data_end - (void *)(long)ctx->data);
	return action;
}

/* Per-instance counters, by the instance's slot (an inlined array lookup). */
#define INST_COUNT(slot, field)                                                  \
	do {                                                                     \
		__u32 __slot = (slot);                                           \
		struct xvrrp_inst_stats *__s = bpf_map_lookup_elem(&xvrrp_istats, &__slot); \
		if (__s)                                                         \
			__s->field++;                                            \
	} while (0)

#endif
