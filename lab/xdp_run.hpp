// BPF_PROG_TEST_RUN for XDP programs: one frame in, verdict and frame out.
#pragma once

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <string>

#include "xvrrp/error.hpp"
#include "xvrrp/packet.hpp"

namespace xvrrp::test {

struct XdpRun {
    int verdict = -1;
    Bytes output;
    std::uint32_t duration_ns = 0;  // mean per run, as the kernel measured it
};

inline XdpRun xdp_test_run(int prog_fd, const Bytes& input, unsigned ingress_ifindex, unsigned repeat = 1) {
    XdpRun r;
    r.output.resize(input.size() + 256);  // room for a frame the program grows
    xdp_md ctx{};
    ctx.data_end = static_cast<__u32>(input.size());  // the kernel wants the frame's extent here
    ctx.ingress_ifindex = ingress_ifindex;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = input.data(),
                .data_out = r.output.data(), .data_size_in = static_cast<__u32>(input.size()),
                .data_size_out = static_cast<__u32>(r.output.size()), .ctx_in = &ctx,
                .ctx_size_in = sizeof(ctx), .repeat = static_cast<int>(repeat));
    check_libbpf(bpf_prog_test_run_opts(prog_fd, &opts), "BPF_PROG_TEST_RUN");
    r.verdict = static_cast<int>(opts.retval);
    r.output.resize(opts.data_size_out);
    r.duration_ns = opts.duration;
    return r;
}

inline std::string verdict_name(int v) {
    switch (v) {
        case XDP_ABORTED: return "XDP_ABORTED";
        case XDP_DROP: return "XDP_DROP";
        case XDP_PASS: return "XDP_PASS";
        case XDP_TX: return "XDP_TX";
        case XDP_REDIRECT: return "XDP_REDIRECT";
        default: return "verdict " + std::to_string(v);
    }
}

}  // namespace xvrrp::test
