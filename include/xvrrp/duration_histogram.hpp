// How long checks took, as Prometheus histograms count it: fixed upper bounds in seconds, a
// count per bucket, the sum and the count. A value type: the loop records, a snapshot copies.
#pragma once

#include <array>
#include <cstdint>

namespace xvrrp {

struct DurationHistogram {
    // From 0.5 ms (a local TCP connect) to 10 s (a slow script at its timeout).
    static constexpr std::array<double, 14> kBoundsSeconds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                           0.1,    0.25,  0.5,    1,     2.5,  5,     10};
    std::array<std::uint64_t, kBoundsSeconds.size()> buckets{};  // not cumulative: values in (bound[i-1], bound[i]]
    std::uint64_t count = 0;  // every value, those above the last bound too
    double sum_seconds = 0;

    void observe(std::uint64_t ns) {
        const double s = static_cast<double>(ns) / 1e9;
        for (std::size_t i = 0; i < kBoundsSeconds.size(); ++i) {
            if (s <= kBoundsSeconds[i]) {
                ++buckets[i];
                break;
            }
        }
        ++count;
        sum_seconds += s;
    }
};

}  // namespace xvrrp
