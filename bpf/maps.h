/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Every map of the dataplane, typed by the shared ABI and pinned by name. */
#ifndef XVRRP_BPF_MAPS_H
#define XVRRP_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xvrrp/abi.h"

/* Instances: the directory from key to configuration, and the configurations, two per slot
 * (controller writes both through mmap; see struct xvrrp_inst_bucket). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XVRRP_INST_BUCKETS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct xvrrp_inst_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xvrrp_inst_dir SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * XVRRP_MAX_INSTANCES);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32); /* 2 x slot + which copy */
	__type(value, struct xvrrp_inst);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xvrrp_inst_cfg SEC(".maps");

/* What we last saw of each instance's master (XDP writes, the controller reads through mmap). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XVRRP_MAX_INSTANCES);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32); /* instance slot */
	__type(value, struct xvrrp_peer);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xvrrp_peer SEC(".maps");

/* Each instance's master-down timer, at the same slot (an array holding timers cannot be mmapped). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XVRRP_MAX_INSTANCES);
	__type(key, __u32); /* instance slot */
	__type(value, struct xvrrp_peer_timer);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xvrrp_peer_tmr SEC(".maps");

/* VIPs: an open-addressed table the controller fills through mmap (see struct xvrrp_vip_bucket). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XVRRP_VIP_BUCKETS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct xvrrp_vip_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xvrrp_vip SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xvrrp_ctl);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xvrrp_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XVRRP_STAT_MAX);
	__type(key, __u32); /* enum xvrrp_stat */
	__type(value, struct xvrrp_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xvrrp_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XVRRP_MAX_INSTANCES);
	__type(key, __u32); /* instance slot */
	__type(value, struct xvrrp_inst_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xvrrp_istats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XVRRP_MAX_INTERFACES);
	__type(key, __u32); /* ifindex */
	__type(value, struct xvrrp_vmac);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xvrrp_vmac SEC(".maps");

/* When each master's last advert left, and how long silence may last (see struct xvrrp_tx). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XVRRP_MAX_INSTANCES);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32); /* instance slot */
	__type(value, struct xvrrp_tx);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xvrrp_tx SEC(".maps");

/* Unicast peers of the instances that check the sender (XVRRP_INST_F_UNICAST_CHECK). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XVRRP_MAX_UNICAST_PEERS);
	__type(key, struct xvrrp_upeer_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xvrrp_upeer SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, XVRRP_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xvrrp_events SEC(".maps");

#endif
