// The two-router pair the failover and restart benchmarks run: r1 master (150), r2 backup (100),
// one IPv4 VIP (192.0.2.100/24) on VRID 51, the same settings for xvrrpd and keepalived.
#pragma once

#include <cstdio>
#include <string>

#include "vrrp_lab.hpp"

namespace xvrrp::bench {

constexpr int kMasterPriority = 150, kBackupPriority = 100;

inline std::string pair_keepalived_conf(int priority, int interval_ms) {
    char interval[16];
    std::snprintf(interval, sizeof(interval), "%.2f", interval_ms / 1000.0);
    return "global_defs {\n  router_id bench\n  enable_script_security\n}\n"
           "vrrp_instance gateway {\n  version 3\n  state BACKUP\n  interface vr0\n  virtual_router_id 51\n"
           "  priority " + std::to_string(priority) + "\n  advert_int " + interval +
           "\n  virtual_ipaddress {\n    192.0.2.100/24\n  }\n}\n";
}

inline nlohmann::json pair_xvrrpd_config(const test::VrrpLab& lab, int router, int interval_ms) {
    auto c = lab.config(router, router == 1 ? kMasterPriority : kBackupPriority, interval_ms);
    c["instances"][0]["vips"] = {"192.0.2.100/24"};
    return c;
}

inline bool pair_holds_vip(test::VrrpLab& lab, int i) {
    return lab.router(i).exec("ip -4 addr show dev vr0").find("192.0.2.100/24") != std::string::npos;
}

// Master_Down_Interval of the backup (RFC 9568 6.1), in ms.
inline double pair_master_down_ms(int interval_ms) {
    return 3.0 * interval_ms + (256.0 - kBackupPriority) * interval_ms / 256.0;
}

}  // namespace xvrrp::bench
