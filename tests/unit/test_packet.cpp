// Packet codecs against known-good bytes: adverts captured from keepalived
// 2.2.7 (Debian 12) in a netns, and ND/ARP frames made by scapy.
#include <gtest/gtest.h>
#include <linux/rtnetlink.h>

#include "hex.hpp"
#include "xvrrp/netlink.hpp"
#include "xvrrp/packet.hpp"

using namespace xvrrp;
using xvrrp::test::from_hex;

namespace {

// keepalived, vrrp_version 3, VRID 51, priority 150, advert_int 1, VIP 192.0.2.100.
const char* kKeepalivedV3 =
    "01005e000012020000000001080045c0002000010000ff701899c0000201e0000012"
    "313396010064d371c0000264";
// keepalived, version 2, VRID 52, priority 120, auth PASS "secret", VIP 192.0.2.101.
const char* kKeepalivedV2Pass =
    "01005e000012020000000001080045c0002800010000ff701891c0000201e0000012"
    "2134780101016717c00002657365637265740000";
// keepalived, VRRPv3 over IPv6, VRID 53, priority 200, VIP 2001:db8::100, from fe80::ff:fe00:1.
const char* kKeepalivedV3Ipv6 =
    "33330000001202000000000186dd6c0602b4001870fffe80000000000000000000fffe000001"
    "ff0200000000000000000000000000123135c8010064da8c20010db8000000000000000000000100";
// scapy: NS for 2001:db8::100 from 2001:db8::a with source link-layer option.
const char* kScapyNs =
    "3333ff00010002000000000a86dd6000000000203aff20010db800000000000000000000000a"
    "ff0200000000000000000001ff00010087001a190000000020010db8000000000000000000000100"
    "010102000000000a";
// scapy: the NA answering it, R|S|O, target link-layer 00:00:5e:00:02:01.
const char* kScapyNa =
    "02000000000a00005e00020186dd6000000000203aff20010db8000000000000000000000100"
    "20010db800000000000000000000000a8800aa6ce000000020010db8000000000000000000000100"
    "020100005e000201";
// scapy: ARP who-has 192.0.2.100 tell 192.0.2.10.
const char* kScapyArp = "ffffffffffff02000000000a0806000108000604000102000000000ac000020a000000000000c0000264";

const Mac kKeepalivedMac{0x02, 0, 0, 0, 0, 0x01};
const Mac kClientMac{0x02, 0, 0, 0, 0, 0x0a};

std::span<const std::uint8_t> tail(const Bytes& b, std::size_t from) { return {b.data() + from, b.size() - from}; }

}  // namespace

TEST(Checksum, Rfc1071Example) {
    // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, checksum 220d.
    const Bytes data = from_hex("0001f203f4f5f6f7");
    EXPECT_EQ(Checksum().add(data).finish(), 0x220d);
}

TEST(Checksum, OddLengthPadsWithZero) {
    EXPECT_EQ(Checksum().add(from_hex("0102 03")).finish(), Checksum().add(from_hex("0102 0300")).finish());
    // Split across calls at an odd boundary gives the same sum as one call.
    Checksum split;
    split.add(from_hex("01")).add(from_hex("0203"));
    EXPECT_EQ(split.finish(), Checksum().add(from_hex("010203")).finish());
}

TEST(VrrpCodec, EncodesKeepalivedV3AdvertByteForByte) {
    VrrpAdvert a{.version = 3, .vrid = 51, .priority = 150, .adver_int_cs = 100,
                 .addresses = {IpAddress::from("192.0.2.100")}};
    const Bytes frame = vrrp_frame(kKeepalivedMac, IpAddress::from("192.0.2.1"), IpAddress::from("224.0.0.18"), a);
    // keepalived sets IP id 1; ours is 0: compare the VRRP message and the rest of the frame apart from id/csum.
    const Bytes want = from_hex(kKeepalivedV3);
    ASSERT_EQ(frame.size(), want.size());
    EXPECT_EQ(xvrrp::test::to_hex(tail(frame, 34)), xvrrp::test::to_hex(tail(want, 34)));
    EXPECT_TRUE(std::equal(frame.begin(), frame.begin() + 18, want.begin()));
}

// To another group (keepalived's vrrp_mcast_group4/6) the frame goes to that group's MAC and IP,
// and the v3 checksum covers it; a unicast destination keeps the RFC group's MAC (the socket
// that sends it resolves the peer's).
TEST(VrrpCodec, AnotherGroupGetsItsOwnMacAndChecksum) {
    VrrpAdvert a{.version = 3, .vrid = 51, .priority = 150, .adver_int_cs = 100,
                 .addresses = {IpAddress::from("192.0.2.100")}};
    const auto src = IpAddress::from("192.0.2.1");
    const Bytes other = vrrp_frame(kKeepalivedMac, src, IpAddress::from("224.0.0.19"), a);
    EXPECT_EQ(xvrrp::test::to_hex(Bytes(other.begin(), other.begin() + 6)), "01 00 5e 00 00 13");
    EXPECT_EQ(xvrrp::test::to_hex(Bytes(other.begin() + 30, other.begin() + 34)), "e0 00 00 13") << "the IP destination";
    EXPECT_TRUE(decode_vrrp(tail(other, 34), src, IpAddress::from("224.0.0.19")).advert) << "the checksum covers the group it went to";
    EXPECT_FALSE(decode_vrrp(tail(other, 34), src, IpAddress::from("224.0.0.18")).advert) << "and no other";
    const Bytes six = vrrp_frame(kKeepalivedMac, IpAddress::from("fe80::1"), IpAddress::from("ff02::19"),
                                 VrrpAdvert{.version = 3, .vrid = 51, .priority = 150, .adver_int_cs = 100,
                                            .addresses = {IpAddress::from("2001:db8::100")}});
    EXPECT_EQ(xvrrp::test::to_hex(Bytes(six.begin(), six.begin() + 6)), "33 33 00 00 00 19");
    const Bytes unicast = vrrp_frame(kKeepalivedMac, src, IpAddress::from("192.0.2.2"), a);
    EXPECT_EQ(xvrrp::test::to_hex(Bytes(unicast.begin(), unicast.begin() + 6)), "01 00 5e 00 00 12");
}

TEST(VrrpCodec, EncodesKeepalivedV2PassAdvertByteForByte) {
    VrrpAdvert a{.version = 2, .vrid = 52, .priority = 120, .adver_int_cs = 100,
                 .addresses = {IpAddress::from("192.0.2.101")}, .auth_type = 1,
                 .auth_data = {'s', 'e', 'c', 'r', 'e', 't', 0, 0}};
    const Bytes msg = encode_vrrp(a, IpAddress::from("192.0.2.1"), IpAddress::from("224.0.0.18"));
    EXPECT_EQ(xvrrp::test::to_hex(msg), xvrrp::test::to_hex(tail(from_hex(kKeepalivedV2Pass), 34)));
}

TEST(VrrpCodec, EncodesKeepalivedIpv6AdvertByteForByte) {
    VrrpAdvert a{.version = 3, .vrid = 53, .priority = 200, .adver_int_cs = 100,
                 .addresses = {IpAddress::from("2001:db8::100")}};
    const Bytes msg = encode_vrrp(a, IpAddress::from("fe80::ff:fe00:1"), IpAddress::from("ff02::12"));
    EXPECT_EQ(xvrrp::test::to_hex(msg), xvrrp::test::to_hex(tail(from_hex(kKeepalivedV3Ipv6), 54)));
}

TEST(VrrpCodec, DecodesKeepalivedAdverts) {
    const Bytes v3 = from_hex(kKeepalivedV3);
    auto d = decode_vrrp(tail(v3, 34), IpAddress::from("192.0.2.1"), IpAddress::from("224.0.0.18"));
    ASSERT_TRUE(d.advert) << d.error;
    EXPECT_EQ(d.advert->vrid, 51);
    EXPECT_EQ(d.advert->priority, 150);
    EXPECT_EQ(d.advert->adver_int_cs, 100);
    ASSERT_EQ(d.advert->addresses.size(), 1u);
    EXPECT_EQ(d.advert->addresses[0].to_string(), "192.0.2.100");

    const Bytes v2 = from_hex(kKeepalivedV2Pass);
    d = decode_vrrp(tail(v2, 34), IpAddress::from("192.0.2.1"), IpAddress::from("224.0.0.18"));
    ASSERT_TRUE(d.advert) << d.error;
    EXPECT_EQ(d.advert->version, 2);
    EXPECT_EQ(d.advert->auth_type, 1);
    EXPECT_EQ(std::string(d.advert->auth_data.begin(), d.advert->auth_data.begin() + 6), "secret");

    const Bytes v6 = from_hex(kKeepalivedV3Ipv6);
    d = decode_vrrp(tail(v6, 54), IpAddress::from("fe80::ff:fe00:1"), IpAddress::from("ff02::12"));
    ASSERT_TRUE(d.advert) << d.error;
    EXPECT_EQ(d.advert->addresses[0].to_string(), "2001:db8::100");
}

TEST(VrrpCodec, RoundTripsEveryShape) {
    const IpAddress src4 = IpAddress::from("198.51.100.7"), grp4 = vrrp_multicast_group(Family::V4);
    const IpAddress src6 = IpAddress::from("fe80::7"), grp6 = vrrp_multicast_group(Family::V6);
    for (std::uint8_t version : {2, 3}) {
        for (int n : {0, 1, 7, 255}) {
            VrrpAdvert a{.version = version, .vrid = 9, .priority = 254, .adver_int_cs = 300};
            for (int i = 0; i < n; ++i) {
                IpAddress x = IpAddress::from("203.0.113.0");
                x.bytes[3] = static_cast<std::uint8_t>(i);
                a.addresses.push_back(x);
            }
            auto d = decode_vrrp(encode_vrrp(a, src4, grp4), src4, grp4);
            ASSERT_TRUE(d.advert) << d.error;
            EXPECT_EQ(*d.advert, a);
        }
    }
    VrrpAdvert a6{.version = 3, .vrid = 200, .priority = 1, .adver_int_cs = 1,
                  .addresses = {IpAddress::from("2001:db8::1"), IpAddress::from("2001:db8::2")}};
    auto d = decode_vrrp(encode_vrrp(a6, src6, grp6), src6, grp6);
    ASSERT_TRUE(d.advert) << d.error;
    EXPECT_EQ(*d.advert, a6);
}

TEST(VrrpCodec, V3ChecksumAsV2IsOnlyAcceptedInThatMode) {
    const IpAddress src = IpAddress::from("192.0.2.1"), grp = vrrp_multicast_group(Family::V4);
    VrrpAdvert a{.version = 3, .vrid = 1, .addresses = {IpAddress::from("192.0.2.100")}};
    const Bytes old_style = encode_vrrp(a, src, grp, VrrpChecksum::V3AsV2);
    EXPECT_FALSE(decode_vrrp(old_style, src, grp).advert);
    EXPECT_TRUE(decode_vrrp(old_style, src, grp, VrrpChecksum::V3AsV2).advert);
}

TEST(VrrpCodec, RejectsMalformedMessages) {
    const IpAddress src = IpAddress::from("192.0.2.1"), grp = vrrp_multicast_group(Family::V4);
    VrrpAdvert a{.version = 3, .vrid = 1, .addresses = {IpAddress::from("192.0.2.100")}};
    const Bytes good = encode_vrrp(a, src, grp);

    EXPECT_EQ(decode_vrrp(std::span(good).first(7), src, grp).error, "truncated header");
    Bytes bad = good;
    bad[3] = 2;  // two addresses claimed, one present
    EXPECT_EQ(decode_vrrp(bad, src, grp).error, "address count larger than the message");
    bad = good;
    bad[8] ^= 1;
    EXPECT_EQ(decode_vrrp(bad, src, grp).error, "bad checksum");
    bad = good;
    bad[0] = 0x41;
    EXPECT_EQ(decode_vrrp(bad, src, grp).error, "version 4");
    bad = good;
    bad[0] = 0x32;
    EXPECT_EQ(decode_vrrp(bad, src, grp).error, "type 2");
    // The checksum covers the addresses it travelled with.
    EXPECT_EQ(decode_vrrp(good, IpAddress::from("192.0.2.2"), grp).error, "bad checksum");
}

TEST(NdCodec, BuildsScapyNeighbourSolicitationAndAdvertisement) {
    const IpAddress client = IpAddress::from("2001:db8::a"), vip = IpAddress::from("2001:db8::100");
    const IpAddress snm = solicited_node(vip);
    EXPECT_EQ(snm.to_string(), "ff02::1:ff00:100");
    const Bytes ns = ethernet_frame(multicast_mac(snm), kClientMac, kEthIpv6,
                                    ipv6_packet(client, snm, kIpProtoIcmpv6, 255,
                                                icmpv6_message(client, snm, kNdNeighborSolicit, 0,
                                                               ns_body(vip, kClientMac))));
    EXPECT_EQ(xvrrp::test::to_hex(ns), xvrrp::test::to_hex(from_hex(kScapyNs)));

    const Mac vmac = virtual_mac(1, Family::V6);
    const Bytes na = ethernet_frame(
        kClientMac, vmac, kEthIpv6,
        ipv6_packet(vip, client, kIpProtoIcmpv6, 255,
                    icmpv6_message(vip, client, kNdNeighborAdvert, 0,
                                   na_body(kNaRouter | kNaSolicited | kNaOverride, vip, vmac))));
    EXPECT_EQ(xvrrp::test::to_hex(na), xvrrp::test::to_hex(from_hex(kScapyNa)));
}

TEST(ArpCodec, BuildsScapyRequest) {
    const Bytes req = ethernet_frame(kBroadcastMac, kClientMac, kEthArp,
                                     arp_packet(kArpRequest, kClientMac, IpAddress::from("192.0.2.10"), Mac{},
                                                IpAddress::from("192.0.2.100")));
    EXPECT_EQ(xvrrp::test::to_hex(req), xvrrp::test::to_hex(from_hex(kScapyArp)));
}

TEST(ArpCodec, GratuitousArpAnnouncesVipFromVirtualMac) {
    const Mac vmac = virtual_mac(7, Family::V4);
    EXPECT_EQ(to_string(vmac), "00:00:5e:00:01:07");
    const Bytes g = garp_frame(vmac, IpAddress::from("192.0.2.100"));
    ASSERT_EQ(g.size(), 42u);
    EXPECT_TRUE(std::equal(kBroadcastMac.begin(), kBroadcastMac.end(), g.begin()));
    // sender and target protocol addresses are both the VIP
    EXPECT_TRUE(std::equal(g.begin() + 28, g.begin() + 32, g.begin() + 38));
}

TEST(Addresses, ParseAndFormat) {
    EXPECT_FALSE(IpAddress::parse("192.0.2.300"));
    EXPECT_EQ(IpAddress::from("2001:db8::1").family, Family::V6);
    EXPECT_EQ(IpAddress::from("2001:DB8::1").to_string(), "2001:db8::1");
    EXPECT_TRUE(IpAddress::from("::").is_unspecified());
    EXPECT_EQ(parse_mac("00:00:5E:00:01:FF"), virtual_mac(255, Family::V4));
    EXPECT_FALSE(parse_mac("00:00:5e:00:01"));
    EXPECT_FALSE(parse_mac("00:00:5e:00:01:02:03"));
    EXPECT_EQ(to_string(multicast_mac(vrrp_multicast_group(Family::V4))), "01:00:5e:00:00:12");
    EXPECT_EQ(to_string(multicast_mac(vrrp_multicast_group(Family::V6))), "33:33:00:00:00:12");
    // Tie-break order is numeric, byte by byte (RFC 9568 6.4.3).
    EXPECT_LT(IpAddress::from("192.0.2.9"), IpAddress::from("192.0.2.10"));
}

// ---- primary address selection from one address table (netlink.hpp) ----

namespace {

TEST(PrimaryAddress, FirstOfTheFamilyAndScopeOnTheInterfaceThatIsNotAVip) {
    using xvrrp::IpAddress;
    const std::vector<xvrrp::InterfaceAddress> table{
        {7, IpAddress::from("192.0.2.100"), RT_SCOPE_UNIVERSE},  // a VIP of the instance, listed first
        {3, IpAddress::from("198.51.100.1"), RT_SCOPE_UNIVERSE}, // another interface
        {7, IpAddress::from("192.0.2.1"), RT_SCOPE_UNIVERSE},
        {7, IpAddress::from("2001:db8::1"), RT_SCOPE_UNIVERSE},  // IPv6 adverts leave from the link-local
        {7, IpAddress::from("fe80::1"), RT_SCOPE_LINK},
    };
    const std::vector<IpAddress> vips{IpAddress::from("192.0.2.100")};
    EXPECT_EQ(xvrrp::primary_address(table, 7, xvrrp::Family::V4, vips), IpAddress::from("192.0.2.1"));
    EXPECT_EQ(xvrrp::primary_address(table, 7, xvrrp::Family::V4), IpAddress::from("192.0.2.100"));
    EXPECT_EQ(xvrrp::primary_address(table, 7, xvrrp::Family::V6, vips), IpAddress::from("fe80::1"));
    EXPECT_EQ(xvrrp::primary_address(table, 3, xvrrp::Family::V4), IpAddress::from("198.51.100.1"));
    EXPECT_EQ(xvrrp::primary_address(table, 3, xvrrp::Family::V6), std::nullopt);
    EXPECT_EQ(xvrrp::primary_address(table, 9, xvrrp::Family::V4), std::nullopt);
}

}  // namespace
