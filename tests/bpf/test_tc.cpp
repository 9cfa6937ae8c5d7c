// The TC programs. Ingress: frames for a virtual MAC this node owns become the host's
// (destination rewritten to the interface MAC); others are untouched. Egress: the kernel never
// claims a VIP (its ARP replies and NAs for one are dropped), and its solicitations from an owned
// VIP speak with the VIP's MAC.
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

TcRun tc_run(int prog_fd, const Bytes& in, std::uint32_t mark = 0) {
    TcRun r{-1, Bytes(in.size() + 64)};
    __sk_buff ctx{};
    ctx.ingress_ifindex = kIfindex;
    ctx.mark = mark;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = r.output.data(),
                .data_size_in = static_cast<__u32>(in.size()), .data_size_out = static_cast<__u32>(r.output.size()),
                .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));
    check_libbpf(bpf_prog_test_run_opts(prog_fd, &opts), "BPF_PROG_TEST_RUN (tc)");
    r.verdict = static_cast<int>(opts.retval);
    r.output.resize(opts.data_size_out);
    return r;
}

class TcPrograms : public ::testing::Test {
protected:
    void SetUp() override {
        XVRRP_REQUIRE_ROOT();
        dp_.emplace(DataplaneOptions{.pin_root = ""});
        configure_world(*dp_, kIfindex);
    }
    std::optional<Dataplane> dp_;
};

TEST_F(TcPrograms, OwnedVirtualMacBecomesTheInterfaceMac) {
    for (Family f : {Family::V4, Family::V6}) {
        const TcRun r = tc_run(dp_->tc_prog_fd(), udp4_frame(virtual_mac(kVridV3, f)));
        EXPECT_EQ(r.verdict, TC_ACT_OK);
        EXPECT_EQ(r.output, udp4_frame(kRouterMac)) << to_hex(r.output);
    }
}

TEST_F(TcPrograms, OtherFramesAreUntouched) {
    for (const Mac& dst : {virtual_mac(kVridMaster, Family::V4),         // a VRID we do not own
                           Mac{0x00, 0x00, 0x5e, 0x00, 0x03, kVridV3},   // the prefix, not a VRRP MAC
                           kRouterMac, kBroadcastMac}) {
        const Bytes in = udp4_frame(dst);
        const TcRun r = tc_run(dp_->tc_prog_fd(), in);
        EXPECT_EQ(r.verdict, TC_ACT_OK);
        EXPECT_EQ(r.output, in) << to_string(dst);
    }
}

TEST_F(TcPrograms, ReleasedOwnershipStopsTheRewrite) {
    dp_->set_vmac_owned(kIfindex, XVRRP_AF_INET, kVridV3, false);
    const Bytes in = udp4_frame(virtual_mac(kVridV3, Family::V4));
    EXPECT_EQ(tc_run(dp_->tc_prog_fd(), in).output, in);
    // The IPv6 bit of the same VRID is separate.
    EXPECT_EQ(tc_run(dp_->tc_prog_fd(), udp4_frame(virtual_mac(kVridV3, Family::V6))).output, udp4_frame(kRouterMac));
}

// The kernel's own NS from an owned VIP leaves with the VIP's MAC in Ethernet and in its option,
// and a checksum the receiver accepts.
TEST_F(TcPrograms, NeighbourSolicitationFromAVipSpeaksWithTheVipsMac) {
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

    // From an address that is not a VIP: untouched. From a VIP we do not own now: dropped, as its
    // link-layer option would teach the client the VIP at this interface's MAC.
    const Bytes other = ns_from(IpAddress::from("2001:db8::1"), kRouterMac);
    EXPECT_EQ(tc_run(dp_->tc_egress_prog_fd(), other).output, other);
    EXPECT_EQ(tc_run(dp_->tc_egress_prog_fd(), ns_from(kVip6Unowned, kRouterMac)).verdict, TC_ACT_SHOT);
    // Other traffic from the VIP: untouched.
    const Bytes echo = ethernet_frame(kClientMac, kRouterMac, kEthIpv6,
                                      ipv6_packet(kVip6Owned, client, kIpProtoIcmpv6, 64,
                                                  icmpv6_message(kVip6Owned, client, 129, 0, Bytes(8, 1))));
    EXPECT_EQ(tc_run(dp_->tc_egress_prog_fd(), echo).output, echo);
}

std::uint64_t claims_dropped(const Dataplane& dp) { return dp.stats()[XVRRP_STAT_KERNEL_CLAIM_DROPPED].packets; }

// What the kernel sends when a request reaches it because XDP is gone: an ARP reply or a
// solicited NA for the VIP, from the interface MAC. Dropped and counted, owned VIP or not.
TEST_F(TcPrograms, TheKernelsAnswersForAVipAreDropped) {
    const std::uint64_t before = claims_dropped(*dp_);
    for (const Bytes& answer : {arp_reply_from(kRouterMac, kVipOwned), arp_reply_from(kRouterMac, kVipUnowned),
                                na_frame(kRouterMac, kVip6Owned), na_frame(kRouterMac, kVip6Unowned)})
        EXPECT_EQ(tc_run(dp_->tc_egress_prog_fd(), answer).verdict, TC_ACT_SHOT) << to_hex(answer);
    EXPECT_EQ(claims_dropped(*dp_), before + 4);

    // Answers for other addresses leave as they are.
    for (const Bytes& other : {arp_reply_from(kRouterMac, kRouterIp), na_frame(kRouterMac, IpAddress::from("2001:db8::1"))}) {
        const TcRun r = tc_run(dp_->tc_egress_prog_fd(), other);
        EXPECT_EQ(r.verdict, TC_ACT_OK);
        EXPECT_EQ(r.output, other);
    }
    EXPECT_EQ(claims_dropped(*dp_), before + 4);
}

// The controller's own announcements carry XVRRP_TX_MARK and leave untouched, even an NA.
TEST_F(TcPrograms, TheControllersMarkedFramesLeave) {
    const std::uint64_t before = claims_dropped(*dp_);
    for (const Bytes& own : {garp_frame(kRouterMac, kVipOwned, {}),
                             unsolicited_na_frame(virtual_mac(kVridV3, Family::V6), kVip6Owned, true, {}),
                             arp_reply_from(kRouterMac, kVipOwned)}) {
        const TcRun r = tc_run(dp_->tc_egress_prog_fd(), own, XVRRP_TX_MARK);
        EXPECT_EQ(r.verdict, TC_ACT_OK);
        EXPECT_EQ(r.output, own);
    }
    EXPECT_EQ(claims_dropped(*dp_), before);
}

// A kernel ARP request from a VIP (only when arp_announce=2 was undone) leaves while the VIP is
// ours, and is dropped once it is not.
TEST_F(TcPrograms, KernelArpRequestsFromAVipLeaveOnlyWhileItIsOurs) {
    const auto request_from = [](const IpAddress& vip) {
        return ethernet_frame(kBroadcastMac, kRouterMac, kEthArp, arp_packet(kArpRequest, kRouterMac, vip, Mac{}, kClientIp));
    };
    EXPECT_EQ(tc_run(dp_->tc_egress_prog_fd(), request_from(kVipOwned)).verdict, TC_ACT_OK);
    EXPECT_EQ(tc_run(dp_->tc_egress_prog_fd(), request_from(kVipUnowned)).verdict, TC_ACT_SHOT);
}

}  // namespace
