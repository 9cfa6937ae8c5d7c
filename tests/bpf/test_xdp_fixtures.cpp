// Packet fixtures through the real XDP program with BPF_PROG_TEST_RUN: for
// each case the input frame, the verdict, the output frame byte for byte, and
// the exact counter and ring-buffer changes. Maps are filled through the
// real Dataplane code first.
#include <gtest/gtest.h>

#include <map>
#include <optional>

#include "frame_edit.hpp"
#include "hex.hpp"
#include "privileged.hpp"
#include "world.hpp"
#include "xdp_run.hpp"
#include "xvrrp/bpf_map.hpp"
#include "xvrrp/event_ring.hpp"

using namespace xvrrp;
using namespace xvrrp::test;

namespace {

constexpr unsigned kIfindex = 1;  // lo of the test's private namespace

struct Fixture {
    std::string name;
    Bytes input;
    int verdict;
    std::optional<Bytes> output;                  // expected frame when rewritten; else unchanged
    std::map<xvrrp_stat, std::uint64_t> counted;  // exact global counter deltas (packets)
    std::vector<std::uint8_t> events;             // ring-buffer event types, in order
};

void PrintTo(const Fixture& f, std::ostream* os) { *os << f.name; }

// The VRRP checks count and drop; every valid advert here is the first from its
// sender, so it reports once.
Fixture valid_advert(std::string name, Bytes frame, std::uint8_t event = XVRRP_EV_NEW_MASTER) {
    return {std::move(name), std::move(frame), XDP_DROP, std::nullopt,
            {{XVRRP_STAT_ADVERT_VALID, 1}, {XVRRP_STAT_EVENTS_SENT, 1}}, {event}};
}

Fixture invalid(std::string name, Bytes frame, xvrrp_stat reason) {
    return {std::move(name), std::move(frame), XDP_DROP, std::nullopt, {{reason, 1}}, {}};
}

Fixture passes(std::string name, Bytes frame) {
    return {std::move(name), std::move(frame), XDP_PASS, std::nullopt, {{XVRRP_STAT_PASS, 1}}, {}};
}

// Adverts for a VRID we run no instance for are another daemon's: the stack gets them, counted.
Fixture not_ours(std::string name, Bytes frame) {
    return {std::move(name), std::move(frame), XDP_PASS, std::nullopt, {{XVRRP_STAT_ADVERT_UNKNOWN_VRID, 1}}, {}};
}

Fixture answered(std::string name, Bytes frame, Bytes reply, xvrrp_stat stat) {
    return {std::move(name), std::move(frame), XDP_TX, std::move(reply), {{stat, 1}}, {}};
}

std::vector<Fixture> fixtures() {
    const Bytes v3 = advert_frame(advert(kVridV3));
    const Bytes v2 = advert_frame(advert(kVridV2, 200, 2));
    const Bytes v6 = advert_frame(advert6(kVridV3), kPeerIp6);
    const std::size_t l4 = 14 + 20;  // VRRP in an untagged IPv4 frame
    const Mac vmac = virtual_mac(kVridV3, Family::V4);
    const Mac vmac6 = virtual_mac(kVridV3, Family::V6);
    const VlanTag vlan{kVlan};
    const VlanTag outer{100, 0x88a8};

    VrrpAdvert wrong_pass = advert(kVridV2, 200, 2);
    wrong_pass.auth_data = {'w', 'r', 'o', 'n', 'g', 0, 0, 0};
    VrrpAdvert no_auth = advert(kVridV2, 200, 2);
    no_auth.auth_type = 0;
    no_auth.auth_data = {};
    VrrpAdvert slow_v2 = advert(kVridV2, 200, 2);
    slow_v2.adver_int_cs = 200;
    VrrpAdvert two_addrs = advert(kVridV3);
    two_addrs.addresses.push_back(kVipUnowned);

    VrrpAdvert zero_interval = advert(kVridV3);
    zero_interval.adver_int_cs = 0;

    // Solicitations RFC 4861 7.1.1 rejects, checksummed correctly.
    auto ns_with = [](const IpAddress& src, const IpAddress& dst, Bytes body) {
        const Bytes icmp = icmpv6_message(src, dst, kNdNeighborSolicit, 0, body);
        return ethernet_frame(multicast_mac(dst), kClientMac, kEthIpv6, ipv6_packet(src, dst, kIpProtoIcmpv6, 255, icmp));
    };
    Bytes zero_length_option = ns_body(kVip6Owned, kClientMac);
    zero_length_option[21] = 0;
    Bytes option_too_long = ns_body(kVip6Owned, kClientMac);
    option_too_long[21] = 2;
    const IpAddress unspecified = IpAddress::from("::");

    const Bytes arp = arp_request(kVipOwned);
    const Bytes ns = ns_frame(kVip6Owned);

    return {
        // ---- VRRP adverts ----
        valid_advert("v3_ipv4", v3),
        valid_advert("v3_ipv4_two_addresses", advert_frame(two_addrs)),
        valid_advert("v2_pass_auth", v2),
        valid_advert("v3_ipv6", v6),
        // Source and destination words whose sum carries out of 32 bits (192.0.2.254 + 224.0.0.18):
        // the pseudo-header sum was 32-bit and rejected such adverts as bad checksums.
        // Likewise the IPv6 length word from 144 bytes on: fourteen addresses make 232.
        valid_advert("v3_ipv6_fourteen_addresses", advert_frame([] {
                         VrrpAdvert a = advert6(kVridV3);
                         for (int i = 1; i < 14; ++i) a.addresses.push_back(IpAddress::from("2001:db8::" + std::to_string(i)));
                         return a;
                     }(), kPeerIp6)),
        valid_advert("v3_ipv4_pseudo_header_carry", advert_frame(advert(kVridV3), IpAddress::from("192.0.2.254"))),
        valid_advert("v3_vlan_tagged", advert_frame(advert(kVridVlan), kPeerIp, {vlan})),
        valid_advert("v3_qinq_matches_inner_vlan", advert_frame(advert(kVridVlan), kPeerIp, {outer, vlan})),
        valid_advert("priority_zero", advert_frame(advert(kVridV3, 0)), XVRRP_EV_PRIO_ZERO),
        valid_advert("master_sees_higher_priority", advert_frame(advert(kVridMaster, 150)), XVRRP_EV_PREEMPT),
        valid_advert("master_sees_lower_priority", advert_frame(advert(kVridMaster, 50)), XVRRP_EV_LOWER),
        valid_advert("master_tie_higher_address_wins",
                     advert_frame(advert(kVridMaster, kOurPriority), kPeerIp), XVRRP_EV_PREEMPT),
        valid_advert("master_tie_lower_address_loses",
                     advert_frame(advert(kVridMaster, kOurPriority), IpAddress::from("192.0.2.0")), XVRRP_EV_LOWER),
        invalid("ttl_254", fix_ipv4_header_checksum(with_byte(v3, 14 + 8, 254)), XVRRP_STAT_ADVERT_BAD_TTL),
        invalid("ipv6_hop_limit_1", with_byte(v6, 14 + 7, 1), XVRRP_STAT_ADVERT_BAD_TTL),
        invalid("v3_bad_checksum", with_byte(v3, l4 + 7, v3[l4 + 7] ^ 0xff), XVRRP_STAT_ADVERT_BAD_CHECKSUM),
        invalid("v2_bad_checksum", with_byte(v2, l4 + 6, v2[l4 + 6] ^ 0x01), XVRRP_STAT_ADVERT_BAD_CHECKSUM),
        invalid("ipv6_bad_checksum", with_byte(v6, v6.size() - 1, v6.back() ^ 0x10), XVRRP_STAT_ADVERT_BAD_CHECKSUM),
        invalid("v3_checksum_without_pseudo_header",
                advert_frame(advert(kVridV3), kPeerIp, {}, VrrpChecksum::V3AsV2), XVRRP_STAT_ADVERT_BAD_CHECKSUM),
        not_ours("unknown_vrid", advert_frame(advert(99))),
        not_ours("vrid_known_only_untagged", advert_frame(advert(kVridV3), kPeerIp, {vlan})),
        not_ours("unknown_vrid_v2", advert_frame(advert(99, 100, 2))),
        not_ours("unknown_vrid_ipv6", advert_frame(advert6(99), kPeerIp6)),
        invalid("count_larger_than_packet", fix_vrrp_checksum(with_byte(v3, l4 + 3, 5)),
                XVRRP_STAT_ADVERT_BAD_LENGTH),
        invalid("v2_count_eats_auth_data", fix_vrrp_checksum(with_byte(v2, l4 + 3, 3)),
                XVRRP_STAT_ADVERT_BAD_LENGTH),
        invalid("v2_wrong_password", advert_frame(wrong_pass), XVRRP_STAT_ADVERT_BAD_AUTH),
        invalid("v2_missing_auth", advert_frame(no_auth), XVRRP_STAT_ADVERT_BAD_AUTH),
        invalid("v2_interval_mismatch", advert_frame(slow_v2), XVRRP_STAT_ADVERT_BAD_INTERVAL),
        invalid("v3_max_advert_interval_0", advert_frame(zero_interval), XVRRP_STAT_ADVERT_BAD_INTERVAL),
        invalid("v2_advert_for_v3_instance", advert_frame(advert(kVridV3, 200, 2)), XVRRP_STAT_ADVERT_BAD_VERSION),
        invalid("version_4", fix_vrrp_checksum(with_byte(v3, l4, 0x41)), XVRRP_STAT_ADVERT_BAD_VERSION),
        invalid("type_2", fix_vrrp_checksum(with_byte(v3, l4, 0x32)), XVRRP_STAT_ADVERT_BAD_TYPE),
        invalid("ipv4_header_checksum", with_byte(v3, 14 + 10, v3[14 + 10] ^ 1), XVRRP_STAT_ADVERT_BAD_IP),
        invalid("ipv4_fragment", fix_ipv4_header_checksum(with_byte(v3, 14 + 6, 0x20)), XVRRP_STAT_ADVERT_BAD_IP),
        // Found by the advert fuzzer: the IP version nibble was never read.
        invalid("ipv4_header_of_version_6", fix_ipv4_header_checksum(with_byte(v3, 14, 0x65)), XVRRP_STAT_ADVERT_BAD_IP),
        invalid("ipv6_header_of_version_0", with_byte(v6, 14, 0x00), XVRRP_STAT_ADVERT_BAD_IP),
        passes("ns_in_ipv6_header_of_version_0", with_byte(ns, 14, 0x00)),
        // Truncated at every header boundary: what is not yet VRRP is not ours to judge.
        passes("cut_in_ethernet_type", cut(v3, 14 - 1 + 1 /* 14: ethernet only */)),
        passes("cut_in_ipv4_header", cut(v3, 14 + 19)),
        invalid("cut_after_ipv4_header", cut(v3, l4), XVRRP_STAT_ADVERT_TRUNCATED),
        invalid("cut_in_vrrp_header", cut(v3, l4 + 7), XVRRP_STAT_ADVERT_TRUNCATED),
        invalid("cut_after_vrrp_header", cut(v3, l4 + 8), XVRRP_STAT_ADVERT_TRUNCATED),
        invalid("cut_in_addresses", cut(v3, v3.size() - 1), XVRRP_STAT_ADVERT_TRUNCATED),
        invalid("v2_cut_in_auth_data", cut(v2, v2.size() - 3), XVRRP_STAT_ADVERT_TRUNCATED),
        passes("ipv6_cut_in_header", cut(v6, 14 + 39)),
        invalid("ipv6_cut_after_header", cut(v6, 14 + 40), XVRRP_STAT_ADVERT_TRUNCATED),
        passes("cut_in_vlan_tag", cut(advert_frame(advert(kVridVlan), kPeerIp, {vlan}), 16)),

        // ---- ARP ----
        answered("arp_for_owned_vip", arp, arp_reply_from(vmac, kVipOwned), XVRRP_STAT_ARP_REPLIED),
        answered("arp_padded_to_60_keeps_padding", pad_to(arp, 60), pad_to(arp_reply_from(vmac, kVipOwned), 60),
                 XVRRP_STAT_ARP_REPLIED),
        answered("arp_vip_with_interface_mac", arp_request(kVipIfaceMac), arp_reply_from(kRouterMac, kVipIfaceMac),
                 XVRRP_STAT_ARP_REPLIED),
        answered("arp_on_vlan", arp_request(kVipVlan, {vlan}),
                 arp_reply_from(virtual_mac(kVridVlan, Family::V4), kVipVlan, {vlan}), XVRRP_STAT_ARP_REPLIED),
        answered("arp_probe_from_unspecified", arp_request(kVipOwned, {}, IpAddress::from("0.0.0.0")),
                 arp_reply_from(vmac, kVipOwned, {}, IpAddress::from("0.0.0.0")), XVRRP_STAT_ARP_REPLIED),
        invalid("arp_for_unowned_vip", arp_request(kVipUnowned), XVRRP_STAT_ARP_DROPPED_UNOWNED),
        invalid("arp_from_multicast_mac", arp_request(kVipOwned, {}, kClientIp, Mac{0x01, 0, 0x5e, 0, 0, 1}),
                XVRRP_STAT_ARP_MALFORMED),
        invalid("arp_truncated", cut(arp, 14 + 27), XVRRP_STAT_ARP_MALFORMED),
        passes("arp_for_other_address", arp_request(kRouterIp)),
        passes("arp_vip_on_wrong_vlan", arp_request(kVipOwned, {vlan})),
        passes("gratuitous_arp_for_vip", arp_request(kVipOwned, {}, kVipOwned, kPeerMac)),
        passes("arp_reply_for_vip", arp_reply_from(kPeerMac, kVipOwned)),

        // ---- IPv6 neighbour discovery ----
        answered("ns_for_owned_vip", ns, na_frame(vmac6, kVip6Owned), XVRRP_STAT_NS_REPLIED),
        answered("ns_without_source_ll_grows", ns_frame(kVip6Owned, kClientIp6, false), na_frame(vmac6, kVip6Owned),
                 XVRRP_STAT_NS_REPLIED),
        answered("ns_dad_answered_to_all_nodes", ns_frame(kVip6Owned, IpAddress::from("::")),
                 na_frame(vmac6, kVip6Owned, IpAddress::from("ff02::1"), kNaRouter | kNaOverride,
                          Mac{0x33, 0x33, 0, 0, 0, 1}),
                 XVRRP_STAT_NS_REPLIED),
        invalid("ns_for_unowned_vip", ns_frame(kVip6Unowned), XVRRP_STAT_NS_DROPPED_UNOWNED),
        invalid("ns_hop_limit_64", ns_frame(kVip6Owned, kClientIp6, true, 64), XVRRP_STAT_NS_MALFORMED),
        invalid("ns_bad_checksum", with_byte(ns, ns.size() - 1, ns.back() ^ 1), XVRRP_STAT_NS_MALFORMED),
        invalid("ns_truncated", cut(ns, 14 + 40 + 23), XVRRP_STAT_NS_MALFORMED),
        invalid("ns_option_of_length_0", ns_with(kClientIp6, solicited_node(kVip6Owned), zero_length_option),
                XVRRP_STAT_NS_MALFORMED),
        invalid("ns_option_past_the_end", ns_with(kClientIp6, solicited_node(kVip6Owned), option_too_long),
                XVRRP_STAT_NS_MALFORMED),
        invalid("ns_dad_with_source_ll_option",
                ns_with(unspecified, solicited_node(kVip6Owned), ns_body(kVip6Owned, kClientMac)), XVRRP_STAT_NS_MALFORMED),
        invalid("ns_dad_not_to_solicited_node", ns_with(unspecified, IpAddress::from("ff02::1"), ns_body(kVip6Owned, std::nullopt)),
                XVRRP_STAT_NS_MALFORMED),
        answered("ns_with_nonce_option", ns_with(kClientIp6, solicited_node(kVip6Owned), [] {
                     Bytes b = ns_body(kVip6Owned, kClientMac);
                     const Bytes nonce{14, 1, 1, 2, 3, 4, 5, 6};
                     b.insert(b.end(), nonce.begin(), nonce.end());
                     return b;
                 }()),
                 na_frame(vmac6, kVip6Owned), XVRRP_STAT_NS_REPLIED),
        // 32 bytes like the usual NS, but its one option is a nonce: duplicate address detection.
        answered("ns_dad_with_only_a_nonce_option",
                 ns_with(unspecified, solicited_node(kVip6Owned), [] {
                     Bytes b = ns_body(kVip6Owned, std::nullopt);
                     const Bytes nonce{14, 1, 1, 2, 3, 4, 5, 6};
                     b.insert(b.end(), nonce.begin(), nonce.end());
                     return b;
                 }()),
                 na_frame(vmac6, kVip6Owned, IpAddress::from("ff02::1"), kNaRouter | kNaOverride,
                          Mac{0x33, 0x33, 0, 0, 0, 1}),
                 XVRRP_STAT_NS_REPLIED),
        passes("ns_for_other_address", ns_frame(IpAddress::from("2001:db8::1"))),
        passes("na_passes", na_frame(vmac6, kVip6Owned)),

        // XDP leaves traffic for virtual MACs to the TC program (test_tc_vmac.cpp).
        passes("to_owned_vmac_untouched_by_xdp", udp4_frame(vmac)),

        // ---- everything else ----
        passes("ipv4_udp", udp4_frame()),
        passes("lldp", ethernet_frame(Mac{0x01, 0x80, 0xc2, 0, 0, 0x0e}, kClientMac, 0x88cc, Bytes(46, 0))),
        passes("three_vlan_tags", ethernet_frame(kRouterMac, kClientMac, kEthIpv4, ipv4_packet(kClientIp, kRouterIp, 17, 64, Bytes(8, 0)),
                                                 std::vector<VlanTag>{{1, 0x88a8}, {2}, {3}})),
    };
}

class XdpFixtures : public ::testing::TestWithParam<Fixture> {
protected:
    static void SetUpTestSuite() {
        if (::geteuid() != 0) return;
        dp_ = std::make_unique<Dataplane>(DataplaneOptions{.pin_root = ""});
        configure_world(*dp_, kIfindex);
        ring_ = std::make_unique<EventRing>(dp_->events_fd(), [](const xvrrp_event& e) { events_.push_back(e); });
    }
    static void TearDownTestSuite() {
        ring_.reset();
        dp_.reset();
    }
    void SetUp() override {
        XVRRP_REQUIRE_ROOT();
        // Fresh peer state: every advert is the first from its sender, and no timer is left running.
        BpfMap<std::uint32_t, xvrrp_peer_timer> timers(dp_->map_fd(XVRRP_MAP_PEER_TIMERS), XVRRP_MAP_PEER_TIMERS);
        BpfMap<std::uint32_t, xvrrp_peer> peers(dp_->map_fd(XVRRP_MAP_PEERS), XVRRP_MAP_PEERS);
        for (std::uint32_t slot = 0; slot < 8; ++slot) {
            timers.put(slot, xvrrp_peer_timer{});
            peers.put(slot, xvrrp_peer{});
        }
        ring_->consume();
        events_.clear();
    }

    static inline std::unique_ptr<Dataplane> dp_;
    static inline std::unique_ptr<EventRing> ring_;
    static inline std::vector<xvrrp_event> events_;
};

TEST_P(XdpFixtures, VerdictFrameCountersEvents) {
    const Fixture& f = GetParam();
    const StatsArray before = dp_->stats();

    const XdpRun run = xdp_test_run(dp_->prog_fd(), f.input, kIfindex);

    EXPECT_EQ(verdict_name(run.verdict), verdict_name(f.verdict));
    const Bytes& want = f.output ? *f.output : f.input;
    EXPECT_EQ(run.output, want) << "input:\n" << to_hex(f.input) << "\nexpected:\n" << to_hex(want)
                                << "\nactual:\n" << to_hex(run.output);

    const StatsArray after = dp_->stats();
    for (std::uint32_t i = 0; i < XVRRP_STAT_MAX; ++i) {
        if (i == XVRRP_STAT_TIMER_FIRED) continue;  // asynchronous by nature
        const auto stat = static_cast<xvrrp_stat>(i);
        const std::uint64_t delta = after[i].packets - before[i].packets;
        const auto it = f.counted.find(stat);
        EXPECT_EQ(delta, it == f.counted.end() ? 0u : it->second) << "counter " << stat_name(stat);
        if (it != f.counted.end() && stat != XVRRP_STAT_EVENTS_SENT) {
            // Bytes are counted as the frame leaves (a grown NA counts its new size).
            EXPECT_EQ(after[i].bytes - before[i].bytes, want.size()) << "bytes of " << stat_name(stat);
        }
    }

    ring_->consume();
    std::vector<std::uint8_t> got;
    for (const auto& e : events_) got.push_back(e.type);
    EXPECT_EQ(got, f.events);
}

INSTANTIATE_TEST_SUITE_P(Table, XdpFixtures, ::testing::ValuesIn(fixtures()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
