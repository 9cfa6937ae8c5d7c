// `xvrrpctl status --keepalived-json`: keepalived's SIGJSON document (vrrp_json.c, the version-1
// layout written to /tmp/keepalived.json: an array of {"data": {...}, "stats": {...}}, one per
// VRRP instance), so what reads keepalived's (keepalived-exporter, dashboards, scripts) reads
// xvrrpd's. A dual-family instance is two keepalived instances: "name" and "name/v6".
// Fields xvrrpd has no counterpart for are left out, never made up: the per-instance error
// counters (packet_len_err, ip_ttl_err, ...: XDP counts those per reason for the whole machine,
// in the status's "dataplane"), strict_mode, lower_prio_no_advert and friends. auth_data is
// masked, as keepalived does since 2.3.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "xvrrp/config.hpp"
#include "xvrrp/counters.hpp"
#include "xvrrp/vrrp_fsm.hpp"

namespace xvrrp::keepalived {

// One router as it stands, beside its configuration.
struct RouterView {
    const config::Instance& cfg;
    std::string iname;  // name, or name/v6 for the IPv6 half of a dual-family instance
    Family family = Family::V4;
    fsm::State state = fsm::State::Initialize;
    std::uint8_t effective_priority = 0;
    std::uint8_t master_priority = 0;     // the master's: heard, or ours as MASTER; 0: none
    std::uint16_t master_adver_int_cs = 0;
    double last_transition = 0;           // seconds since the epoch; 0: none yet
    RouterCounters sent;                  // the driver's
    std::uint64_t adverts_received = 0;   // XDP's: valid adverts
    std::uint64_t priority_zero_received = 0;
};

// keepalived's state numbers: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.
[[nodiscard]] int state_number(fsm::State s);

// One element of the document; `trackers` resolves the instance's track list.
[[nodiscard]] nlohmann::json instance_json(const RouterView& r, const std::map<std::string, config::Tracker>& trackers);

}  // namespace xvrrp::keepalived
