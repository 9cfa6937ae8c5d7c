// bench/run.sh checks: what N health checks at 1 s cost, xvrrpd's built-in http, tcp and icmp
// checks against keepalived running the same checks as vrrp_scripts (curl, bash's /dev/tcp, ping),
// the way keepalived users write them. r1 runs the daemon: one 10 ms master and N checks of one
// kind against r2, where xvrrp-http-stub listens (http and tcp) and the kernel answers pings.
// Readings over one window, per run:
//  - CPU of the daemon and everything it ran: its threads' run time (schedstat, ns) and its reaped
//    children's (cutime + cstime: keepalived's scripts are reaped by its VRRP process), less the
//    same daemon's CPU with no checks, per check; the stub's own CPU is left out of both;
//  - the checks that reached r2, for both daemons alike: its kernel's count of TCP connections
//    accepted (http, tcp) or of echo replies sent (icmp) over the window; xvrrpd's own count
//    beside it, and each of its checks' duration, sampled from its status;
//  - the 10 ms master's adverts on the bridge: lateness = gap - 10 ms, beside a run of the same
//    daemon with no checks at all (N = 0).
// Daemons run in a random order within each N and kind; each run in a fresh lab.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "bench.hpp"
#include "capture.hpp"
#include "proc_cpu.hpp"
#include "stats.hpp"
#include "vrrp_lab.hpp"

namespace xvrrp::bench {

namespace {

using namespace xvrrp::test;
using namespace std::chrono_literals;
using nlohmann::json;

constexpr int kIntervalMs = 10;
const char* const kTarget = "192.0.2.2";

pid_t keepalived_vrrp_child(const VrrpLab& lab) {
    pid_t child = 0;
    std::ifstream(lab.dir() + "/ka-r1-vrrp.pid") >> child;
    return child;
}

json xvrrpd_config(const VrrpLab& lab, const std::string& kind, int n) {
    json c = lab.config(1, 150, kIntervalMs);
    c["instances"][0]["vips"] = {"192.0.2.100/24"};
    json trackers = json::object(), uses = json::array();
    for (int i = 0; i < n; ++i) {
        // Weight 1: a check that fails moves the priority, never the state, so that the adverts'
        // lateness is the loop's alone (keepalived's scripts the same).
        json t = {{"type", kind}, {"interval_ms", 1000}, {"weight", 1}};
        if (kind == "http") t["url"] = std::string("http://") + kTarget + ":8080/";
        if (kind == "tcp") t["address"] = kTarget, t["port"] = 8080;
        if (kind == "icmp") t["address"] = kTarget;
        const std::string name = "c" + std::to_string(i);
        trackers[name] = t;
        uses.push_back(name);
    }
    if (n) {
        c["trackers"] = trackers;
        c["instances"][0]["track"] = uses;
    }
    return c;
}

std::string keepalived_config(const std::string& kind, int n) {
    std::ostringstream c;
    c << "global_defs {\n  router_id checks\n  enable_script_security\n  script_user root\n}\n";
    std::string script;
    if (kind == "http") script = std::string("/usr/bin/curl -s -o /dev/null -f --max-time 1 http://") + kTarget + ":8080/";
    if (kind == "tcp") script = std::string("/bin/bash -c 'exec 3<>/dev/tcp/") + kTarget + "/8080'";
    if (kind == "icmp") script = std::string("/bin/ping -c 1 -W 1 ") + kTarget;
    for (int i = 0; i < n; ++i)
        c << "vrrp_script c" << i << " {\n  script \"" << script << "\"\n  interval 1\n  timeout 1\n  weight 1\n}\n";
    c << "vrrp_instance gateway {\n  version 3\n  state BACKUP\n  interface vr0\n  virtual_router_id 51\n"
         "  priority 150\n  advert_int 0.01\n  virtual_ipaddress {\n    192.0.2.100/24\n  }\n";
    if (n) {
        c << "  track_script {\n";
        for (int i = 0; i < n; ++i) c << "    c" << i << "\n";
        c << "  }\n";
    }
    c << "}\n";
    return c.str();
}

struct Run {
    std::string daemon, kind;
    int n = 0;
    double cores = 0;          // CPU seconds per second of the daemon and its children
    double checks_per_s = 0;   // that reached r2 (its kernel's count)
    double own_count_per_s = 0;  // xvrrpd's own count of checks completed
    double us_per_check = 0;   // CPU per check, above the same daemon with no checks
    std::vector<double> check_ms;  // xvrrpd: sampled check durations
    std::vector<double> late_ms;
    std::uint64_t failures = 0;  // xvrrpd: checks that failed in the window
    bool master = false;         // r1 was MASTER all along
};

// What r2's kernel counted: passive TCP opens (an http or tcp check each) or echo replies.
std::uint64_t served_by_r2(VrrpLab& lab, const std::string& kind) {
    std::istringstream snmp(lab.router(2).exec("cat /proc/net/snmp"));
    const std::string proto = kind == "icmp" ? "Icmp:" : "Tcp:";
    const std::string field = kind == "icmp" ? "OutEchoReps" : "PassiveOpens";
    std::string names, values;
    while (std::getline(snmp, names) && std::getline(snmp, values)) {
        if (!names.starts_with(proto)) continue;
        std::istringstream n(names), v(values);
        for (std::string a, b; n >> a && v >> b;)
            if (a == field) return std::stoull(b);
    }
    return 0;
}

std::uint64_t sum_of(const json& status, const char* key) {
    std::uint64_t n = 0;
    if (status.contains("trackers"))
        for (const auto& t : status["trackers"]) n += t[key].get<std::uint64_t>();
    return n;
}

Run measure(bool keepalived, const std::string& kind, int n, unsigned window_s) {
    Run run{keepalived ? "keepalived" : "xvrrpd", kind, n};
    wait_for_quiet_machine();  // the last run's lab and processes are gone
    VrrpLab lab(2);
    std::error_code ec;
    const std::string stub_dir = lab.dir() + "/stub";
    std::filesystem::create_directories(stub_dir, ec);
    // A fixed reply, served one connection at a time from a deep backlog (--raw).
    std::ofstream(stub_dir + "/raw") << "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
    lab.start_helper(2, {HTTP_STUB_PATH, kTarget, "8080", stub_dir, "--raw"}, "stub.log");
    if (keepalived) lab.start_keepalived(1, keepalived_config(kind, n));
    else lab.start(1, xvrrpd_config(lab, kind, n));
    auto vip_held = [&] { return lab.router(1).exec("ip -4 addr show dev vr0").find("192.0.2.100/24") != std::string::npos; };
    auto is_master = [&] { return keepalived ? vip_held() : lab.state(1) == "MASTER"; };
    if (!VrrpLab::wait_until(is_master, 30s)) {
        std::fprintf(stderr, "checks: %s with %d %s checks never became MASTER\n", run.daemon.c_str(), n, kind.c_str());
        return run;
    }
    std::this_thread::sleep_for(3s);  // every check has run once (their first runs spread over the interval)
    std::vector<pid_t> pids{lab.pid(1)};
    if (keepalived) pids.push_back(keepalived_vrrp_child(lab));
    auto cpu = [&] {
        double s = 0;
        for (pid_t p : pids) s += process_cpu(p).seconds + reaped_children_cpu(p);  // threads in ns, children in ticks
        return s;
    };
    const json before = keepalived ? json() : lab.status(1);
    const std::uint64_t served0 = n ? served_by_r2(lab, kind) : 0;
    const double cpu0 = cpu();
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::int64_t> adverts;
    std::jthread capture([&] {
        for (const SeenAdvert& a : capture_adverts(lab.bridge(), "p1", std::chrono::seconds(window_s)))
            if (a.src == IpAddress::from("192.0.2.1")) adverts.push_back(a.ns);
    });
    // Nothing asks the daemon anything during the window: a status of 1000 trackers is rendered
    // in its loop, and 40 of them (every 500 ms, and the state) made the adverts late by
    // themselves. Mastership is read from the interface; check durations are sampled after.
    bool master_all_along = true;
    while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(window_s)) {
        std::this_thread::sleep_for(500ms);
        master_all_along = master_all_along && vip_held();
    }
    capture.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double used = cpu() - cpu0;
    run.cores = used / seconds;
    if (n) run.checks_per_s = static_cast<double>(served_by_r2(lab, kind) - served0) / seconds;
    if (!keepalived) {
        const json after = lab.status(1);
        run.own_count_per_s = static_cast<double>(sum_of(after, "checks") - sum_of(before, "checks")) / seconds;
        run.failures = sum_of(after, "failures") - sum_of(before, "failures");
    }
    // Each check's last duration, from a few status samples after the window.
    for (int k = 0; k < 4 && !keepalived && n; ++k) {
        const json s = lab.status(1);
        if (s.contains("trackers"))
            for (const auto& t : s["trackers"]) run.check_ms.push_back(t["duration_ms"].get<double>());
        std::this_thread::sleep_for(500ms);
    }
    for (std::size_t i = 1; i < adverts.size(); ++i)
        run.late_ms.push_back(static_cast<double>(adverts[i] - adverts[i - 1]) / 1e6 - kIntervalMs);
    run.master = master_all_along;
    return run;
}

}  // namespace

int run_checks(const ChecksOptions& o) {
    std::mt19937 rng(o.seed);
    std::vector<std::string> daemons{"xvrrpd"};
    if (!o.xvrrpd_only) daemons.push_back("keepalived");
    std::vector<Run> runs;
    auto one = [&](const std::string& daemon, const std::string& kind, int n) {
        std::fprintf(stderr, "checks: %s, %d %s checks...\n", daemon.c_str(), n, kind.c_str());
        runs.push_back(measure(daemon == "keepalived", kind, n, o.window_s));
        const Run& r = runs.back();
        std::fprintf(stderr, "  %.4f cores, %.0f checks/s, advert p99 late %+.3f ms%s\n", r.cores, r.checks_per_s,
                     summarize(r.late_ms).p99, r.master ? "" : " (not MASTER throughout)");
    };
    // The baseline, each daemon with no checks at all, taken before each kind's runs: one quiet
    // window alone would make a noisy reference.
    auto order = daemons;
    for (const auto& kind : o.kinds) {
        std::shuffle(order.begin(), order.end(), rng);
        for (const auto& d : order) one(d, "none", 0);
        for (int n : o.counts) {
            std::shuffle(order.begin(), order.end(), rng);
            for (const auto& d : order) one(d, kind, n);
        }
    }

    auto find = [&](const std::string& daemon, const std::string& kind, int n) -> const Run* {
        for (const auto& r : runs)
            if (r.daemon == daemon && r.kind == kind && r.n == n) return &r;
        return nullptr;
    };
    // The baselines pooled: lateness over all their adverts, CPU their median.
    std::map<std::string, Summary> baseline;
    std::map<std::string, double> base_cores, base_spread;
    for (const auto& d : daemons) {
        std::vector<double> late, cores;
        for (const auto& r : runs)
            if (r.daemon == d && r.n == 0) {
                late.insert(late.end(), r.late_ms.begin(), r.late_ms.end());
                cores.push_back(r.cores);
            }
        baseline[d] = summarize(late);
        const Summary c = summarize(cores);
        base_cores[d] = c.median;
        base_spread[d] = c.max - c.min;
    }
    // Per check: the CPU above the same daemon's with no checks (its adverts, its timers). Where
    // that difference is within the spread of the no-check runs themselves, it is noise: no figure.
    for (auto& r : runs) {
        const double above = r.cores - base_cores[r.daemon];
        if (r.n && r.checks_per_s > 0 && above > base_spread[r.daemon]) r.us_per_check = above / r.checks_per_s * 1e6;
    }

    if (o.json) {
        json out = {{"interval_ms", kIntervalMs}, {"window_s", o.window_s}, {"seed", o.seed},
                    {"cpus", std::thread::hardware_concurrency()}, {"runs", json::array()}};
        for (const auto& r : runs) {
            json j = {{"daemon", r.daemon}, {"kind", r.kind}, {"n", r.n}, {"cores", r.cores},
                      {"checks_per_s", r.checks_per_s}, {"us_per_check", r.us_per_check},
                      {"advert_lateness_ms", summary_json(summarize(r.late_ms))}, {"master_throughout", r.master}};
            if (r.daemon == "xvrrpd") {
                j["check_ms"] = summary_json(summarize(r.check_ms));
                j["failures"] = r.failures;
                j["own_count_per_s"] = r.own_count_per_s;
            }
            if (const Run* k = find("keepalived", r.kind, r.n); k && r.daemon == "xvrrpd" && r.us_per_check > 0 && k->us_per_check > 0)
                j["keepalived_per_check_ratio"] = k->us_per_check / r.us_per_check;
            out["runs"].push_back(j);
        }
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    std::printf("Health checks at 1 s beside a 10 ms master, %u s window per run, daemons in random order (seed %u)\n"
                "CPU: the daemon and the children it reaped (keepalived's scripts), per check and in cores;\n"
                "lateness: gap between the master's adverts on the wire - 10 ms; +p99: above the same daemon with no checks\n",
                o.window_s, o.seed);
    std::printf("%-5s %5s %-10s %8s %9s %10s %7s %11s %11s %9s %9s %8s\n", "kind", "N", "daemon", "cores", "checks/s",
                "us/check", "ratio", "check p50", "check p99", "late p99", "+p99", "late max");
    for (const auto& kind : o.kinds)
        for (int n : o.counts)
            for (const auto& d : daemons) {
                const Run* r = find(d, kind, n);
                if (!r) continue;
                const Summary late = summarize(r->late_ms), chk = summarize(r->check_ms);
                const Run* k = find("keepalived", kind, n);
                char ratio[16] = "-", p50[16] = "-", p99[16] = "-";
                if (d == "xvrrpd" && k && r->us_per_check > 0 && k->us_per_check > 0) std::snprintf(ratio, sizeof ratio, "%.0fx", k->us_per_check / r->us_per_check);
                if (d == "xvrrpd") {
                    std::snprintf(p50, sizeof p50, "%.3f ms", chk.median);
                    std::snprintf(p99, sizeof p99, "%.3f ms", chk.p99);
                }
                char per_check[16] = "<noise";
                if (r->us_per_check > 0) std::snprintf(per_check, sizeof per_check, "%.1f", r->us_per_check);
                std::printf("%-5s %5d %-10s %8.4f %9.0f %10s %7s %11s %11s %+8.3f %+8.3f %+8.3f%s\n", kind.c_str(), n, d.c_str(),
                            r->cores, r->checks_per_s, per_check, ratio, p50, p99, late.p99,
                            late.p99 - baseline[d].p99, late.max, r->master ? "" : "  NOT MASTER THROUGHOUT");
            }
    for (const auto& d : daemons)
        std::printf("no checks: %-10s %.4f cores (median of %zu runs, spread %.4f), late p50 %+.3f p99 %+.3f max %+.3f ms (%zu adverts)\n",
                    d.c_str(), base_cores[d], o.kinds.size(), base_spread[d], baseline[d].median, baseline[d].p99, baseline[d].max, baseline[d].n);
    return 0;
}

}  // namespace xvrrp::bench
