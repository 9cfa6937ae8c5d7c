// Many VRRP instances for one router of a lab: IPv6 VIPs from 2001:db8::/32, kVridsPerSegment
// VRIDs on each segment (bridge), instance i on vr<i / 250> with VRID i % 250 + 1.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "bench.hpp"
#include "vrrp_lab.hpp"

namespace xvrrp::bench {

inline std::string many_ifname(int idx) { return "vr" + std::to_string(idx / kVridsPerSegment); }
inline int many_vrid(int idx) { return idx % kVridsPerSegment + 1; }
inline std::string many_vip(int idx) {
    char buf[48];
    std::snprintf(buf, sizeof(buf), "2001:db8:%x::%x/64", idx / kVridsPerSegment + 1, many_vrid(idx));
    return buf;
}

// xvrrpd's configuration of router `router` with n such instances ("vr0", "vr1", ...).
inline nlohmann::json many_instances_config(const test::VrrpLab& lab, int router, int priority, int n, int interval_ms) {
    nlohmann::json c = lab.config(router, priority, interval_ms);
    c["interfaces"] = nlohmann::json::object();
    c["instances"] = nlohmann::json::array();
    for (int i = 0; i < n; ++i)
        c["instances"].push_back({{"name", "vr" + std::to_string(i)}, {"interface", many_ifname(i)}, {"vrid", many_vrid(i)},
                                  {"priority", priority}, {"advert_interval_ms", interval_ms}, {"vips", {many_vip(i)}},
                                  {"announce", {{"repeat", 1}}}});
    return c;
}

}  // namespace xvrrp::bench
