/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * VRRP advert validation (RFC 3768 v2, RFC 9568 v3) and the master-down timer.
 *
 * A valid advert costs a map update; the ring buffer only hears about what
 * the election needs (a new master, a priority change, priority 0, a better
 * or worse advert while we are master, the master going silent). The timer
 * is armed by the first advert and re-arms itself lazily: adverts only move
 * down_deadline_ns forward, so a healthy master costs the controller nothing.
 */
#ifndef XVRRP_BPF_VRRP_H
#define XVRRP_BPF_VRRP_H

#include "parsing.h"

#include "addr.h"
#include "csum.h"
#include "inst.h"
#include "maps.h"
#include "stats.h"

#ifndef CLOCK_MONOTONIC
#define CLOCK_MONOTONIC 1
#endif
#ifndef EBUSY
#define EBUSY 16 /* asm-generic/errno-base.h */
#endif

#define VRRP_TYPE_ADVERT 1
#define VRRP_V2_AUTH_NONE 0
#define VRRP_V2_AUTH_PASS 1
#define VRRP_V2_AUTH_LEN 8
#define NSEC_PER_CSEC 10000000ULL

struct vrrphdr {
	__u8 vers_type; /* version << 4 | type */
	__u8 vrid;
	__u8 priority;
	__u8 count_addrs;
	union {
		__be16 v3_rsvd_adver_int; /* 4 reserved bits, 12-bit centiseconds */
		struct {
			__u8 v2_auth_type;
			__u8 v2_adver_int; /* seconds */
		};
	};
	__u16 checksum;
};

/* What the caller parsed of the IP layer for an advert. */
struct vrrp_ip {
	struct xvrrp_inst_key key;
	__u8 ttl;
	__u32 payload_len;        /* IP payload length from the IP header */
	const void *src;          /* 4 or 16 bytes, wire order */
	const void *dst;
	__u32 addr_len;           /* 4 or 16 */
};

/* Skew_Time (RFC 9568 6.1): from our priority; v2 (RFC 3768) counts it in whole seconds. */
static __always_inline __u64 skew_ns(const struct xvrrp_inst *inst, __u16 adver_int_cs)
{
	__u64 unit = inst->version == 2 ? 1000000000ULL : (__u64)adver_int_cs * NSEC_PER_CSEC;
	return ((256 - inst->priority) * unit) / 256;
}

/* Master_Down_Interval = down_timer_adverts x Master_Adver_Interval + Skew_Time. */
static __always_inline __u64 master_down_ns(const struct xvrrp_inst *inst, __u16 adver_int_cs)
{
	__u64 mult = inst->down_timer_adverts ? inst->down_timer_adverts : 3;
	return mult * adver_int_cs * NSEC_PER_CSEC + skew_ns(inst, adver_int_cs);
}

static __always_inline void emit_event(const struct xvrrp_inst_key *key, __u32 slot, __u64 now, __u8 type,
				       __u8 version, __u8 priority, __u16 adver_int_cs, const __u8 *addr16)
{
	struct xvrrp_event *ev = bpf_ringbuf_reserve(&xvrrp_events, sizeof(*ev), 0);

	if (!ev) {
		count_stat(XVRRP_STAT_EVENTS_DROPPED, 0);
		INST_COUNT(slot, events_dropped);
		return;
	}
	ev->ts_ns = now;
	ev->inst = *key;
	ev->type = type;
	ev->version = version;
	ev->priority = priority;
	ev->adver_int_cs = adver_int_cs;
	ev->pad[0] = ev->pad[1] = ev->pad[2] = 0;
	addr_copy16(ev->addr, addr16);
	bpf_ringbuf_submit(ev, 0);
	count_stat(XVRRP_STAT_EVENTS_SENT, 0);
	INST_COUNT(slot, events_sent);
}

/* Runs in softirq context about once per Master_Down_Interval while adverts flow. */
static int master_down_cb(void *map, __u32 *slot, struct xvrrp_peer_timer *t)
{
	__u64 now = bpf_ktime_get_ns();
	struct xvrrp_peer *peer = bpf_map_lookup_elem(&xvrrp_peer, slot);

	count_stat(XVRRP_STAT_TIMER_FIRED, 0);
	if (!peer)
		return 0;
	if (now < peer->down_deadline_ns) {
		bpf_timer_start(&t->timer, peer->down_deadline_ns - now, 0);
		return 0;
	}
	peer->flags &= ~XVRRP_PEER_F_TIMER_ARMED;

	struct xvrrp_inst *inst = inst_lookup(&peer->inst);
	if (!inst || inst->state != XVRRP_STATE_BACKUP || inst->slot != *slot)
		return 0;
	INST_COUNT(*slot, master_down);
	emit_event(&peer->inst, *slot, now, XVRRP_EV_MASTER_DOWN, inst->version, 0, peer->adver_int_cs, peer->addr);
	return 0;
}

/*
 * bpf_timer_init allocates, and can fail: 6.18 allocates it with kmalloc_nolock, which here gives
 * a few hundred timers and then -ENOMEM, in a burst or spread out. -EBUSY means another CPU
 * initialised it first. The INIT and ARMED flags are set only for what really happened, so a
 * failure is retried by the next advert instead of leaving a peer without a timer for good; the
 * controller watches the deadline of a peer without one (it reads xvrrp_peer through mmap).
 */
static __always_inline struct xvrrp_peer_timer *master_down_timer(struct xvrrp_peer *peer, __u32 slot)
{
	struct xvrrp_peer_timer *t = bpf_map_lookup_elem(&xvrrp_peer_tmr, &slot);

	if (!t)
		return 0;
	if (peer->flags & XVRRP_PEER_F_TIMER_INIT)
		return t;
	long err = bpf_timer_init(&t->timer, &xvrrp_peer_tmr, CLOCK_MONOTONIC);
	if (err && err != -EBUSY)
		goto fail;
	if (bpf_timer_set_callback(&t->timer, master_down_cb))
		goto fail;
	peer->flags |= XVRRP_PEER_F_TIMER_INIT;
	return t;
fail:
	count_stat(XVRRP_STAT_TIMER_ERRORS, 0);
	return 0;
}

static __always_inline void arm_master_down(struct xvrrp_peer *peer, __u32 slot, __u64 now, int restart)
{
	if (!restart && (peer->flags & XVRRP_PEER_F_TIMER_ARMED))
		return; /* the callback re-arms itself at the deadline this advert moved */
	struct xvrrp_peer_timer *t = master_down_timer(peer, slot);
	if (!t)
		return;
	peer->flags |= XVRRP_PEER_F_TIMER_ARMED;
	if (bpf_timer_start(&t->timer, peer->down_deadline_ns - now, 0)) {
		peer->flags &= ~XVRRP_PEER_F_TIMER_ARMED;
		count_stat(XVRRP_STAT_TIMER_ERRORS, 0);
	}
}

/*
 * Per-instance rate limit on change events (XVRRP_EVENT_BURST per window). A change held back
 * marks the peer entry, so the next advert after the window reports the state it leads to.
 */
static __always_inline int event_allowed(struct xvrrp_peer *peer, __u32 slot, __u64 now)
{
	if (now - peer->event_window_ns >= XVRRP_EVENT_WINDOW_NS) {
		peer->event_window_ns = now;
		peer->window_events = 0;
	}
	if (peer->window_events >= XVRRP_EVENT_BURST) {
		peer->flags |= XVRRP_PEER_F_UNREPORTED;
		count_stat(XVRRP_STAT_EVENTS_LIMITED, 0);
		INST_COUNT(slot, events_limited);
		return 0;
	}
	peer->window_events++;
	peer->flags &= ~XVRRP_PEER_F_UNREPORTED;
	return 1;
}

/* Checksum of the VRRP message, with the IP pseudo-header for v3. */
static __always_inline int vrrp_checksum_ok(const struct vrrp_ip *ip, const struct vrrphdr *vh,
					    const void *end, const struct xvrrp_inst *inst)
{
	__u64 payload = 0;

	if (csum_packet(vh, end, ip->payload_len, XVRRP_MAX_VRRP_LEN, &payload))
		return 0;
	if (inst->version == 2)
		return csum_fold64(payload) == 0;

	__u64 pseudo = payload;
	if (ip->addr_len == 4) {
		/* 64-bit sums: two 32-bit words can carry out of 32 bits (x.x.x.150 + x.x.x.201). */
		pseudo += (__u64)*(const __u32 *)ip->src + *(const __u32 *)ip->dst;
		pseudo += bpf_htonl((IPPROTO_VRRP << 16) | ip->payload_len);
	} else {
		pseudo += csum_add16(ip->src) + csum_add16(ip->dst);
		pseudo += (__u64)bpf_htonl(ip->payload_len) + bpf_htonl(IPPROTO_VRRP); /* carries from 144 bytes */
	}
	if (csum_fold64(pseudo) == 0)
		return 1;
	return (inst->flags & XVRRP_INST_F_V3_CSUM_AS_V2) && csum_fold64(payload) == 0;
}

static __always_inline int vrrp_invalid(struct xdp_md *ctx, __u32 slot, enum xvrrp_stat reason)
{
	INST_COUNT(slot, adverts_invalid);
	return count_exit(ctx, reason, XDP_DROP);
}

/* Is the advert better than we are (RFC 9568 6.4.3): priority, then primary address. */
static __always_inline int advert_beats_us(const struct xvrrp_inst *inst, __u8 priority,
					   const __u8 *src16)
{
	if (priority != inst->priority)
		return priority > inst->priority;
	return addr_cmp16(src16, inst->primary_addr) > 0;
}

static __always_inline int handle_vrrp(struct xdp_md *ctx, struct vrrp_ip *ip, void *l4, void *end)
{
	struct vrrphdr *vh = l4;

	if ((void *)(vh + 1) > end)
		return count_exit(ctx, XVRRP_STAT_ADVERT_TRUNCATED, XDP_DROP);

	/* A VRID we run no instance for on this interface and VLAN belongs to someone else
	 * (keepalived or another daemon on this host): the stack gets it, whatever it holds. */
	ip->key.vrid = vh->vrid;
	struct xvrrp_inst *inst = inst_lookup(&ip->key);
	if (!inst)
		return count_exit(ctx, XVRRP_STAT_ADVERT_UNKNOWN_VRID, XDP_PASS);
	const struct xvrrp_inst_key *key = &ip->key;
	const __u32 slot = inst->slot;

	__u8 version = vh->vers_type >> 4;
	if (version != inst->version)
		return vrrp_invalid(ctx, slot, XVRRP_STAT_ADVERT_BAD_VERSION);
	if ((vh->vers_type & 0x0f) != VRRP_TYPE_ADVERT)
		return vrrp_invalid(ctx, slot, XVRRP_STAT_ADVERT_BAD_TYPE);
	if (ip->ttl != 255 && !(inst->flags & XVRRP_INST_F_ANY_TTL))
		return vrrp_invalid(ctx, slot, XVRRP_STAT_ADVERT_BAD_TTL);

	__u32 need = sizeof(*vh) + vh->count_addrs * ip->addr_len;
	if (version == 2)
		need += VRRP_V2_AUTH_LEN;
	if (ip->payload_len < need)
		return vrrp_invalid(ctx, slot, XVRRP_STAT_ADVERT_BAD_LENGTH);
	if (ip->payload_len > XVRRP_MAX_VRRP_LEN)
		return vrrp_invalid(ctx, slot, XVRRP_STAT_ADVERT_TOO_LONG);
	if ((void *)vh + ip->payload_len > end)
		return vrrp_invalid(ctx, slot, XVRRP_STAT_ADVERT_TRUNCATED);
	if (!vrrp_checksum_ok(ip, vh, end, inst))
		return vrrp_invalid(ctx, slot, XVRRP_STAT_ADVERT_BAD_CHECKSUM);

	__u8 src[16];
	if (ip->addr_len == 4)
		addr_copy4(src, ip->src);
	else
		addr_copy16(src, ip->src);
	if (inst->flags & XVRRP_INST_F_UNICAST_CHECK) {
		struct xvrrp_upeer_key uk = {.inst = *key};
		addr_copy16(uk.addr, src);
		if (!bpf_map_lookup_elem(&xvrrp_upeer, &uk))
			return vrrp_invalid(ctx, slot, XVRRP_STAT_ADVERT_BAD_SOURCE);
	}

	__u16 adver_int_cs;
	if (version == 2) {
		__u8 want_auth = (inst->flags & XVRRP_INST_F_V2_AUTH_PASS) ? VRRP_V2_AUTH_PASS
									  : VRRP_V2_AUTH_NONE;
		if (vh->v2_auth_type != want_auth)
			return vrrp_invalid(ctx, slot, XVRRP_STAT_ADVERT_BAD_AUTH);
		if (want_auth == VRRP_V2_AUTH_PASS) {
			/* Auth data is the last 8 bytes of the message (need <= payload_len). */
			const __u8 *auth = (const __u8 *)vh + need - VRRP_V2_AUTH_LEN;
			if ((const void *)(auth + VRRP_V2_AUTH_LEN) > end)
				return vrrp_invalid(ctx, slot, XVRRP_STAT_ADVERT_TRUNCATED);
			if (*(const __u64 *)auth != *(const __u64 *)inst->auth_data)
				return vrrp_invalid(ctx, slot, XVRRP_STAT_ADVERT_BAD_AUTH);
		}
		adver_int_cs = vh->v2_adver_int * 100;
		if (adver_int_cs != inst->adver_int_cs)
			return vrrp_invalid(ctx, slot, XVRRP_STAT_ADVERT_BAD_INTERVAL);
	} else {
		adver_int_cs = bpf_ntohs(vh->v3_rsvd_adver_int) & 0x0fff;
		/* An interval of 0 would make Master_Down_Interval the skew alone: a takeover at once. */
		if (adver_int_cs == 0)
			return vrrp_invalid(ctx, slot, XVRRP_STAT_ADVERT_BAD_INTERVAL);
	}

	/* Valid. Record it, and tell the controller only what changes the election. */
	struct xvrrp_peer *peer = bpf_map_lookup_elem(&xvrrp_peer, &slot);
	if (!peer) /* slot beyond the array: the instance is unusable (the controller never does this) */
		return count_exit(ctx, XVRRP_STAT_ADVERT_UNKNOWN_VRID, XDP_DROP);
	__u64 now = bpf_ktime_get_ns();

	__u8 priority = vh->priority;
	int changed = peer->seen_generation != inst->generation || peer->priority != priority ||
		      peer->adver_int_cs != adver_int_cs || !addr_equal16(peer->addr, src) ||
		      peer->adverts == 0 || (peer->flags & XVRRP_PEER_F_UNREPORTED);

	peer->last_advert_ns = now;
	peer->adverts++;
	if (changed) {
		peer->inst = *key;
		peer->seen_generation = inst->generation;
		peer->priority = priority;
		peer->adver_int_cs = adver_int_cs;
		addr_copy16(peer->addr, src);
	}

	/* Master-down timer (RFC 9568 6.4.2): priority 0 shortens it to Skew_Time once;
	 * with preemption a lower-priority advert does not feed it. */
	if (priority == 0) {
		INST_COUNT(slot, adverts_prio_zero);
		if (changed) {
			peer->down_deadline_ns = now + skew_ns(inst, adver_int_cs);
			arm_master_down(peer, slot, now, 1);
		}
	} else if (!(inst->flags & XVRRP_INST_F_PREEMPT) || priority >= inst->priority ||
		   !(peer->flags & XVRRP_PEER_F_TIMER_ARMED)) {
		/* A preemptable master starts the clock but never holds it back. */
		peer->down_deadline_ns = now + master_down_ns(inst, adver_int_cs);
		arm_master_down(peer, slot, now, 0);
	}

	if (changed && event_allowed(peer, slot, now)) {
		__u8 type = XVRRP_EV_NEW_MASTER;
		if (priority == 0)
			type = XVRRP_EV_PRIO_ZERO;
		else if (inst->state == XVRRP_STATE_MASTER)
			type = advert_beats_us(inst, priority, src) ? XVRRP_EV_PREEMPT : XVRRP_EV_LOWER;
		emit_event(key, slot, now, type, version, priority, adver_int_cs, src);
	}

	INST_COUNT(slot, adverts_valid);
	return count_exit(ctx, XVRRP_STAT_ADVERT_VALID,
			  (inst->flags & XVRRP_INST_F_PASS_ADVERTS) ? XDP_PASS : XDP_DROP);
}

#endif
