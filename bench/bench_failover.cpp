// bench/run.sh failover: a client pings the VIP every millisecond; the
// master's link is cut; the longest gap between replies is the failover time.
// xvrrpd and keepalived with the same settings, in the same run.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench.hpp"
#include "vrrp_lab.hpp"

namespace xvrrp::bench {

namespace {

using namespace xvrrp::test;
using namespace std::chrono_literals;

constexpr int kMasterPriority = 150, kBackupPriority = 100;

std::string keepalived_conf(int priority, int interval_ms) {
    char interval[16];
    std::snprintf(interval, sizeof(interval), "%.2f", interval_ms / 1000.0);
    return "global_defs {\n  router_id bench\n  enable_script_security\n}\n"
           "vrrp_instance gateway {\n  version 3\n  state BACKUP\n  interface vr0\n  virtual_router_id 51\n"
           "  priority " + std::to_string(priority) + "\n  advert_int " + interval +
           "\n  virtual_ipaddress {\n    192.0.2.100/24\n  }\n}\n";
}

bool holds_vip(VrrpLab& lab, int i) {
    return lab.router(i).exec("ip -4 addr show dev vr0").find("192.0.2.100/24") != std::string::npos;
}

// One failover; the longest gap in ms, or -1 when the pair never converged.
double one_failover(bool keepalived, int interval_ms) {
    VrrpLab lab(2);
    for (int i : {1, 2}) {
        const int priority = i == 1 ? kMasterPriority : kBackupPriority;
        if (keepalived) {
            lab.start_keepalived(i, keepalived_conf(priority, interval_ms));
        } else {
            auto c = lab.config(i, priority, interval_ms);
            c["instances"][0]["vips"] = {"192.0.2.100/24"};
            lab.start(i, c);
        }
    }
    const auto mdi = std::chrono::milliseconds(3 * interval_ms + (256 - kBackupPriority) * interval_ms / 256);
    if (!VrrpLab::wait_until([&] { return holds_vip(lab, 1) && !holds_vip(lab, 2); }, 4 * mdi + 5s)) return -1;
    std::this_thread::sleep_for(2 * mdi + 200ms);  // settled: backups have heard the master
    if (lab.client().exec_status("ping -c 1 -W 1 192.0.2.100") != 0) return -1;
    const auto span = mdi + 1500ms;
    lab.start_ping("192.0.2.100", static_cast<int>(span.count()), 0.001);
    std::this_thread::sleep_for(500ms);
    lab.bridge().exec("ip link set p1 down");
    const double gap = lab.finish_ping_longest_gap_ms();
    return holds_vip(lab, 2) ? gap : -1;
}

struct Row {
    int interval_ms;
    double expected_ms;  // 3 x interval + skew of the backup
    std::vector<double> xvrrpd, keepalived;
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? -1 : v[v.size() / 2];
}

double worst(const std::vector<double>& v) {
    return v.empty() ? -1 : *std::max_element(v.begin(), v.end());
}

}  // namespace

int run_failover(const FailoverOptions& o) {
    std::vector<Row> rows;
    try {
        for (int interval : {1000, 100, 10}) {
            Row r{interval, 3.0 * interval + (256 - kBackupPriority) * interval / 256.0, {}, {}};
            for (unsigned run = 0; run < o.runs; ++run) {  // alternate, so drift hits both alike
                r.xvrrpd.push_back(one_failover(false, interval));
                r.keepalived.push_back(one_failover(true, interval));
            }
            rows.push_back(r);
            if (!o.json)
                std::fprintf(stderr, "interval %d ms done: xvrrpd %.1f ms, keepalived %.1f ms (median)\n", interval,
                             median(r.xvrrpd), median(r.keepalived));
        }
    } catch (const std::exception& e) {
        std::cerr << "bench failover: " << e.what() << "\n";
        return 1;
    }
    if (o.json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& r : rows)
            out.push_back({{"advert_interval_ms", r.interval_ms}, {"expected_ms", r.expected_ms},
                           {"xvrrpd_gaps_ms", r.xvrrpd}, {"keepalived_gaps_ms", r.keepalived},
                           {"xvrrpd_median_ms", median(r.xvrrpd)}, {"keepalived_median_ms", median(r.keepalived)}});
        std::cout << nlohmann::json{{"runs", o.runs}, {"failover", out}}.dump(2) << "\n";
        return 0;
    }
    std::printf("Failover: longest gap in a 1 ms ping to the VIP when the master's link is cut (%u runs each)\n", o.runs);
    std::printf("%9s %12s %17s %17s %13s\n", "interval", "3xint+skew", "xvrrpd med/worst", "keepalived med/w", "xvrrpd-expect");
    for (const auto& r : rows)
        std::printf("%7d ms %9.1f ms %8.1f/%6.1f ms %8.1f/%6.1f ms %+10.1f ms\n", r.interval_ms, r.expected_ms, median(r.xvrrpd),
                    worst(r.xvrrpd), median(r.keepalived), worst(r.keepalived), median(r.xvrrpd) - r.expected_ms);
    return 0;
}

}  // namespace xvrrp::bench
