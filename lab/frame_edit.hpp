// Small edits on built frames for negative fixtures, keeping other checks valid.
#pragma once

#include "xvrrp/packet.hpp"

namespace xvrrp::test {

inline Bytes cut(Bytes f, std::size_t n) {
    f.resize(n);
    return f;
}

inline Bytes with_byte(Bytes f, std::size_t off, std::uint8_t v) {
    f.at(off) = v;
    return f;
}

inline Bytes pad_to(Bytes f, std::size_t n) {
    if (f.size() < n) f.resize(n, 0);
    return f;
}

inline void store16_at(Bytes& f, std::size_t off, std::uint16_t v) {
    f.at(off) = static_cast<std::uint8_t>(v >> 8);
    f.at(off + 1) = static_cast<std::uint8_t>(v);
}

inline Bytes fix_ipv4_header_checksum(Bytes f, std::size_t l3 = 14) {
    store16_at(f, l3 + 10, 0);
    store16_at(f, l3 + 10, Checksum().add(std::span(f).subspan(l3, 20)).finish());
    return f;
}

// Recomputes the VRRP checksum of an IPv4 (l4 = l3 + 20) or IPv6 (l4 = l3 + 40) advert.
inline Bytes fix_vrrp_checksum(Bytes f, std::size_t l3 = 14) {
    const bool v6 = (f.at(l3) >> 4) == 6;
    const std::size_t l4 = l3 + (v6 ? 40 : 20);
    const std::size_t len = f.size() - l4;
    IpAddress src, dst;
    src.family = dst.family = v6 ? Family::V6 : Family::V4;
    const std::size_t alen = v6 ? 16 : 4;
    const std::size_t src_off = l3 + (v6 ? 8 : 12);
    std::copy_n(f.begin() + static_cast<std::ptrdiff_t>(src_off), alen, src.bytes.begin());
    std::copy_n(f.begin() + static_cast<std::ptrdiff_t>(src_off + alen), alen, dst.bytes.begin());
    store16_at(f, l4 + 6, 0);
    Checksum c;
    if ((f.at(l4) >> 4) == 3) c.add_pseudo_header(src, dst, kIpProtoVrrp, static_cast<std::uint32_t>(len));
    store16_at(f, l4 + 6, c.add(std::span(f).subspan(l4)).finish());
    return f;
}

}  // namespace xvrrp::test
