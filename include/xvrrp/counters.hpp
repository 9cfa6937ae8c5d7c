// The one status model of the counters: their names and help texts come from the X tables of
// abi.h (XVRRP_STATS, XVRRP_INST_STATS), so the status JSON, xvrrpctl and (later) metrics
// cannot drift from the dataplane's enum and struct.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "xvrrp/abi.h"

namespace xvrrp {

struct CounterInfo {
    std::string_view name;  // as in the status JSON
    std::string_view help;
};

// Global counters, indexed by enum xvrrp_stat.
inline constexpr std::array<CounterInfo, XVRRP_STAT_MAX> kStatInfo{{
#define XVRRP_STAT_INFO(id, name, help) {name, help},
    XVRRP_STATS(XVRRP_STAT_INFO)
#undef XVRRP_STAT_INFO
}};

[[nodiscard]] constexpr std::string_view stat_name(xvrrp_stat stat) {
    return stat < XVRRP_STAT_MAX ? kStatInfo[stat].name : std::string_view{"?"};
}

// Per-instance counters: f(info, value) for each field of xvrrp_inst_stats, in order.
template <class F>
void for_each_instance_counter(const xvrrp_inst_stats& s, F&& f) {
#define XVRRP_INST_STAT_VISIT(field, name, help) f(CounterInfo{name, help}, std::uint64_t{s.field});
    XVRRP_INST_STATS(XVRRP_INST_STAT_VISIT)
#undef XVRRP_INST_STAT_VISIT
}

}  // namespace xvrrp
