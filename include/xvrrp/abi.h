/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one description of everything the XDP program and the C++ controller
 * share: map names, keys, values, ring-buffer events and counter indices.
 * Included by the BPF programs (clang -target bpf) and by the C++ build, which
 * static_asserts the sizes below so both sides agree on every layout.
 *
 * Byte order: addresses are kept as on the wire (network order); every other
 * integer field is host order.
 */
#ifndef XVRRP_ABI_H
#define XVRRP_ABI_H

#include <linux/types.h>
#include <linux/bpf.h> /* struct bpf_timer */

#ifdef __cplusplus
extern "C" {
#endif

/* Map names, as pinned under <pin root>/ (15 characters at most). */
#define XVRRP_MAP_INSTANCES "xvrrp_inst_dir"
#define XVRRP_MAP_INSTANCE_CONFIGS "xvrrp_inst_cfg"
#define XVRRP_MAP_PEERS "xvrrp_peer"
#define XVRRP_MAP_PEER_TIMERS "xvrrp_peer_tmr"
#define XVRRP_MAP_VIPS "xvrrp_vip"
#define XVRRP_MAP_CONTROL "xvrrp_ctl"
#define XVRRP_MAP_STATS "xvrrp_stats"
#define XVRRP_MAP_INST_STATS "xvrrp_istats"
#define XVRRP_MAP_EVENTS "xvrrp_events"
#define XVRRP_MAP_VMACS "xvrrp_vmac"
#define XVRRP_MAP_UNICAST_PEERS "xvrrp_upeer"
#define XVRRP_MAP_TX "xvrrp_tx"

#define XVRRP_MAX_INSTANCES 8192
/* Which hash placed the keys of the open-addressed tables (xvrrp_vip_hash, xvrrp_inst_hash);
 * 2: independent word multiplies (1, never stamped: MurmurHash3's chained mixing). */
#define XVRRP_TABLE_FORMAT 2
/* Instances are found through a directory like the VIP table (an open-addressed table in an
 * array map, struct xvrrp_inst_bucket): a kernel hash lookup cost 22-25 ns of the advert path,
 * the directory's probe a few. A load of 1/4 keeps probe sequences short for every numbering
 * the tests try. */
#define XVRRP_INST_BUCKETS 32768
#define XVRRP_INST_PROBES 16
/* VIPs live in an open-addressed table in an array map: a lookup is a few
 * inlined array reads instead of a kernel hash lookup, which costs more than
 * the whole rest of the ARP path. Power of two; probes are bounded. Linear
 * probing needs a low load for short probe sequences: 65536 buckets and 16
 * probes hold 16,384 VIPs of every numbering the tests try (3 MiB). */
#define XVRRP_VIP_BUCKETS 65536
#define XVRRP_VIP_PROBES 16
/* VIPs the controller promises room for (the tests prove it for sequential
 * IPv4, sequential IPv6, the benchmarks' numbering and random keys). */
#define XVRRP_MAX_VIPS 12288
#define XVRRP_EVENTS_BYTES (256 * 1024)
/* Change events per instance: at most XVRRP_EVENT_BURST in any XVRRP_EVENT_WINDOW_NS. A flood
 * of adverts alternating priorities must not fill the ring and cost another instance its
 * MASTER_DOWN; a change held back is reported with the next advert after the window. */
#define XVRRP_EVENT_BURST 8
#define XVRRP_EVENT_WINDOW_NS 100000000ULL
/* Interfaces with a virtual MAC entry (a hash by ifindex: container hosts have large ifindexes). */
#define XVRRP_MAX_INTERFACES 4096
/* Configured unicast peers, all instances together. */
#define XVRRP_MAX_UNICAST_PEERS 16384

/* Largest VRRP message (IP payload) the dataplane checksums: a v4 advert with
 * 255 addresses plus v2 authentication data. Larger ones are counted and dropped. */
#define XVRRP_MAX_VRRP_LEN 1040

/* Address families as used in keys (not AF_* so the BPF side needs no libc). */
enum xvrrp_family {
	XVRRP_AF_INET = 4,
	XVRRP_AF_INET6 = 6,
};

/* Controller-side VRRP state as the dataplane needs to know it. */
enum xvrrp_state {
	XVRRP_STATE_INIT = 0,
	XVRRP_STATE_BACKUP = 1,
	XVRRP_STATE_MASTER = 2,
};

/* One VRRP instance: (interface, innermost VLAN id or 0, VRID, family). */
struct xvrrp_inst_key {
	__u32 ifindex;
	__u16 vlan;
	__u8 vrid;
	__u8 family; /* enum xvrrp_family */
};

enum xvrrp_inst_flags {
	/* Let valid adverts continue to the stack after processing (for tcpdump);
	 * the per-interface option sets it on every instance of the interface. */
	XVRRP_INST_F_PASS_ADVERTS = 1 << 0,
	/* Accept a v3 IPv4 checksum computed without pseudo-header (old keepalived). */
	XVRRP_INST_F_V3_CSUM_AS_V2 = 1 << 1,
	/* VRRPv2 simple-text authentication (auth type 1) must match auth_data. */
	XVRRP_INST_F_V2_AUTH_PASS = 1 << 2,
	/* Preempt mode: a lower-priority advert does not hold off our takeover. */
	XVRRP_INST_F_PREEMPT = 1 << 3,
	/* Unicast: adverts only from the configured peers (xvrrp_upeer); keepalived's check_unicast_src. */
	XVRRP_INST_F_UNICAST_CHECK = 1 << 4,
	/* Unicast peers behind routers: any TTL / hop limit (RFC 9568 wants 255 on a link). */
	XVRRP_INST_F_ANY_TTL = 1 << 5,
};

/* One configured unicast peer of an instance (hash xvrrp_upeer; the value is unused). */
struct xvrrp_upeer_key {
	struct xvrrp_inst_key inst;
	__u8 addr[16]; /* IPv4 in the first 4 bytes, rest zero */
};

/* Instance configuration, written by the controller, read by XDP. */
struct xvrrp_inst {
	__u8 version;   /* 2 or 3 */
	__u8 priority;  /* our priority, 1..255 */
	__u8 state;     /* enum xvrrp_state */
	__u8 flags;     /* enum xvrrp_inst_flags */
	__u16 adver_int_cs;   /* our advert interval, centiseconds */
	__u8 down_timer_adverts; /* Master_Down_Interval multiplier (RFC: 3) */
	__u8 pad0;
	/* Bumped by the controller on every change; the next advert after a
	 * change is always reported, so the controller never misses a peer that
	 * the dataplane had already seen before the change. */
	__u32 generation;
	/* Index of this instance in the peer and counter arrays (assigned by the
	 * controller), so the hot path does one directory probe and then array reads. */
	__u32 slot;
	__u8 primary_addr[16]; /* our primary address on the interface (tie-break) */
	__u8 auth_data[8];     /* VRRPv2 PASS authentication */
	struct xvrrp_inst_key key; /* whose configuration this is (for people reading bpftool) */
};

/* Buckets of the open-addressed tables (VIPs, the instance directory). */
enum xvrrp_bucket_state {
	XVRRP_BUCKET_EMPTY = 0,   /* ends a probe sequence */
	XVRRP_BUCKET_USED = 1,
	XVRRP_BUCKET_DELETED = 2, /* a tombstone: probing goes on past it */
};

/*
 * One bucket of the instance directory (array xvrrp_inst_dir, XVRRP_INST_BUCKETS entries,
 * mmapped by the controller). config indexes the configurations (array xvrrp_inst_cfg): slot s
 * owns entries 2s and 2s+1. A change is written whole into the entry not in use, then config is
 * switched to it with one 32-bit store, so XDP reads one configuration, old or new, never half
 * of each (a hash map gave that by replacing its element; an array written in place would not).
 * A reader holds the entry for one program run; the controller writes that entry again only a
 * whole further change later. Buckets are inserted with state written last, removed by marking
 * them deleted, and never moved.
 */
struct xvrrp_inst_bucket {
	struct xvrrp_inst_key key;
	__u32 config; /* index in xvrrp_inst_cfg: 2 x slot + which copy */
	__u32 state;  /* enum xvrrp_bucket_state */
};

enum xvrrp_peer_flags {
	XVRRP_PEER_F_TIMER_INIT = 1 << 0,
	XVRRP_PEER_F_TIMER_ARMED = 1 << 1,
	XVRRP_PEER_F_UNREPORTED = 1 << 2, /* a change the rate limit held back: report the next advert */
};

/*
 * What the dataplane last saw from the current master of an instance, written by XDP only;
 * array xvrrp_peer indexed by the instance's slot, mmapped by the controller, which reads a
 * backup's deadline with a load, not a system call. The master-down timer is in xvrrp_peer_tmr
 * at the same slot (the kernel maps no array that holds a timer): armed by the first advert and
 * re-armed lazily from its own callback, so adverts cost a store and the timer fires about once
 * per Master_Down_Interval.
 */
struct xvrrp_peer {
	__u64 last_advert_ns;   /* bpf_ktime_get_ns() of the last valid advert */
	__u64 down_deadline_ns; /* when the master is declared down */
	__u64 adverts;          /* valid adverts from this sender */
	__u32 seen_generation;  /* instance generation at the last report */
	__u16 adver_int_cs;     /* the master's advertised interval */
	__u8 priority;          /* the master's priority */
	__u8 flags;             /* enum xvrrp_peer_flags */
	__u8 addr[16];          /* the master's source address */
	struct xvrrp_inst_key inst; /* whose slot this is, for the timer callback */
	__u64 event_window_ns;  /* start of the current rate-limit window */
	__u32 window_events;    /* change events sent in it */
	__u32 pad;
};

/* An instance's master-down timer (array xvrrp_peer_tmr, indexed by slot like xvrrp_peer). */
struct xvrrp_peer_timer {
	struct bpf_timer timer;
};

/* One virtual address on one interface (VLAN). */
struct xvrrp_vip_key {
	__u32 ifindex;
	__u16 vlan;
	__u8 family; /* enum xvrrp_family */
	__u8 pad;
	__u8 addr[16]; /* IPv4 in the first 4 bytes, rest zero */
};

enum xvrrp_vip_flags {
	/* This node owns the VIP now: answer ARP/NS. Otherwise requests are dropped. */
	XVRRP_VIP_F_OWNED = 1 << 0,
	/* Set the Router flag in neighbour advertisements. */
	XVRRP_VIP_F_ROUTER = 1 << 1,
};

struct xvrrp_vip {
	__u8 mac[6];  /* answer with this MAC: virtual (00:00:5e:00:0x:VRID) or interface */
	__u8 vrid;    /* owning instance's VRID (for people reading bpftool) */
	__u8 flags;   /* enum xvrrp_vip_flags */
	__u32 slot;   /* owning instance's slot, for its counters */
};

/*
 * One bucket of the VIP table (array xvrrp_vip, XVRRP_VIP_BUCKETS entries).
 * The controller never moves an entry, and changes a live one in two steps
 * (insert unowned then set flags; clear flags then mark deleted), so a reader
 * racing an update sees a miss or an unowned VIP, never a wrong answer.
 */
struct xvrrp_vip_bucket {
	struct xvrrp_vip_key key;
	struct xvrrp_vip vip;
	__u32 state; /* enum xvrrp_bucket_state */
};

static inline __u32 xvrrp_load32(const __u8 *p)
{
	__u32 v;
	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

/* MurmurHash3's finaliser, over a key of len bytes. */
static inline __u32 xvrrp_hash_finish(__u32 h, __u32 len)
{
	h ^= len;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/*
 * Home bucket of a key; the same code runs in XDP and in the controller.
 * Each 32-bit word times its own odd constant (a bijection, so keys that
 * differ in one word never meet), the products XORed, then MurmurHash3's
 * finaliser, so sequential addresses (IPv6 ones differ in the last word only)
 * spread over the whole table. The multiplies are independent of each other:
 * a chained hash (MurmurHash3's word mixing, used before) made the VIP lookup
 * wait on six rounds in a row, which was most of its cost.
 * Any change here changes where keys live: bump XVRRP_TABLE_FORMAT.
 */
static inline __u32 xvrrp_vip_hash(const struct xvrrp_vip_key *k)
{
	__u32 h = (k->ifindex * 0x9e3779b1u) ^ (((__u32)k->vlan | (__u32)k->family << 16) * 0x85ebca77u) ^
		  (xvrrp_load32(k->addr) * 0xc2b2ae3du) ^ (xvrrp_load32(k->addr + 4) * 0x27d4eb2fu) ^
		  (xvrrp_load32(k->addr + 8) * 0x165667b1u) ^ (xvrrp_load32(k->addr + 12) * 0xd3a2646du);
	return xvrrp_hash_finish(h, 24);
}

/* Home bucket of an instance key in the directory (struct xvrrp_inst_bucket). */
static inline __u32 xvrrp_inst_hash(__u32 ifindex, __u16 vlan, __u8 vrid, __u8 family)
{
	return xvrrp_hash_finish((ifindex * 0x9e3779b1u) ^
				 (((__u32)vlan | (__u32)vrid << 16 | (__u32)family << 24) * 0x85ebca77u), 8);
}

/*
 * Virtual MACs this node owns on an interface (hash xvrrp_vmac, keyed by
 * ifindex). The kernel stack accepts only frames for the interface's own MAC,
 * so XDP rewrites the destination of a frame sent to an owned virtual MAC
 * (00:00:5e:00:01:VRID, 00:00:5e:00:02:VRID) to the interface MAC; frames for
 * a virtual MAC we do not own are left as they are (and the stack ignores them).
 */
struct xvrrp_vmac {
	__u8 iface_mac[6];
	__u16 pad;
	__u64 owned[2][4]; /* [0] IPv4, [1] IPv6; bit VRID of 256 */
};

/*
 * The fail-safe that follows the adverts (array xvrrp_tx by instance slot, mmapped by the
 * controller, which writes it without a system call). A master stamps last_sent_ns after each
 * advert the kernel accepted; XDP answers for the instance's VIPs only while the last one left
 * less than silence_ns ago (0: no limit). A killed or stopped master therefore goes quiet after
 * its own down_timer_adverts x interval, before any backup can take over.
 */
struct xvrrp_tx {
	__u64 last_sent_ns; /* CLOCK_MONOTONIC */
	__u64 silence_ns;
};

/*
 * Global control, a one-entry array. The controller refreshes heartbeat_ns
 * (CLOCK_MONOTONIC); when heartbeat_timeout_ns is non-zero and the heartbeat
 * is older than that, XDP stops answering for VIPs (and still drops requests
 * for them), so a dead or hung controller never holds an address.
 */
struct xvrrp_ctl {
	__u64 heartbeat_ns;
	__u64 heartbeat_timeout_ns;
	/* XVRRP_TABLE_FORMAT of the controller that placed the VIP table's and instance
	 * directory's keys: tables placed by another hash are not read, only cleared. */
	__u32 table_format;
	__u32 reserved;
};

/*
 * The controller's own frames (gratuitous ARP, unsolicited NA) carry this skb mark, so TC
 * egress tells them from the kernel's, which must never claim a VIP ("xvrp").
 */
#define XVRRP_TX_MARK 0x78767270u

/*
 * Counters are written once, here: X(id, name, help) tables that make the enum and struct
 * below, and the names and help texts of the status, xvrrpctl and metrics (stats.hpp).
 *
 * Global counters by reason: key of the per-CPU array xvrrp_stats (packets and bytes).
 */
#define XVRRP_STATS(X)                                                                                    \
	X(PASS, "pass", "frames not ours: passed to the stack")                                           \
	X(ADVERT_VALID, "advert_valid", "adverts that passed every check")                                \
	X(ADVERT_TRUNCATED, "advert_truncated", "adverts cut short (header or message)")                  \
	X(ADVERT_BAD_IP, "advert_bad_ip", "adverts with a bad IP header: version, checksum, options, fragment") \
	X(ADVERT_BAD_TTL, "advert_bad_ttl", "adverts whose TTL or hop limit is not 255")                  \
	X(ADVERT_BAD_VERSION, "advert_bad_version", "adverts of another VRRP version than the instance's") \
	X(ADVERT_BAD_TYPE, "advert_bad_type", "VRRP packets that are not adverts")                        \
	X(ADVERT_UNKNOWN_VRID, "advert_unknown_vrid", "adverts for a VRID with no instance here: passed to the stack") \
	X(ADVERT_BAD_LENGTH, "advert_bad_length", "adverts whose address count exceeds the packet")       \
	X(ADVERT_TOO_LONG, "advert_too_long", "adverts above XVRRP_MAX_VRRP_LEN bytes")                   \
	X(ADVERT_BAD_CHECKSUM, "advert_bad_checksum", "adverts with a bad VRRP checksum")                 \
	X(ADVERT_BAD_AUTH, "advert_bad_auth", "VRRPv2 adverts with the wrong authentication")              \
	X(ADVERT_BAD_INTERVAL, "advert_bad_interval", "v2 adverts with another interval; v3 adverts with interval 0") \
	X(ARP_REPLIED, "arp_replied", "ARP requests for an owned VIP answered by XDP")                    \
	X(ARP_DROPPED_UNOWNED, "arp_dropped_unowned", "ARP requests for a VIP not owned now: dropped")    \
	X(ARP_MALFORMED, "arp_malformed", "malformed ARP requests for a VIP: dropped")                    \
	X(NS_REPLIED, "ns_replied", "neighbour solicitations for an owned VIP answered by XDP")           \
	X(NS_DROPPED_UNOWNED, "ns_dropped_unowned", "neighbour solicitations for a VIP not owned now: dropped") \
	X(NS_MALFORMED, "ns_malformed", "neighbour solicitations failing RFC 4861 7.1.1: dropped")        \
	X(EVENTS_SENT, "events_sent", "events sent to the controller")                                    \
	X(EVENTS_DROPPED, "events_dropped", "events lost to a full ring buffer")                            \
	X(TIMER_FIRED, "timer_fired", "master-down timer callbacks")                                      \
	X(EVENTS_LIMITED, "events_limited", "change events held back by the per-instance rate limit")     \
	X(ADVERT_BAD_SOURCE, "advert_bad_source", "unicast adverts from a sender not in unicast_peers")   \
	X(KERNEL_CLAIM_DROPPED, "kernel_claim_dropped", "the kernel's own ARP replies and NAs for a VIP, dropped at TC egress") \
	X(TIMER_ERRORS, "timer_errors", "master-down timers the kernel could not set up or start (retried on the next advert)")

enum xvrrp_stat {
#define XVRRP_STAT_ENUM(id, name, help) XVRRP_STAT_##id,
	XVRRP_STATS(XVRRP_STAT_ENUM)
#undef XVRRP_STAT_ENUM
	XVRRP_STAT_MAX,
};

struct xvrrp_counter {
	__u64 packets;
	__u64 bytes;
};

/* Per-instance counters: per-CPU array xvrrp_istats indexed by the instance's slot. X(field, name, help). */
#define XVRRP_INST_STATS(X)                                                                      \
	X(adverts_valid, "adverts_valid", "adverts that passed every check")                     \
	X(adverts_invalid, "adverts_invalid", "adverts for this VRID that failed a check")       \
	X(adverts_prio_zero, "adverts_priority_zero", "adverts with priority 0 (a master resigning)") \
	X(arp_replied, "arp_replied", "ARP requests for this instance's VIPs answered")         \
	X(arp_dropped, "arp_dropped", "ARP requests for its VIPs dropped while not owned")       \
	X(ns_replied, "ns_replied", "neighbour solicitations for its VIPs answered")            \
	X(ns_dropped, "ns_dropped", "neighbour solicitations for its VIPs dropped while not owned") \
	X(events_sent, "events_sent", "events sent to the controller")                          \
	X(events_dropped, "events_dropped", "events lost to a full ring buffer")                 \
	X(master_down, "master_down", "master-down events from the kernel timer")               \
	X(events_limited, "events_limited", "change events held back by the rate limit")

struct xvrrp_inst_stats {
#define XVRRP_INST_STAT_FIELD(field, name, help) __u64 field;
	XVRRP_INST_STATS(XVRRP_INST_STAT_FIELD)
#undef XVRRP_INST_STAT_FIELD
};

/* Ring-buffer events: only what the election needs, never one per advert. */
enum xvrrp_event_type {
	XVRRP_EV_NEW_MASTER = 1,  /* sender, priority or interval changed (or first seen) */
	XVRRP_EV_PRIO_ZERO = 2,   /* the master resigned */
	XVRRP_EV_PREEMPT = 3,     /* while we are master: a better advert */
	XVRRP_EV_LOWER = 4,       /* while we are master: a worse advert */
	XVRRP_EV_MASTER_DOWN = 5, /* while backup: no advert for Master_Down_Interval */
};

struct xvrrp_event {
	__u64 ts_ns;       /* bpf_ktime_get_ns() */
	struct xvrrp_inst_key inst;
	__u8 type;         /* enum xvrrp_event_type */
	__u8 priority;     /* advert priority (0 for MASTER_DOWN) */
	__u16 adver_int_cs;
	__u8 version;
	__u8 pad[3];
	__u8 addr[16];     /* advert source address */
};

#ifdef __cplusplus
}
#endif

#endif /* XVRRP_ABI_H */
