/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* VIPs as the dataplane sees them: the table lookup, and the owned flag gated by the controller's heartbeat. */
#ifndef XVRRP_BPF_CTL_H
#define XVRRP_BPF_CTL_H

#include "parsing.h"

#include "maps.h"
#include "table.h"

/*
 * The fail-safes' clock: CLOCK_MONOTONIC at the last tick, as bpf_ktime_get_coarse_ns() gives it,
 * but from jiffies, which the verifier inlines into one load where the coarse clock is a helper
 * call (12-15 ns with AMD's SRSO mitigation, most of an ARP reply). The kernel advances jiffies
 * by one and its tick boundary by exactly TICK_NSEC together, so jiffies x TICK_NSEC is
 * CLOCK_MONOTONIC less a constant: the offset is taken from the coarse clock and retaken at most
 * every 256 jiffies (0.26-2.6 s), keeping the largest (a reading between the jiffies update and the timekeeping
 * update, a tick low, loses to the next). So it reads within a tick of the coarse clock.
 * xvrrp_tick_ns is TICK_NSEC, written by the controller once it has measured the running kernel's
 * tick (user/dataplane/kernel_clock.cpp, a few hundred ms after the start, beside its loop); 0 until
 * then, or for good if the tick is not known, keeps the helper. Written once, never changed.
 */
volatile __u64 xvrrp_tick_ns;
static volatile __u64 tick_offset_ns;      /* 0: not taken yet */
static volatile __u64 tick_offset_jiffies; /* when it was last taken */

static __always_inline __u64 tick_now_ns(void)
{
	const __u64 tick = xvrrp_tick_ns;
	if (!tick)
		return bpf_ktime_get_coarse_ns();
	const __u64 j = bpf_jiffies64();
	__u64 offset = tick_offset_ns;
	if (!offset || j - tick_offset_jiffies >= 256) {
		const __u64 sample = bpf_ktime_get_coarse_ns() - j * tick;
		/* Largest, as signed: the offset is a difference of clocks, negative after a long uptime. */
		if (!offset || (__s64)(sample - offset) > 0)
			offset = sample ? sample : 1;
		tick_offset_ns = offset;
		tick_offset_jiffies = j;
	}
	return j * tick + offset;
}

/* A controller that stopped refreshing its heartbeat owns nothing. */
static __always_inline int controller_alive(__u64 now)
{
	__u32 zero = 0;
	struct xvrrp_ctl *ctl = bpf_map_lookup_elem(&xvrrp_ctl, &zero);

	if (!ctl || !ctl->heartbeat_timeout_ns)
		return 1;
	/* Signed: the coarse clock may lag a fresh heartbeat by a tick. */
	__s64 age = (__s64)(now - ctl->heartbeat_ns);
	return age <= (__s64)ctl->heartbeat_timeout_ns;
}

/* A master whose adverts stopped leaving owns nothing either (struct xvrrp_tx). */
static __always_inline int adverts_leaving(__u32 slot, __u64 now)
{
	struct xvrrp_tx *tx = bpf_map_lookup_elem(&xvrrp_tx, &slot);

	if (!tx || !tx->silence_ns)
		return 1;
	__s64 age = (__s64)(now - tx->last_sent_ns);
	return age <= (__s64)tx->silence_ns;
}

/*
 * Builds a VIP key as whole 64-bit words. Field-by-field stores followed by the
 * 64-bit loads of the hash and the comparison would stall on store forwarding.
 * (Little-endian layout of struct xvrrp_vip_key: ifindex, vlan, family, pad.)
 */
static __always_inline void vip_key_init(struct xvrrp_vip_key *k, __u32 ifindex, __u16 vlan, __u8 family,
					 __u64 addr_lo, __u64 addr_hi)
{
	__u64 *w = (__u64 *)k;
	w[0] = ifindex | (__u64)vlan << 32 | (__u64)family << 48;
	w[1] = addr_lo;
	w[2] = addr_hi;
}

static __always_inline int vip_key_equal(const struct xvrrp_vip_key *a, const struct xvrrp_vip_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;
	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2];
}

static __always_inline struct xvrrp_vip *vip_lookup(const struct xvrrp_vip_key *key)
{
	struct xvrrp_vip_bucket *b = table_find(struct xvrrp_vip_bucket, xvrrp_vip, XVRRP_VIP_BUCKETS,
						XVRRP_VIP_PROBES, xvrrp_vip_hash(key), key, vip_key_equal);
	return b ? &b->vip : NULL;
}

static __always_inline int vip_answerable(const struct xvrrp_vip *vip)
{
	if (!(vip->flags & XVRRP_VIP_F_OWNED))
		return 0;
	__u64 now = tick_now_ns();
	return controller_alive(now) && adverts_leaving(vip->slot, now);
}

#endif
