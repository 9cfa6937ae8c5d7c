// Log lines that a flood could repeat (a refused send per advert, a missed event per router) are
// let through a few per period; the rest are counted, and the next line let through says so.
#pragma once

#include <cstdint>
#include <optional>

namespace xvrrp {

class LogLimit {
public:
    using Nanos = std::uint64_t;
    LogLimit(unsigned burst, Nanos period) : burst_(burst), period_(period) {}

    // Whether to log now; if so, how many lines were held back since the last one let through.
    std::optional<std::uint64_t> allow(Nanos now) {
        if (!window_start_ || now - *window_start_ >= period_) {
            window_start_ = now;
            used_ = 0;
        }
        if (used_ >= burst_) {
            ++held_back_;
            return std::nullopt;
        }
        ++used_;
        const std::uint64_t held = held_back_;
        held_back_ = 0;
        return held;
    }

private:
    unsigned burst_;
    Nanos period_;
    std::optional<Nanos> window_start_;
    unsigned used_ = 0;
    std::uint64_t held_back_ = 0;
};

}  // namespace xvrrp
