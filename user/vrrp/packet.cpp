#include "xvrrp/packet.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace xvrrp {

namespace {

void put16(Bytes& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}

// Grows then copies: GCC 12's -O3 reports a false array-bounds error for vector::insert here.
void put_bytes(Bytes& out, std::span<const std::uint8_t> data) {
    const std::size_t old = out.size();
    out.resize(old + data.size());
    if (!data.empty()) std::memcpy(out.data() + old, data.data(), data.size());
}

std::uint16_t get16(std::span<const std::uint8_t> d, std::size_t off) {
    return static_cast<std::uint16_t>(d[off] << 8 | d[off + 1]);
}

void store16(Bytes& out, std::size_t off, std::uint16_t v) {
    out[off] = static_cast<std::uint8_t>(v >> 8);
    out[off + 1] = static_cast<std::uint8_t>(v);
}

}  // namespace

// ---- addresses ----

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    std::string s(text);
    IpAddress a;
    if (::inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
        a.family = Family::V4;
        return a;
    }
    if (::inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
        a.family = Family::V6;
        return a;
    }
    return std::nullopt;
}

IpAddress IpAddress::from(std::string_view text) {
    auto a = parse(text);
    if (!a) throw std::invalid_argument("not an IP address: " + std::string(text));
    return *a;
}

bool IpAddress::is_multicast() const { return family == Family::V4 ? (bytes[0] & 0xf0) == 0xe0 : bytes[0] == 0xff; }

bool IpAddress::is_link_local_multicast() const { return family == Family::V6 && bytes[0] == 0xff && (bytes[1] & 0x0f) == 0x02; }

bool IpAddress::is_unspecified() const {
    return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

std::string IpAddress::to_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(family == Family::V4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof(buf));
    return buf;
}

std::optional<Mac> parse_mac(std::string_view text) {
    Mac m{};
    unsigned v[6];
    char tail;
    std::string s(text);
    if (std::sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
        return std::nullopt;
    for (int i = 0; i < 6; ++i) m[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v[i]);
    return m;
}

std::string to_string(const Mac& m) {
    char buf[18];
    std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    return buf;
}

Mac virtual_mac(std::uint8_t vrid, Family family) {
    return {0x00, 0x00, 0x5e, 0x00, static_cast<std::uint8_t>(family == Family::V4 ? 0x01 : 0x02), vrid};
}

IpAddress vrrp_multicast_group(Family family) {
    return IpAddress::from(family == Family::V4 ? "224.0.0.18" : "ff02::12");
}

Mac multicast_mac(const IpAddress& g) {
    if (g.family == Family::V4)  // RFC 1112: 01:00:5e + low 23 bits
        return {0x01, 0x00, 0x5e, static_cast<std::uint8_t>(g.bytes[1] & 0x7f), g.bytes[2], g.bytes[3]};
    return {0x33, 0x33, g.bytes[12], g.bytes[13], g.bytes[14], g.bytes[15]};  // RFC 2464
}

IpAddress solicited_node(const IpAddress& v6) {
    IpAddress s = IpAddress::from("ff02::1:ff00:0");
    std::copy(v6.bytes.begin() + 13, v6.bytes.end(), s.bytes.begin() + 13);
    return s;
}

// ---- checksum ----

Checksum& Checksum::add(std::span<const std::uint8_t> data) {
    for (std::uint8_t b : data) {
        sum_ += odd_ ? b : static_cast<std::uint64_t>(b) << 8;
        odd_ = !odd_;
    }
    return *this;
}

Checksum& Checksum::add16(std::uint16_t word) {
    const std::uint8_t b[2] = {static_cast<std::uint8_t>(word >> 8), static_cast<std::uint8_t>(word)};
    return add(b);
}

Checksum& Checksum::add32(std::uint32_t word) {
    add16(static_cast<std::uint16_t>(word >> 16));
    return add16(static_cast<std::uint16_t>(word));
}

Checksum& Checksum::add_pseudo_header(const IpAddress& src, const IpAddress& dst, std::uint8_t proto,
                                      std::uint32_t length) {
    add(src.view()).add(dst.view());
    if (src.family == Family::V4) return add16(proto).add16(static_cast<std::uint16_t>(length));
    return add32(length).add32(proto);
}

std::uint16_t Checksum::finish() const {
    std::uint64_t s = sum_;
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<std::uint16_t>(~s);
}

// ---- VRRP ----

Bytes encode_vrrp(const VrrpAdvert& a, const IpAddress& src, const IpAddress& dst, VrrpChecksum mode) {
    Bytes m;
    m.push_back(static_cast<std::uint8_t>(a.version << 4 | 1));
    m.push_back(a.vrid);
    m.push_back(a.priority);
    m.push_back(static_cast<std::uint8_t>(a.addresses.size()));
    if (a.version == 2) {
        m.push_back(a.auth_type);
        m.push_back(static_cast<std::uint8_t>(a.adver_int_cs / 100));
    } else {
        put16(m, a.adver_int_cs & 0x0fff);
    }
    put16(m, 0);
    for (const IpAddress& addr : a.addresses) put_bytes(m, addr.view());
    if (a.version == 2) put_bytes(m, a.auth_data);

    Checksum c;
    if (a.version == 3 && mode == VrrpChecksum::Standard)
        c.add_pseudo_header(src, dst, kIpProtoVrrp, static_cast<std::uint32_t>(m.size()));
    store16(m, 6, c.add(m).finish());
    return m;
}

VrrpDecoded decode_vrrp(std::span<const std::uint8_t> m, const IpAddress& src, const IpAddress& dst,
                        VrrpChecksum mode) {
    if (m.size() < 8) return {std::nullopt, "truncated header"};
    VrrpAdvert a;
    a.version = m[0] >> 4;
    if (a.version != 2 && a.version != 3) return {std::nullopt, "version " + std::to_string(a.version)};
    if (a.version == 2 && src.family != Family::V4) return {std::nullopt, "VRRPv2 over IPv6"};
    if ((m[0] & 0x0f) != 1) return {std::nullopt, "type " + std::to_string(m[0] & 0x0f)};
    a.vrid = m[1];
    a.priority = m[2];
    const std::size_t count = m[3];
    const std::size_t alen = src.size();
    const std::size_t need = 8 + count * alen + (a.version == 2 ? 8 : 0);
    if (m.size() < need) return {std::nullopt, "address count larger than the message"};

    Checksum c;
    if (a.version == 3 && mode == VrrpChecksum::Standard)
        c.add_pseudo_header(src, dst, kIpProtoVrrp, static_cast<std::uint32_t>(m.size()));
    if (c.add(m).finish() != 0) return {std::nullopt, "bad checksum"};

    if (a.version == 2) {
        a.auth_type = m[4];
        a.adver_int_cs = static_cast<std::uint16_t>(m[5] * 100);
        std::copy_n(m.begin() + static_cast<std::ptrdiff_t>(need - 8), 8, a.auth_data.begin());
    } else {
        a.adver_int_cs = get16(m, 4) & 0x0fff;
    }
    for (std::size_t i = 0; i < count; ++i) {
        IpAddress addr;
        addr.family = src.family;
        std::copy_n(m.begin() + static_cast<std::ptrdiff_t>(8 + i * alen), alen, addr.bytes.begin());
        a.addresses.push_back(addr);
    }
    return {a, {}};
}

// ---- layers ----

Bytes ethernet_frame(const Mac& dst, const Mac& src, std::uint16_t ethertype, std::span<const std::uint8_t> payload,
                     std::span<const VlanTag> vlans) {
    Bytes f;
    f.reserve(14 + 4 * vlans.size() + payload.size());
    put_bytes(f, dst);
    put_bytes(f, src);
    for (const VlanTag& t : vlans) {
        put16(f, t.tpid);
        put16(f, t.vid & 0x0fff);
    }
    put16(f, ethertype);
    put_bytes(f, payload);
    return f;
}

Bytes ipv4_packet(const IpAddress& src, const IpAddress& dst, std::uint8_t proto, std::uint8_t ttl,
                  std::span<const std::uint8_t> payload) {
    Bytes p;
    p.push_back(0x45);
    p.push_back(0xc0);  // DSCP CS6, as routing protocols (and keepalived) send
    put16(p, static_cast<std::uint16_t>(20 + payload.size()));
    put16(p, 0);  // id
    put16(p, 0);  // flags, fragment offset
    p.push_back(ttl);
    p.push_back(proto);
    put16(p, 0);
    put_bytes(p, src.view());
    put_bytes(p, dst.view());
    store16(p, 10, Checksum().add(p).finish());
    put_bytes(p, payload);
    return p;
}

Bytes ipv6_packet(const IpAddress& src, const IpAddress& dst, std::uint8_t next_header, std::uint8_t hop_limit,
                  std::span<const std::uint8_t> payload) {
    Bytes p{0x60, 0, 0, 0};
    put16(p, static_cast<std::uint16_t>(payload.size()));
    p.push_back(next_header);
    p.push_back(hop_limit);
    put_bytes(p, src.view());
    put_bytes(p, dst.view());
    put_bytes(p, payload);
    return p;
}

Bytes vrrp_frame(const Mac& src_mac, const IpAddress& src, const IpAddress& dst, const VrrpAdvert& advert,
                 VrrpChecksum mode, std::span<const VlanTag> vlans) {
    const Bytes msg = encode_vrrp(advert, src, dst, mode);
    const bool v4 = src.family == Family::V4;
    const Bytes ip = v4 ? ipv4_packet(src, dst, kIpProtoVrrp, kVrrpTtl, msg)
                        : ipv6_packet(src, dst, kIpProtoVrrp, kVrrpTtl, msg);
    // Unicast peers: the caller sends on a socket that resolves the MAC; the frame keeps the group MAC.
    const Mac dst_mac = multicast_mac(dst.is_multicast() ? dst : vrrp_multicast_group(src.family));
    return ethernet_frame(dst_mac, src_mac, v4 ? kEthIpv4 : kEthIpv6, ip, vlans);
}

Bytes arp_packet(std::uint16_t op, const Mac& sha, const IpAddress& spa, const Mac& tha, const IpAddress& tpa) {
    Bytes p;
    put16(p, 1);  // Ethernet
    put16(p, kEthIpv4);
    p.push_back(6);
    p.push_back(4);
    put16(p, op);
    put_bytes(p, sha);
    put_bytes(p, spa.view());
    put_bytes(p, tha);
    put_bytes(p, tpa.view());
    return p;
}

Bytes garp_frame(const Mac& mac, const IpAddress& vip, std::span<const VlanTag> vlans) {
    const Bytes arp = arp_packet(kArpRequest, mac, vip, Mac{}, vip);
    return ethernet_frame(kBroadcastMac, mac, kEthArp, arp, vlans);
}

Bytes icmpv6_message(const IpAddress& src, const IpAddress& dst, std::uint8_t type, std::uint8_t code,
                     std::span<const std::uint8_t> body) {
    Bytes m{type, code, 0, 0};
    put_bytes(m, body);
    Checksum c;
    c.add_pseudo_header(src, dst, kIpProtoIcmpv6, static_cast<std::uint32_t>(m.size()));
    store16(m, 2, c.add(m).finish());
    return m;
}

namespace {
Bytes nd_body(std::uint8_t flags, const IpAddress& target, std::uint8_t option, const std::optional<Mac>& ll) {
    Bytes b{flags, 0, 0, 0};
    put_bytes(b, target.view());
    if (ll) {
        b.push_back(option);
        b.push_back(1);  // length in units of 8 bytes
        put_bytes(b, *ll);
    }
    return b;
}
}  // namespace

Bytes ns_body(const IpAddress& target, const std::optional<Mac>& source_ll) {
    return nd_body(0, target, 1, source_ll);
}

Bytes na_body(std::uint8_t flags, const IpAddress& target, const std::optional<Mac>& target_ll) {
    return nd_body(flags, target, 2, target_ll);
}

Bytes unsolicited_na_frame(const Mac& mac, const IpAddress& vip, bool router, std::span<const VlanTag> vlans) {
    const IpAddress all_nodes = IpAddress::from("ff02::1");
    const auto flags = static_cast<std::uint8_t>(kNaOverride | (router ? kNaRouter : 0));
    const Bytes icmp = icmpv6_message(vip, all_nodes, kNdNeighborAdvert, 0, na_body(flags, vip, mac));
    const Bytes ip = ipv6_packet(vip, all_nodes, kIpProtoIcmpv6, 255, icmp);
    return ethernet_frame(multicast_mac(all_nodes), mac, kEthIpv6, ip, vlans);
}

}  // namespace xvrrp
