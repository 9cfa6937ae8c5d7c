// Packet codecs shared by the controller (adverts, gratuitous ARP, unsolicited
// NA) and the tests (fixtures): addresses, checksums, VRRP v2/v3, ARP, ND,
// and the IPv4/IPv6/Ethernet layers they ride in.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace xvrrp {

using Bytes = std::vector<std::uint8_t>;
using Mac = std::array<std::uint8_t, 6>;

enum class Family : std::uint8_t { V4 = 4, V6 = 6 };

struct IpAddress {
    Family family = Family::V4;
    std::array<std::uint8_t, 16> bytes{};  // IPv4 in the first 4 bytes

    static std::optional<IpAddress> parse(std::string_view text);
    // For literals known to be valid (tests, constants); throws otherwise.
    static IpAddress from(std::string_view text);

    [[nodiscard]] std::size_t size() const { return family == Family::V4 ? 4 : 16; }
    [[nodiscard]] std::span<const std::uint8_t> view() const { return {bytes.data(), size()}; }
    [[nodiscard]] bool is_unspecified() const;
    [[nodiscard]] bool is_multicast() const;  // 224.0.0.0/4 or ff00::/8
    [[nodiscard]] bool is_link_local_multicast() const;  // IPv6 of scope 2 (ff02::/16 and its flag variants)
    [[nodiscard]] std::string to_string() const;

    auto operator<=>(const IpAddress&) const = default;
};

std::optional<Mac> parse_mac(std::string_view text);
std::string to_string(const Mac& mac);
// 00:00:5e:00:01:VRID for IPv4, 00:00:5e:00:02:VRID for IPv6 (RFC 9568 7.3).
Mac virtual_mac(std::uint8_t vrid, Family family);
// 224.0.0.18 or ff02::12.
IpAddress vrrp_multicast_group(Family family);
Mac multicast_mac(const IpAddress& group);
IpAddress solicited_node(const IpAddress& v6);

// RFC 1071. Sums are of big-endian 16-bit words; finish() folds and complements.
class Checksum {
public:
    Checksum& add(std::span<const std::uint8_t> data);
    Checksum& add16(std::uint16_t word);
    Checksum& add32(std::uint32_t word);
    // TCP/UDP-style pseudo-header (IPv4: RFC 793; IPv6: RFC 8200 8.1).
    Checksum& add_pseudo_header(const IpAddress& src, const IpAddress& dst, std::uint8_t proto,
                                std::uint32_t length);
    [[nodiscard]] std::uint16_t finish() const;

private:
    std::uint64_t sum_ = 0;
    bool odd_ = false;  // an odd byte count so far: the next byte is a low byte
};

// ---- VRRP ----

constexpr std::uint8_t kIpProtoVrrp = 112;
constexpr std::uint8_t kVrrpTtl = 255;

enum class VrrpChecksum {
    Standard,  // v3: with the IP pseudo-header; v2: the message only
    V3AsV2,    // v3 without pseudo-header, as keepalived's old compatibility mode
};

struct VrrpAdvert {
    std::uint8_t version = 3;
    std::uint8_t vrid = 0;
    std::uint8_t priority = 100;
    std::uint16_t adver_int_cs = 100;  // v2 carries whole seconds: must be a multiple of 100
    std::vector<IpAddress> addresses;
    std::uint8_t auth_type = 0;  // v2 only: 0 none, 1 simple text
    std::array<std::uint8_t, 8> auth_data{};

    bool operator==(const VrrpAdvert&) const = default;
};

// The VRRP message with its checksum. src/dst are the IP addresses it travels with.
Bytes encode_vrrp(const VrrpAdvert& advert, const IpAddress& src, const IpAddress& dst,
                  VrrpChecksum mode = VrrpChecksum::Standard);

struct VrrpDecoded {
    std::optional<VrrpAdvert> advert;
    std::string error;  // why not, when advert is empty
};
VrrpDecoded decode_vrrp(std::span<const std::uint8_t> message, const IpAddress& src, const IpAddress& dst,
                        VrrpChecksum mode = VrrpChecksum::Standard);

// ---- Layers ----

struct VlanTag {
    std::uint16_t vid = 0;
    std::uint16_t tpid = 0x8100;  // 0x88a8 for an 802.1ad outer tag
};

constexpr std::uint16_t kEthIpv4 = 0x0800;
constexpr std::uint16_t kEthArp = 0x0806;
constexpr std::uint16_t kEthIpv6 = 0x86dd;

Bytes ethernet_frame(const Mac& dst, const Mac& src, std::uint16_t ethertype, std::span<const std::uint8_t> payload,
                     std::span<const VlanTag> vlans = {});
Bytes ipv4_packet(const IpAddress& src, const IpAddress& dst, std::uint8_t proto, std::uint8_t ttl,
                  std::span<const std::uint8_t> payload);
Bytes ipv6_packet(const IpAddress& src, const IpAddress& dst, std::uint8_t next_header, std::uint8_t hop_limit,
                  std::span<const std::uint8_t> payload);

// A whole advert frame as a master sends it: source MAC the virtual MAC.
Bytes vrrp_frame(const Mac& src_mac, const IpAddress& src, const IpAddress& dst, const VrrpAdvert& advert,
                 VrrpChecksum mode = VrrpChecksum::Standard, std::span<const VlanTag> vlans = {});

// ---- ARP ----

constexpr std::uint16_t kArpRequest = 1;
constexpr std::uint16_t kArpReply = 2;
constexpr Mac kBroadcastMac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

Bytes arp_packet(std::uint16_t op, const Mac& sha, const IpAddress& spa, const Mac& tha, const IpAddress& tpa);
// Gratuitous ARP request announcing vip at mac (RFC 5227 ARP announcement).
Bytes garp_frame(const Mac& mac, const IpAddress& vip, std::span<const VlanTag> vlans = {});

// ---- IPv6 neighbour discovery ----

constexpr std::uint8_t kIpProtoIcmpv6 = 58;
constexpr std::uint8_t kNdNeighborSolicit = 135;
constexpr std::uint8_t kNdNeighborAdvert = 136;
constexpr std::uint8_t kNaRouter = 0x80, kNaSolicited = 0x40, kNaOverride = 0x20;

// An ICMPv6 message with its checksum.
Bytes icmpv6_message(const IpAddress& src, const IpAddress& dst, std::uint8_t type, std::uint8_t code,
                     std::span<const std::uint8_t> body);
// Bodies after type/code/checksum: NS (reserved, target, source LL option) and NA.
Bytes ns_body(const IpAddress& target, const std::optional<Mac>& source_ll);
Bytes na_body(std::uint8_t flags, const IpAddress& target, const std::optional<Mac>& target_ll);
// Unsolicited NA for vip at mac, to all nodes (RFC 4861 7.2.6).
Bytes unsolicited_na_frame(const Mac& mac, const IpAddress& vip, bool router, std::span<const VlanTag> vlans = {});

}  // namespace xvrrp
