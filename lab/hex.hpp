// Hex helpers for fixtures and failure messages.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "xvrrp/packet.hpp"

namespace xvrrp::test {

inline Bytes from_hex(std::string_view hex) {
    Bytes out;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        throw std::invalid_argument("bad hex digit");
    };
    std::string digits;
    for (char c : hex)
        if (c != ' ' && c != '\n' && c != ':') digits += c;
    if (digits.size() % 2) throw std::invalid_argument("odd hex length");
    for (std::size_t i = 0; i < digits.size(); i += 2)
        out.push_back(static_cast<std::uint8_t>(nibble(digits[i]) << 4 | nibble(digits[i + 1])));
    return out;
}

inline std::string to_hex(std::span<const std::uint8_t> bytes) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (i && i % 16 == 0) s += '\n';
        else if (i) s += ' ';
        s += digits[bytes[i] >> 4];
        s += digits[bytes[i] & 15];
    }
    return s;
}

}  // namespace xvrrp::test
