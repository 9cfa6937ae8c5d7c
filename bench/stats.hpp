// Summaries the benchmarks report: never a single figure, always its spread.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <vector>

namespace xvrrp::bench {

struct Summary {
    std::size_t n = 0;
    double min = 0, median = 0, p95 = 0, p99 = 0, max = 0;
};

// Nearest-rank percentiles of the samples (sorted here); all zero when there are none.
inline Summary summarize(std::vector<double> v) {
    Summary s;
    s.n = v.size();
    if (v.empty()) return s;
    std::sort(v.begin(), v.end());
    auto rank = [&](double q) {  // the smallest sample with at least q of them at or below it
        const auto r = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
        return v[std::clamp<std::size_t>(r, 1, v.size()) - 1];
    };
    s.min = v.front();
    s.median = rank(0.5);
    s.p95 = rank(0.95);
    s.p99 = rank(0.99);
    s.max = v.back();
    return s;
}

// As the benchmarks' JSON reports a summary: n, min, median, p95, p99, max.
inline nlohmann::json summary_json(const Summary& s) {
    return {{"n", s.n}, {"min", s.min}, {"median", s.median}, {"p95", s.p95}, {"p99", s.p99}, {"max", s.max}};
}
inline nlohmann::json summary_json(const std::vector<double>& v) { return summary_json(summarize(v)); }

}  // namespace xvrrp::bench
