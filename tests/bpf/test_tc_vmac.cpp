// The TC ingress program: frames for a virtual MAC this node owns become the
// host's (destination rewritten to the interface MAC); others are untouched.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "hex.hpp"
#include "privileged.hpp"
#include "world.hpp"
#include "xvrrp/error.hpp"

using namespace xvrrp;
using namespace xvrrp::test;

namespace {

constexpr unsigned kIfindex = 1;

struct TcRun {
    int verdict;
    Bytes output;
};

TcRun tc_run(int prog_fd, const Bytes& in) {
    TcRun r{-1, Bytes(in.size() + 64)};
    __sk_buff ctx{};
    ctx.ingress_ifindex = kIfindex;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = r.output.data(),
                .data_size_in = static_cast<__u32>(in.size()), .data_size_out = static_cast<__u32>(r.output.size()),
                .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));
    check_libbpf(bpf_prog_test_run_opts(prog_fd, &opts), "BPF_PROG_TEST_RUN (tc)");
    r.verdict = static_cast<int>(opts.retval);
    r.output.resize(opts.data_size_out);
    return r;
}

class TcVmac : public ::testing::Test {
protected:
    void SetUp() override {
        XVRRP_REQUIRE_ROOT();
        dp_.emplace(DataplaneOptions{.pin_root = ""});
        configure_world(*dp_, kIfindex);
    }
    std::optional<Dataplane> dp_;
};

TEST_F(TcVmac, OwnedVirtualMacBecomesTheInterfaceMac) {
    for (Family f : {Family::V4, Family::V6}) {
        const TcRun r = tc_run(dp_->tc_prog_fd(), udp4_frame(virtual_mac(kVridV3, f)));
        EXPECT_EQ(r.verdict, TC_ACT_OK);
        EXPECT_EQ(r.output, udp4_frame(kRouterMac)) << to_hex(r.output);
    }
}

TEST_F(TcVmac, OtherFramesAreUntouched) {
    for (const Mac& dst : {virtual_mac(kVridMaster, Family::V4),         // a VRID we do not own
                           Mac{0x00, 0x00, 0x5e, 0x00, 0x03, kVridV3},   // the prefix, not a VRRP MAC
                           kRouterMac, kBroadcastMac}) {
        const Bytes in = udp4_frame(dst);
        const TcRun r = tc_run(dp_->tc_prog_fd(), in);
        EXPECT_EQ(r.verdict, TC_ACT_OK);
        EXPECT_EQ(r.output, in) << to_string(dst);
    }
}

TEST_F(TcVmac, ReleasedOwnershipStopsTheRewrite) {
    dp_->set_vmac_owned(kIfindex, XVRRP_AF_INET, kVridV3, false);
    const Bytes in = udp4_frame(virtual_mac(kVridV3, Family::V4));
    EXPECT_EQ(tc_run(dp_->tc_prog_fd(), in).output, in);
    // The IPv6 bit of the same VRID is separate.
    EXPECT_EQ(tc_run(dp_->tc_prog_fd(), udp4_frame(virtual_mac(kVridV3, Family::V6))).output, udp4_frame(kRouterMac));
}

// The kernel's own NS from an owned VIP leaves with the VIP's MAC in Ethernet and in its option,
// and a checksum the receiver accepts.
TEST_F(TcVmac, NeighbourSolicitationFromAVipSpeaksWithTheVipsMac) {
    const Mac vmac6 = virtual_mac(kVridV3, Family::V6);
    const IpAddress client = IpAddress::from("2001:db8::a");
    auto ns_from = [&](const IpAddress& src, const Mac& mac) {
        const IpAddress dst = solicited_node(client);
        return ethernet_frame(multicast_mac(dst), mac, kEthIpv6,
                              ipv6_packet(src, dst, kIpProtoIcmpv6, 255,
                                          icmpv6_message(src, dst, kNdNeighborSolicit, 0, ns_body(client, mac))));
    };
    const TcRun r = tc_run(dp_->tc_egress_prog_fd(), ns_from(kVip6Owned, kRouterMac));
    EXPECT_EQ(r.verdict, TC_ACT_OK);
    EXPECT_EQ(to_hex(r.output), to_hex(ns_from(kVip6Owned, vmac6)));

    // From an address that is not a VIP, or from a VIP we do not own: untouched.
    for (const IpAddress& src : {IpAddress::from("2001:db8::1"), kVip6Unowned}) {
        const Bytes in = ns_from(src, kRouterMac);
        EXPECT_EQ(tc_run(dp_->tc_egress_prog_fd(), in).output, in) << src.to_string();
    }
    // Other traffic from the VIP: untouched.
    const Bytes echo = ethernet_frame(kClientMac, kRouterMac, kEthIpv6,
                                      ipv6_packet(kVip6Owned, client, kIpProtoIcmpv6, 64,
                                                  icmpv6_message(kVip6Owned, client, 129, 0, Bytes(8, 1))));
    EXPECT_EQ(tc_run(dp_->tc_egress_prog_fd(), echo).output, echo);
}

}  // namespace
