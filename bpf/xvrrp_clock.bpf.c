// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The two clocks the fail-safes combine (bpf/ctl.h), read together. The controller runs it with
 * BPF_PROG_TEST_RUN (never attached) to measure the kernel's tick length before it trusts the
 * one a kernel configuration file names: a wrong one would run the XDP clock fast or slow.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 sample_jiffies;
__u64 sample_coarse_ns;

SEC("xdp")
int xvrrp_clock_sample(struct xdp_md *ctx)
{
	sample_jiffies = bpf_jiffies64();
	sample_coarse_ns = bpf_ktime_get_coarse_ns();
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
