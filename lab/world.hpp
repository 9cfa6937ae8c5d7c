// The fixture world shared by the BPF packet tests, the fuzz test and the
// XDP benchmark: a handful of instances and VIPs on one interface, and
// builders for the frames that exercise them.
#pragma once

#include <cstring>
#include <optional>
#include <vector>

#include "xvrrp/abi.h"
#include "xvrrp/dataplane.hpp"
#include "xvrrp/kernel_clock.hpp"
#include "xvrrp/packet.hpp"

namespace xvrrp::test {

inline const Mac kRouterMac{0x02, 0, 0, 0, 0, 0x01};
inline const Mac kPeerMac{0x02, 0, 0, 0, 0, 0x02};
inline const Mac kClientMac{0x02, 0, 0, 0, 0, 0x0a};
inline const IpAddress kRouterIp = IpAddress::from("192.0.2.1");
inline const IpAddress kPeerIp = IpAddress::from("192.0.2.2");
inline const IpAddress kClientIp = IpAddress::from("192.0.2.10");
inline const IpAddress kRouterIp6 = IpAddress::from("fe80::1");
inline const IpAddress kPeerIp6 = IpAddress::from("fe80::2");
inline const IpAddress kClientIp6 = IpAddress::from("2001:db8::a");

inline const IpAddress kVipOwned = IpAddress::from("192.0.2.100");
inline const IpAddress kVipUnowned = IpAddress::from("192.0.2.101");
inline const IpAddress kVipIfaceMac = IpAddress::from("192.0.2.102");
inline const IpAddress kVip6Owned = IpAddress::from("2001:db8::100");
inline const IpAddress kVip6Unowned = IpAddress::from("2001:db8::101");
inline const IpAddress kVipVlan = IpAddress::from("198.51.100.100");

constexpr std::uint16_t kVlan = 10;
constexpr std::uint8_t kVridV3 = 1;      // v3 IPv4 (backup) and v3 IPv6 (backup)
constexpr std::uint8_t kVridV2 = 2;      // v2 IPv4 with PASS authentication
constexpr std::uint8_t kVridVlan = 3;    // v3 IPv4 on VLAN 10
constexpr std::uint8_t kVridMaster = 4;  // v3 IPv4, we are master
constexpr std::uint8_t kOurPriority = 100;
inline const std::array<std::uint8_t, 8> kPassword{'s', 'e', 'c', 'r', 'e', 't', 0, 0};

inline xvrrp_inst_key inst_key(unsigned ifindex, std::uint8_t vrid, Family f = Family::V4, std::uint16_t vlan = 0) {
    return {.ifindex = ifindex, .vlan = vlan, .vrid = vrid, .family = static_cast<std::uint8_t>(f)};
}

inline xvrrp_vip_key vip_key(unsigned ifindex, const IpAddress& a, std::uint16_t vlan = 0) {
    xvrrp_vip_key k{.ifindex = ifindex, .vlan = vlan, .family = static_cast<std::uint8_t>(a.family)};
    std::memcpy(k.addr, a.bytes.data(), 16);
    return k;
}

inline xvrrp_inst make_inst(std::uint8_t version, xvrrp_state state, const IpAddress& primary,
                            std::uint16_t adver_int_cs = 100, std::uint8_t flags = 0) {
    xvrrp_inst i{.version = version, .priority = kOurPriority, .state = static_cast<std::uint8_t>(state),
                 .flags = flags, .adver_int_cs = adver_int_cs, .down_timer_adverts = 3};
    std::memcpy(i.primary_addr, primary.bytes.data(), 16);
    return i;
}

inline xvrrp_vip make_vip(const Mac& mac, bool owned, bool router = false) {
    xvrrp_vip v{};
    std::memcpy(v.mac, mac.data(), 6);
    if (owned) v.flags |= XVRRP_VIP_F_OWNED;
    if (router) v.flags |= XVRRP_VIP_F_ROUTER;
    return v;
}

// Instances and VIPs of the world on ifindex (the fixtures use lo, 1), and the fail-safe clock
// as the daemon sets it once it has measured the tick.
inline void configure_world(Dataplane& dp, unsigned ifindex) {
    dp.set_fail_safe_tick(kernel_tick_ns());
    dp.set_instance(inst_key(ifindex, kVridV3), make_inst(3, XVRRP_STATE_BACKUP, kRouterIp));
    auto v2 = make_inst(2, XVRRP_STATE_BACKUP, kRouterIp, 100, XVRRP_INST_F_V2_AUTH_PASS);
    std::memcpy(v2.auth_data, kPassword.data(), 8);
    dp.set_instance(inst_key(ifindex, kVridV2), v2);
    dp.set_instance(inst_key(ifindex, kVridV3, Family::V6), make_inst(3, XVRRP_STATE_BACKUP, kRouterIp6));
    dp.set_instance(inst_key(ifindex, kVridVlan, Family::V4, kVlan), make_inst(3, XVRRP_STATE_BACKUP, kRouterIp));
    dp.set_instance(inst_key(ifindex, kVridMaster), make_inst(3, XVRRP_STATE_MASTER, kRouterIp));

    const auto v3 = inst_key(ifindex, kVridV3), v6 = inst_key(ifindex, kVridV3, Family::V6);
    dp.set_vip(vip_key(ifindex, kVipOwned), make_vip(virtual_mac(kVridV3, Family::V4), true), v3);
    dp.set_vip(vip_key(ifindex, kVipUnowned), make_vip(virtual_mac(kVridV3, Family::V4), false), v3);
    dp.set_vip(vip_key(ifindex, kVipIfaceMac), make_vip(kRouterMac, true), v3);
    dp.set_vip(vip_key(ifindex, kVip6Owned), make_vip(virtual_mac(kVridV3, Family::V6), true, true), v6);
    dp.set_vip(vip_key(ifindex, kVip6Unowned), make_vip(virtual_mac(kVridV3, Family::V6), false, true), v6);
    dp.set_vip(vip_key(ifindex, kVipVlan, kVlan), make_vip(virtual_mac(kVridVlan, Family::V4), true),
               inst_key(ifindex, kVridVlan, Family::V4, kVlan));
    // We are master of VRID 1 for both families: frames to its virtual MACs are ours.
    dp.set_interface_mac(ifindex, kRouterMac);
    dp.set_vmac_owned(ifindex, XVRRP_AF_INET, kVridV3, true);
    dp.set_vmac_owned(ifindex, XVRRP_AF_INET6, kVridV3, true);
}

// ---- frames ----

inline VrrpAdvert advert(std::uint8_t vrid, std::uint8_t priority = 200, std::uint8_t version = 3) {
    VrrpAdvert a{.version = version, .vrid = vrid, .priority = priority, .adver_int_cs = 100,
                 .addresses = {kVipOwned}};
    if (version == 2) {
        a.auth_type = 1;
        a.auth_data = kPassword;
    }
    return a;
}

inline Bytes advert_frame(const VrrpAdvert& a, const IpAddress& src = kPeerIp, std::vector<VlanTag> vlans = {},
                          VrrpChecksum mode = VrrpChecksum::Standard) {
    return vrrp_frame(virtual_mac(a.vrid, src.family), src, vrrp_multicast_group(src.family), a, mode, vlans);
}

inline VrrpAdvert advert6(std::uint8_t vrid, std::uint8_t priority = 200) {
    return {.version = 3, .vrid = vrid, .priority = priority, .adver_int_cs = 100, .addresses = {kVip6Owned}};
}

inline Bytes arp_request(const IpAddress& target, std::vector<VlanTag> vlans = {}, const IpAddress& sender = kClientIp,
                         const Mac& sender_mac = kClientMac) {
    return ethernet_frame(kBroadcastMac, sender_mac, kEthArp, arp_packet(kArpRequest, sender_mac, sender, Mac{}, target),
                          vlans);
}

inline Bytes arp_reply_from(const Mac& vip_mac, const IpAddress& vip, std::vector<VlanTag> vlans = {},
                            const IpAddress& asker = kClientIp) {
    return ethernet_frame(kClientMac, vip_mac, kEthArp, arp_packet(kArpReply, vip_mac, vip, kClientMac, asker), vlans);
}

// NS from src (or :: for DAD) for target, with the source link-layer option unless DAD or told not to.
inline Bytes ns_frame(const IpAddress& target, const IpAddress& src = kClientIp6, bool with_sll = true,
                      std::uint8_t hop_limit = 255) {
    const IpAddress dst = solicited_node(target);
    const std::optional<Mac> sll = with_sll && !src.is_unspecified() ? std::optional<Mac>(kClientMac) : std::nullopt;
    const Bytes icmp = icmpv6_message(src, dst, kNdNeighborSolicit, 0, ns_body(target, sll));
    return ethernet_frame(multicast_mac(dst), kClientMac, kEthIpv6, ipv6_packet(src, dst, kIpProtoIcmpv6, hop_limit, icmp));
}

inline Bytes na_frame(const Mac& vip_mac, const IpAddress& vip, const IpAddress& to = kClientIp6,
                      std::uint8_t flags = kNaRouter | kNaSolicited | kNaOverride, const Mac& to_mac = kClientMac) {
    const Bytes icmp = icmpv6_message(vip, to, kNdNeighborAdvert, 0, na_body(flags, vip, vip_mac));
    return ethernet_frame(to_mac, vip_mac, kEthIpv6, ipv6_packet(vip, to, kIpProtoIcmpv6, 255, icmp));
}

inline Bytes udp4_frame(const Mac& dst = kRouterMac) {
    const Bytes udp{0x30, 0x39, 0x00, 0x35, 0x00, 0x10, 0x00, 0x00, 'x', 'v', 'r', 'r', 'p', '!', '!', '!'};
    return ethernet_frame(dst, kClientMac, kEthIpv4, ipv4_packet(kClientIp, kRouterIp, 17, 64, udp));
}


}  // namespace xvrrp::test
