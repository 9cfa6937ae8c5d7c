#include "xvrrp/tracking.hpp"

#include <algorithm>
#include <cstdlib>

namespace xvrrp::track {

Effect up_down_effect(int weight, bool reverse, bool up) {
    const bool counts_as_up = up != reverse;
    if (weight == 0) return Effect{.delta = 0, .fault = !counts_as_up};
    if (weight > 0) return Effect{.delta = counts_as_up ? weight : 0};
    return Effect{.delta = counts_as_up ? 0 : weight};
}

Effect file_effect(long long value, int weight, bool reverse) {
    if (weight == 0) return Effect{.delta = 0, .fault = value != 0};
    // Clamped before multiplying: a huge value must not overflow.
    const long long v = std::clamp<long long>(value, -1'000'000, 1'000'000) * weight * (reverse ? -1 : 1);
    const auto delta = static_cast<int>(std::clamp<long long>(v, kFaultValue, kMaxWeight));
    if (delta == kFaultValue) return Effect{.delta = 0, .fault = true};
    return Effect{.delta = delta};
}

long long parse_file_value(std::string_view text) {
    const std::string s(text.substr(0, 64));  // a number is short; the rest cannot change it
    return std::strtoll(s.c_str(), nullptr, 0);  // 0 when nothing parses, LLONG_MIN/MAX when out of range
}

std::uint8_t effective_priority(std::uint8_t base, int delta) {
    if (base == 255) return base;
    return static_cast<std::uint8_t>(std::clamp(int{base} + delta, 1, 254));
}

RiseFall::RiseFall(std::uint32_t rise, std::uint32_t fall, bool init_fail)
    : rise_(std::max(rise, 1u)), fall_(std::max(fall, 1u)), count_(init_fail ? 0 : rise_), up_(!init_fail) {}

bool RiseFall::feed(bool ok) {
    const std::uint32_t top = rise_ + fall_ - 1;
    if (ok) {
        if (up_) {
            count_ = top;
            return false;
        }
        if (++count_ < rise_) return false;
        count_ = top;
        up_ = true;
        return true;
    }
    if (!up_) {
        count_ = 0;
        return false;
    }
    if (count_ > rise_) {
        --count_;
        return false;
    }
    count_ = 0;
    up_ = false;
    return true;
}

}  // namespace xvrrp::track
