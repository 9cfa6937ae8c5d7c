// The one status model of the counters: their names and help texts come from the X tables of
// abi.h (XVRRP_STATS, XVRRP_INST_STATS) and of XVRRP_ROUTER_STATS below, so the status JSON,
// xvrrpctl and (later) metrics cannot drift from the dataplane's enum and struct.
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

// Field by field: a restarted instance's counters go on from where its last life left them.
[[nodiscard]] inline xvrrp_inst_stats operator+(const xvrrp_inst_stats& a, const xvrrp_inst_stats& b) {
    xvrrp_inst_stats out{};
#define XVRRP_INST_STAT_ADD(field, name, help) out.field = a.field + b.field;
    XVRRP_INST_STATS(XVRRP_INST_STAT_ADD)
#undef XVRRP_INST_STAT_ADD
    return out;
}

// What a router itself did, counted as keepalived counts it (vrrp_stats): every advert queued
// for sending (the priority-0 ones among them), every entry into MASTER and every exit from it.
// What it received is counted by XDP (xvrrp_inst_stats above).
#define XVRRP_ROUTER_STATS(X)                                                                      \
    X(adverts_sent, "adverts_sent", "adverts queued for sending (priority 0 included)")           \
    X(priority_zero_sent, "priority_zero_sent", "priority-0 adverts queued (a master resigning)") \
    X(become_master, "become_master", "transitions into MASTER")                                   \
    X(release_master, "release_master", "transitions out of MASTER")

struct RouterCounters {
#define XVRRP_ROUTER_STAT_FIELD(field, name, help) std::uint64_t field = 0;
    XVRRP_ROUTER_STATS(XVRRP_ROUTER_STAT_FIELD)
#undef XVRRP_ROUTER_STAT_FIELD
    bool operator==(const RouterCounters&) const = default;
};

[[nodiscard]] inline RouterCounters operator+(const RouterCounters& a, const RouterCounters& b) {
    RouterCounters out;
#define XVRRP_ROUTER_STAT_ADD(field, name, help) out.field = a.field + b.field;
    XVRRP_ROUTER_STATS(XVRRP_ROUTER_STAT_ADD)
#undef XVRRP_ROUTER_STAT_ADD
    return out;
}

template <class F>
void for_each_router_counter(const RouterCounters& s, F&& f) {
#define XVRRP_ROUTER_STAT_VISIT(field, name, help) f(CounterInfo{name, help}, s.field);
    XVRRP_ROUTER_STATS(XVRRP_ROUTER_STAT_VISIT)
#undef XVRRP_ROUTER_STAT_VISIT
}

}  // namespace xvrrp
