// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Benchmark-only wrappers around the real dispatch code. BPF_PROG_TEST_RUN
 * with a repeat count feeds the rewritten frame back in, so an ARP request
 * would be measured once and its reply a million times. These programs first
 * copy the request back over the frame (a constant-size copy), then run the
 * same xvrrp_dispatch() as the production program, on the same maps (the
 * benchmark hands it the production object's map fds). The restore-only
 * programs measure the copy alone, so its cost can be shown beside the figure.
 */
#include "dispatch.h"

#define ARP_FRAME_LEN 60 /* ARP request padded to the Ethernet minimum */
#define NS_FRAME_LEN 86  /* NS with source link-layer option */

__u64 replay_frame[96 / 8];

static __always_inline int restore(struct xdp_md *ctx, const __u32 len)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;

	if (data + len > end)
		return -1;
	/* Word copies (see addr.h): memcpy to a packet would go byte by byte. */
#pragma unroll
	for (__u32 i = 0; i < len / 8; i++)
		((__u64 *)data)[i] = replay_frame[i];
	if (len & 4)
		*(__u32 *)(data + (len & ~7u)) = *(__u32 *)((__u8 *)replay_frame + (len & ~7u));
	if (len & 2)
		*(__u16 *)(data + (len & ~3u)) = *(__u16 *)((__u8 *)replay_frame + (len & ~3u));
	return 0;
}

SEC("xdp")
int replay_arp(struct xdp_md *ctx)
{
	if (restore(ctx, ARP_FRAME_LEN))
		return XDP_ABORTED;
	return xvrrp_dispatch(ctx);
}

SEC("xdp")
int replay_ns(struct xdp_md *ctx)
{
	if (restore(ctx, NS_FRAME_LEN))
		return XDP_ABORTED;
	return xvrrp_dispatch(ctx);
}

SEC("xdp")
int restore_arp_only(struct xdp_md *ctx)
{
	return restore(ctx, ARP_FRAME_LEN) ? XDP_ABORTED : XDP_PASS;
}

SEC("xdp")
int restore_ns_only(struct xdp_md *ctx)
{
	return restore(ctx, NS_FRAME_LEN) ? XDP_ABORTED : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Building blocks, measured so the figures above can be read: one lookup in
 * the VIP table (the ARP frame's target address), one lookup in the instance
 * directory (as an advert does), and one precise clock read. */
SEC("xdp")
int block_vip_lookup(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct xvrrp_vip_key k;

	if (data + 42 > end)
		return XDP_ABORTED;
	vip_key_init(&k, ctx->ingress_ifindex, 0, XVRRP_AF_INET, *(__u32 *)(data + 38), 0);
	return vip_lookup(&k) ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int block_inst_lookup(struct xdp_md *ctx)
{
	struct xvrrp_inst_key k = {.ifindex = ctx->ingress_ifindex, .vrid = 1, .family = XVRRP_AF_INET};

	return inst_lookup(&k) ? XDP_PASS : XDP_DROP;
}

/* The kernel hash map the directory replaced (same key and value), for comparison. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XVRRP_MAX_INSTANCES);
	__type(key, struct xvrrp_inst_key);
	__type(value, struct xvrrp_inst);
} bench_inst_hash SEC(".maps");

SEC("xdp")
int block_inst_hash_lookup(struct xdp_md *ctx)
{
	struct xvrrp_inst_key k = {.ifindex = ctx->ingress_ifindex, .vrid = 1, .family = XVRRP_AF_INET};

	return bpf_map_lookup_elem(&bench_inst_hash, &k) ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int block_clock(struct xdp_md *ctx)
{
	return bpf_ktime_get_ns() ? XDP_PASS : XDP_DROP;
}
