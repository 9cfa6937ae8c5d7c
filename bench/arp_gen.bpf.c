// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ARP load generator and sink for the answer-rate benchmark.
 *
 * arp_gen runs under BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES: each
 * run writes the whole request (pages are recycled without being
 * re-initialised) and returns XDP_TX, which sends it out of the veth.
 * arp_sink sits on the same veth and counts the replies that come back.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define REQUEST_LEN 60

__u64 request[64 / 8];
__u8 vip[4];
__u64 replies;
__u64 other;

SEC("xdp")
int arp_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;

	if (data + REQUEST_LEN > end)
		return XDP_ABORTED;
#pragma unroll
	for (int i = 0; i < REQUEST_LEN / 8; i++)
		((__u64 *)data)[i] = request[i];
	*(__u32 *)(data + 56) = *(__u32 *)((__u8 *)request + 56);
	return XDP_TX;
}

SEC("xdp")
int arp_sink(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;

	/* Ethernet (14) + ARP: op at 20, sender protocol address at 28. */
	if ((void *)(p + 42) <= end && p[12] == 0x08 && p[13] == 0x06 && p[21] == 2 &&
	    *(__u32 *)(p + 28) == *(__u32 *)vip) {
		__sync_fetch_and_add(&replies, 1);
		return XDP_DROP;
	}
	__sync_fetch_and_add(&other, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
