// bench/run.sh scale: N instances at 10 ms adverts (IPv6 VIPs from
// 2001:db8::/32, up to 250 VRIDs per segment, one bridge per segment), master
// on r1, backup on r2: CPU seconds per second of each daemon, xvrrpd and
// keepalived side by side in the same run.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "bench.hpp"
#include "vrrp_lab.hpp"

namespace xvrrp::bench {

namespace {

using namespace xvrrp::test;
using namespace std::chrono_literals;
using nlohmann::json;

constexpr int kPerSegment = 250;
constexpr int kIntervalMs = 10;

int segments_for(int n) { return (n + kPerSegment - 1) / kPerSegment; }
std::string ifname(int idx) { return "vr" + std::to_string(idx / kPerSegment); }
int vrid(int idx) { return idx % kPerSegment + 1; }
std::string vip(int idx) {
    char buf[48];
    std::snprintf(buf, sizeof(buf), "2001:db8:%x::%x/64", idx / kPerSegment + 1, vrid(idx));
    return buf;
}

json xvrrpd_config(const VrrpLab& lab, int router, int priority, int n) {
    json c = lab.config(router, priority, kIntervalMs);
    c["interfaces"] = json::object();
    c["instances"] = json::array();
    for (int i = 0; i < n; ++i)
        c["instances"].push_back({{"name", "vr" + std::to_string(i)}, {"interface", ifname(i)}, {"vrid", vrid(i)},
                                  {"priority", priority}, {"advert_interval_ms", kIntervalMs}, {"vips", {vip(i)}},
                                  {"announce", {{"repeat", 1}}}});
    return c;
}

std::string keepalived_config(int priority, int n) {
    std::ostringstream c;
    c << "global_defs {\n  router_id scale\n  enable_script_security\n}\n";
    for (int i = 0; i < n; ++i)
        c << "vrrp_instance vr" << i << " {\n  version 3\n  state BACKUP\n  interface " << ifname(i)
          << "\n  virtual_router_id " << vrid(i) << "\n  priority " << priority
          << "\n  advert_int 0.01\n  virtual_ipaddress {\n    " << vip(i) << "\n  }\n}\n";
    return c.str();
}

// utime and stime of a process, in seconds.
struct Cpu {
    double user = 0, sys = 0;
};
Cpu cpu_times(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    const auto close = text.rfind(')');
    if (close == std::string::npos) return {};
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    unsigned long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
        if (i == 14) utime = std::stoul(field);
        if (i == 15) stime = std::stoul(field);
    }
    const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
    return {static_cast<double>(utime) / hz, static_cast<double>(stime) / hz};
}

pid_t keepalived_vrrp_child(const VrrpLab& lab, int i) {
    pid_t child = 0;
    std::ifstream(lab.dir() + "/ka-r" + std::to_string(i) + "-vrrp.pid") >> child;
    return child;
}

struct Load {
    double master = -1, backup = -1;  // CPU seconds per second
    double master_sys = -1;           // of which in the kernel (sending, and what the send runs inline)
    int masters_on_r1 = 0;
};

int count_masters(VrrpLab& lab, int router, int n, bool keepalived) {
    if (keepalived) {  // VIPs on the interfaces tell who is master
        const std::string addrs = lab.router(router).exec("ip -6 addr show");
        int found = 0;
        for (int i = 0; i < n; ++i) found += addrs.find(vip(i).substr(0, vip(i).find('/'))) != std::string::npos;
        return found;
    }
    const auto s = lab.status(router);
    int found = 0;
    if (s.is_object())
        for (const auto& inst : s["instances"]) found += inst["state"] == "MASTER";
    return found;
}

Load measure(bool keepalived, int n, std::chrono::seconds window) {
    VrrpLab lab(2, segments_for(n));
    for (int r : {1, 2}) {
        const int priority = r == 1 ? 150 : 100;
        if (keepalived) lab.start_keepalived(r, keepalived_config(priority, n));
        else lab.start(r, xvrrpd_config(lab, r, priority, n));
    }
    Load load;
    // Converged: every instance master on r1, none on r2.
    VrrpLab::wait_until([&] { return count_masters(lab, 1, n, keepalived) == n && count_masters(lab, 2, n, keepalived) == 0; },
                        60s);
    std::this_thread::sleep_for(2s);
    load.masters_on_r1 = count_masters(lab, 1, n, keepalived);
    const pid_t master = keepalived ? keepalived_vrrp_child(lab, 1) : lab.pid(1);
    const pid_t backup = keepalived ? keepalived_vrrp_child(lab, 2) : lab.pid(2);
    const Cpu m0 = cpu_times(master), b0 = cpu_times(backup);
    const auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(window);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const Cpu m1 = cpu_times(master), b1 = cpu_times(backup);
    load.master = (m1.user + m1.sys - m0.user - m0.sys) / secs;
    load.master_sys = (m1.sys - m0.sys) / secs;
    load.backup = (b1.user + b1.sys - b0.user - b0.sys) / secs;
    if (keepalived) {
        lab.kill_keepalived(1);
        lab.kill_keepalived(2);
    }
    return load;
}

}  // namespace

int run_scale(const ScaleOptions& o) {
    json rows = json::array();
    try {
        for (int n : o.instances) {
            const Load x = measure(false, n, std::chrono::seconds(o.window_s));
            const Load k = o.xvrrpd_only ? Load{} : measure(true, n, std::chrono::seconds(o.window_s));
            rows.push_back({{"instances", n}, {"segments", segments_for(n)},
                            {"xvrrpd", {{"master_cpu", x.master}, {"master_sys", x.master_sys}, {"backup_cpu", x.backup},
                                        {"converged", x.masters_on_r1}}},
                            {"keepalived", {{"master_cpu", k.master}, {"master_sys", k.master_sys}, {"backup_cpu", k.backup},
                                            {"converged", k.masters_on_r1}}}});
            if (!o.json)
                std::fprintf(stderr, "N=%d done\n", n);
        }
    } catch (const std::exception& e) {
        std::cerr << "bench scale: " << e.what() << "\n";
        return 1;
    }
    if (o.json) {
        std::cout << json{{"advert_interval_ms", kIntervalMs}, {"window_s", o.window_s}, {"scale", rows}}.dump(2) << "\n";
        return 0;
    }
    std::printf("Controller CPU at 10 ms adverts, %u s window (share of one core; master on r1, backup on r2)\n", o.window_s);
    std::printf("%6s %4s %14s %14s %14s %14s %12s\n", "N", "segs", "xvrrpd master", "xvrrpd backup", "keepalived mst",
                "keepalived bkp", "master ratio");
    std::printf("%6s %4s %14s %14s %14s %14s\n", "", "", "(of it kernel)", "", "(of it kernel)", "");
    for (const auto& r : rows) {
        const double xm = r["xvrrpd"]["master_cpu"], xb = r["xvrrpd"]["backup_cpu"];
        const double km = r["keepalived"]["master_cpu"], kb = r["keepalived"]["backup_cpu"];
        std::printf("%6d %4d %13.2f%% %13.2f%% %13.2f%% %13.2f%% %11.2fx   (converged %d/%d)\n", r["instances"].get<int>(),
                    r["segments"].get<int>(), 100 * xm, 100 * xb, 100 * km, 100 * kb, km > 0 ? xm / km : 0.0,
                    r["xvrrpd"]["converged"].get<int>(), r["keepalived"]["converged"].get<int>());
        std::printf("%6s %4s %13.2f%% %14s %13.2f%%\n", "", "", 100 * r["xvrrpd"]["master_sys"].get<double>(), "",
                    100 * r["keepalived"]["master_sys"].get<double>());
    }
    return 0;
}

}  // namespace xvrrp::bench
