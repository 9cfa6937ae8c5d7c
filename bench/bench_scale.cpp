// bench/run.sh scale: N instances at 10 ms adverts (IPv6 VIPs from
// 2001:db8::/32, up to 250 VRIDs per segment, one bridge per segment), master
// on r1, backup on r2: CPU seconds per second of each daemon, xvrrpd and
// keepalived side by side in the same run.
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "bench.hpp"
#include "stats.hpp"
#include "vrrp_lab.hpp"

namespace xvrrp::bench {

namespace {

using namespace xvrrp::test;
using namespace std::chrono_literals;
using nlohmann::json;

constexpr int kIntervalMs = 10;

std::string ifname(int idx) { return "vr" + std::to_string(idx / kVridsPerSegment); }
int vrid(int idx) { return idx % kVridsPerSegment + 1; }
std::string vip(int idx) {
    char buf[48];
    std::snprintf(buf, sizeof(buf), "2001:db8:%x::%x/64", idx / kVridsPerSegment + 1, vrid(idx));
    return buf;
}

json xvrrpd_config(const VrrpLab& lab, int router, int priority, int n, int interval_ms = kIntervalMs) {
    json c = lab.config(router, priority, interval_ms);
    c["interfaces"] = json::object();
    c["instances"] = json::array();
    for (int i = 0; i < n; ++i)
        c["instances"].push_back({{"name", "vr" + std::to_string(i)}, {"interface", ifname(i)}, {"vrid", vrid(i)},
                                  {"priority", priority}, {"advert_interval_ms", interval_ms}, {"vips", {vip(i)}},
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
    double sent_per_s = -1;           // frames r1 actually put on the wire (adverts, a few announcements)
    int masters_on_r1 = 0;
};

// Frames router 1 sent, as its bridge ports counted them.
std::uint64_t sent_by_r1(VrrpLab& lab, int segments) {
    std::uint64_t n = 0;
    for (int k = 0; k < segments; ++k) {
        const std::string port = "p1" + (k ? "s" + std::to_string(k) : std::string());
        n += std::stoull(lab.bridge().exec("cat /sys/class/net/" + port + "/statistics/rx_packets"));
    }
    return n;
}

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
    const std::uint64_t sent0 = sent_by_r1(lab, segments_for(n));
    const auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(window);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const Cpu m1 = cpu_times(master), b1 = cpu_times(backup);
    load.sent_per_s = static_cast<double>(sent_by_r1(lab, segments_for(n)) - sent0) / secs;
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
                                        {"master_sent_per_s", x.sent_per_s},
                                        {"converged", x.masters_on_r1}}},
                            {"keepalived", {{"master_cpu", k.master}, {"master_sys", k.master_sys}, {"backup_cpu", k.backup},
                                            {"master_sent_per_s", k.sent_per_s},
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
    std::printf("Controller CPU at 10 ms adverts, %u s window (share of one core, user+kernel; master r1, backup r2)\n",
                o.window_s);
    std::printf("%5s %4s | %8s %7s %9s %7s | %8s %7s %9s %7s | %9s %9s\n", "N", "segs", "x master", "kernel",
                "sent/s", "backup", "k master", "kernel", "sent/s", "backup", "CPU ratio", "per frame");
    for (const auto& r : rows) {
        const auto& x = r["xvrrpd"];
        const auto& k = r["keepalived"];
        const double xm = x["master_cpu"], km = k["master_cpu"], xs = x["master_sent_per_s"], ks = k["master_sent_per_s"];
        std::printf("%5d %4d | %7.2f%% %6.2f%% %9.0f %6.2f%% | %7.2f%% %6.2f%% %9.0f %6.2f%% | %8.2fx %8.2fx\n",
                    r["instances"].get<int>(), r["segments"].get<int>(), 100 * xm, 100 * x["master_sys"].get<double>(), xs,
                    100 * x["backup_cpu"].get<double>(), 100 * km, 100 * k["master_sys"].get<double>(), ks,
                    100 * k["backup_cpu"].get<double>(), km > 0 ? xm / km : 0.0,
                    km > 0 && ks > 0 && xs > 0 ? (xm / xs) / (km / ks) : 0.0);
    }
    std::printf("CPU ratio: xvrrpd master / keepalived master; per frame: the same per frame actually sent.\n");
    return 0;
}

// ---- bench/run.sh startup ----

namespace {

// The milliseconds the daemon reports in the first log line after `from` that contains `what`
// ("... in N ms)"), waiting up to limit; -1 if none.
double reported_ms(const VrrpLab& lab, std::size_t from, const std::string& what, std::chrono::milliseconds limit) {
    double ms = -1;
    VrrpLab::wait_until([&] {
        const std::string log = lab.log(1);
        const auto at = log.find(what, from);
        if (at == std::string::npos) return false;
        const auto in = log.find(" in ", at);
        const auto end = log.find('\n', at);
        if (in == std::string::npos || in > end) return false;
        ms = std::stod(log.substr(in + 4));
        return true;
    }, limit);
    return ms;
}

}  // namespace

int run_startup(const StartupOptions& o) {
    json rows = json::array();
    constexpr int kInterval = 1000;  // 1 s adverts, the default: start-up is about set-up, not timers
    for (int n : o.instances) {
        std::vector<double> setup, serving, elected, reload_one, reload_all;
        for (unsigned rep = 0; rep < o.repeats; ++rep) {
            VrrpLab lab(1, segments_for(n));
            json c = xvrrpd_config(lab, 1, 100, n, kInterval);
            const auto t0 = std::chrono::steady_clock::now();
            lab.start(1, c);
            auto since = [&] { return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count(); };
            // Serving: the control socket answers with every router.
            if (!VrrpLab::wait_until([&] { const json s = lab.status(1); return s.is_object() && s["instances"].size() == static_cast<std::size_t>(n); }, 120s)) {
                std::cerr << "startup: N = " << n << " never served its status\n" << lab.log(1).substr(0, 4000);
                return 1;
            }
            serving.push_back(since());
            setup.push_back(reported_ms(lab, 0, "xvrrpd running", 1s));
            // Elected: alone, every router becomes master after one Master_Down_Interval (3.6 s).
            if (!VrrpLab::wait_until([&] {
                    const json s = lab.status(1);
                    if (!s.is_object()) return false;
                    for (const auto& i : s["instances"]) if (i["state"] != "MASTER") return false;
                    return true;
                }, 120s)) {
                std::cerr << "startup: N = " << n << " never elected every router\n";
                return 1;
            }
            elected.push_back(since());
            // Reload with one priority changed, then with every priority changed.
            for (bool all : {false, true}) {
                for (int i = 0; i < n; ++i)
                    if (all || i == 0) c["instances"][static_cast<std::size_t>(i)]["priority"] = all ? 120 : 110;
                lab.write_config(1, c);
                const std::size_t from = lab.log(1).size();
                lab.signal(1, SIGHUP);
                const double ms = reported_ms(lab, from, "reload:", 120s);
                (all ? reload_all : reload_one).push_back(ms);
            }
            std::fprintf(stderr, "N = %d run %u: set up %.0f ms, serving %.0f ms, all master %.0f ms, reload one %.0f ms, all %.0f ms\n",
                         n, rep + 1, setup.back(), serving.back(), elected.back(), reload_one.back(), reload_all.back());
        }
        auto med = [](const std::vector<double>& v) { return summarize(v).median; };
        auto mx = [](const std::vector<double>& v) { return summarize(v).max; };
        rows.push_back({{"instances", n}, {"setup_ms_median", med(setup)}, {"setup_ms_max", mx(setup)},
                        {"serving_ms_median", med(serving)}, {"serving_ms_max", mx(serving)},
                        {"all_master_ms_median", med(elected)}, {"all_master_ms_max", mx(elected)},
                        {"reload_one_ms_median", med(reload_one)}, {"reload_one_ms_max", mx(reload_one)},
                        {"reload_all_ms_median", med(reload_all)}, {"reload_all_ms_max", mx(reload_all)}});
    }
    if (o.json) {
        std::cout << json{{"repeats", o.repeats}, {"heartbeat_timeout_ms", 500}, {"rows", rows}}.dump(2) << "\n";
        return 0;
    }
    std::printf("Start-up and reload, IPv6 instances on 250-VRID segments, 1 s adverts, %u runs (median / max, ms)\n", o.repeats);
    std::printf("%6s %15s %15s %17s %15s %15s\n", "N", "set up", "status served", "all MASTER", "reload one", "reload all");
    for (const auto& r : rows)
        std::printf("%6d %7.0f / %5.0f %7.0f / %5.0f %9.0f / %5.0f %7.0f / %5.0f %7.0f / %5.0f\n", r["instances"].get<int>(),
                    r["setup_ms_median"].get<double>(), r["setup_ms_max"].get<double>(), r["serving_ms_median"].get<double>(),
                    r["serving_ms_max"].get<double>(), r["all_master_ms_median"].get<double>(), r["all_master_ms_max"].get<double>(),
                    r["reload_one_ms_median"].get<double>(), r["reload_one_ms_max"].get<double>(),
                    r["reload_all_ms_median"].get<double>(), r["reload_all_ms_max"].get<double>());
    std::printf("(the loop is held for the reload's time: adverts wait, and past heartbeat_timeout_ms XDP stops answering)\n");
    return 0;
}

}  // namespace xvrrp::bench
