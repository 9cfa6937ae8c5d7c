// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The empty program: XDP_PASS and nothing else. Labs attach it to the far end
 * of every veth whose XDP program answers (a frame sent with XDP_TX on a veth
 * only reaches a peer that has an XDP program), and the benchmark measures it
 * as the floor every path is compared with.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xvrrp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
