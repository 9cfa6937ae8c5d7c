// bench/run.sh scale: N instances (IPv6 VIPs from 2001:db8::/32, up to 250 VRIDs per segment, one
// bridge per segment), master on r1, backup on r2, xvrrpd and keepalived in a random order in each
// repeat. Three readings of the same window:
//  - each daemon process: CPU time of all its threads (schedstat, ns), a figure above the thread
//    count is flagged as impossible rather than reported;
//  - the whole machine, from /proc/stat: on veth a send runs the receivers' path (bridge, the
//    other routers' XDP) inline, so a per-process figure moves work between sender and receiver;
//    the machine's total cannot. The lab's own background (measured for half a window after the
//    daemons stop) is taken off;
//  - the frames r1 put on the wire (its bridge ports' counters) against the adverts due.
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "bench.hpp"
#include "many_instances.hpp"
#include "proc_cpu.hpp"
#include "stats.hpp"
#include "vrrp_lab.hpp"

namespace xvrrp::bench {

namespace {

using namespace xvrrp::test;
using namespace std::chrono_literals;
using nlohmann::json;

std::string keepalived_config(int priority, int n, int interval_ms) {
    std::ostringstream c;
    c << "global_defs {\n  router_id scale\n  enable_script_security\n}\n";
    char interval[16];
    std::snprintf(interval, sizeof(interval), "%g", interval_ms / 1000.0);
    for (int i = 0; i < n; ++i)
        c << "vrrp_instance vr" << i << " {\n  version 3\n  state BACKUP\n  interface " << many_ifname(i)
          << "\n  virtual_router_id " << many_vrid(i) << "\n  priority " << priority << "\n  advert_int " << interval
          << "\n  virtual_ipaddress {\n    " << many_vip(i) << "\n  }\n}\n";
    return c.str();
}

pid_t keepalived_vrrp_child(const VrrpLab& lab, int i) {
    pid_t child = 0;
    std::ifstream(lab.dir() + "/ka-r" + std::to_string(i) + "-vrrp.pid") >> child;
    return child;
}

// Frames router 1 sent, as its bridge ports counted them: one `ip -s link` for every port, so
// the reading takes one process however many segments there are.
std::uint64_t sent_by_r1(VrrpLab& lab, int segments) {
    const json links = json::parse(lab.bridge().exec("ip -j -s link show"));
    std::uint64_t n = 0;
    for (int k = 0; k < segments; ++k) {
        const std::string port = "p1" + (k ? "s" + std::to_string(k) : std::string());
        for (const auto& l : links)
            if (l.value("ifname", "") == port) n += l["stats64"]["rx"]["packets"].get<std::uint64_t>();
    }
    return n;
}

int count_masters(VrrpLab& lab, int router, int n, bool keepalived) {
    if (keepalived) {  // VIPs on the interfaces tell who is master
        const std::string addrs = lab.router(router).exec("ip -6 addr show");
        int found = 0;
        for (int i = 0; i < n; ++i) found += addrs.find(many_vip(i).substr(0, many_vip(i).find('/'))) != std::string::npos;
        return found;
    }
    const auto s = lab.status(router);
    int found = 0;
    if (s.is_object())
        for (const auto& inst : s["instances"]) found += inst["state"] == "MASTER";
    return found;
}

// One window's readings; CPU figures in cores (CPU seconds per second).
struct Load {
    double master = 0, backup = 0;
    double master_sys_share = 0;
    int master_threads = 0, backup_threads = 0;
    double system = 0;       // the whole machine while the pair runs, minus the idle lab
    double idle_system = 0;  // the same lab after the daemons stopped
    double steal = 0;
    double sent_per_s = 0, due_per_s = 0;
    int masters_on_r1 = 0, masters_on_r2 = 0;
    bool converged = false;
    bool watched_all = false;    // xvrrpd: every backup's master watched (kernel timer or the daemon's sweep)
    double watched_after_s = 0;  // how long after convergence that took (60 s at most)
    int kernel_timers = 0;       // of them, watched by a kernel timer after the window (the rest: the sweep)
    bool impossible = false;  // a process above its thread count, or the machine above its CPUs
};

Load measure(bool keepalived, int n, int interval_ms, std::chrono::seconds window) {
    VrrpLab lab(2, segments_for(n));
    const double cpus = static_cast<double>(std::thread::hardware_concurrency());
    Load load;
    wait_for_quiet_machine();
    for (int r : {1, 2}) {
        const int priority = r == 1 ? 150 : 100;
        if (keepalived) lab.start_keepalived(r, keepalived_config(priority, n, interval_ms));
        else lab.start(r, many_instances_config(lab, r, priority, n, interval_ms));
    }
    // Converged: every instance master on r1, none on r2. A pair that never gets there is
    // measured all the same and reported as such.
    load.converged = VrrpLab::wait_until(
        [&] { return count_masters(lab, 1, n, keepalived) == n && count_masters(lab, 2, n, keepalived) == 0; }, 60s);
    // xvrrpd's backup is in its steady state once every master is watched: by XDP's kernel timer,
    // or where the kernel gave none (it refuses timers past a few hundred on 6.18) by the daemon's
    // sweep of the peer entries. Until then its own timers poll (see "The dataplane").
    auto watched = [&](bool kernel_only) {
        int count = 0;
        const json s = lab.status(2);
        if (s.is_object())
            for (const auto& inst : s["instances"])
                count += inst["master_down_timer"] == "kernel" || (!kernel_only && inst["master_down_timer"] == "sweep");
        return count;
    };
    if (!keepalived && load.converged) {
        const auto t0 = std::chrono::steady_clock::now();
        load.watched_all = VrrpLab::wait_until([&] { return watched(false) == n; }, 60s);
        load.watched_after_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    // Past the announcements' second burst (keepalived's garp_master_delay, 5 s): the window
    // measures the steady state.
    std::this_thread::sleep_for(6s);
    const pid_t master = keepalived ? keepalived_vrrp_child(lab, 1) : lab.pid(1);
    const pid_t backup = keepalived ? keepalived_vrrp_child(lab, 2) : lab.pid(2);
    // Each reading has its own clock: reading the frame counters starts a process, slow under
    // load, and must not stretch or shrink the CPU window (a keepalived under load read as 2.7
    // cores on this 2-CPU machine when it did). The counters' window is timed from the middle
    // of each reading.
    auto timed_sent = [&] {
        const auto before = std::chrono::steady_clock::now();
        const std::uint64_t sent = sent_by_r1(lab, segments_for(n));
        return std::pair{sent, before + (std::chrono::steady_clock::now() - before) / 2};
    };
    const auto [sent0, sent_t0] = timed_sent();
    const auto t0 = std::chrono::steady_clock::now();
    const ProcessCpu m0 = process_cpu(master), b0 = process_cpu(backup);
    const SystemCpu s0 = system_cpu();
    std::this_thread::sleep_for(window);
    const ProcessCpu m1 = process_cpu(master), b1 = process_cpu(backup);
    const SystemCpu s1 = system_cpu();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto [sent1, sent_t1] = timed_sent();
    if (!keepalived) load.kernel_timers = watched(true);
    const double sent_secs = std::chrono::duration<double>(sent_t1 - sent_t0).count();
    load.masters_on_r1 = count_masters(lab, 1, n, keepalived);
    load.masters_on_r2 = count_masters(lab, 2, n, keepalived);
    load.sent_per_s = static_cast<double>(sent1 - sent0) / sent_secs;
    load.due_per_s = n * 1000.0 / interval_ms;
    load.master = (m1.seconds - m0.seconds) / secs;
    load.master_sys_share = m1.sys_share;
    load.backup = (b1.seconds - b0.seconds) / secs;
    load.master_threads = m1.threads;
    load.backup_threads = b1.threads;
    const double system = (s1.busy - s0.busy) / secs;
    load.steal = (s1.steal - s0.steal) / secs;
    // The process's threads could not have run longer than the window each, nor the machine on
    // more CPUs than it has (5% allowed for the readings' own granularity).
    load.impossible = m1.threads == 0 || b1.threads == 0 || load.master > 1.05 * m1.threads ||
                      load.backup > 1.05 * b1.threads || system > 1.05 * cpus;
    // The same lab with the daemons gone, settled: what the machine does without them.
    for (int r : {1, 2}) {
        if (keepalived) {
            lab.kill_keepalived(r);
        } else {
            lab.signal(r, SIGTERM);
            lab.wait_exit(r, 10s);
        }
    }
    wait_for_quiet_machine();
    const SystemCpu i0 = system_cpu();
    const auto idle_t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(window / 2);
    const double idle_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - idle_t0).count();
    load.idle_system = (system_cpu().busy - i0.busy) / idle_secs;
    load.system = system - load.idle_system;
    return load;
}

json to_json(const Load& l) {
    return {{"master_cpu", l.master}, {"master_sys_share", l.master_sys_share}, {"master_threads", l.master_threads},
            {"backup_cpu", l.backup}, {"backup_threads", l.backup_threads}, {"system_cpu", l.system},
            {"idle_lab_cpu", l.idle_system}, {"steal", l.steal}, {"sent_per_s", l.sent_per_s},
            {"due_per_s", l.due_per_s}, {"masters_on_r1", l.masters_on_r1}, {"masters_on_r2", l.masters_on_r2},
            {"converged", l.converged}, {"watched_all", l.watched_all},
            {"watched_after_s", l.watched_after_s}, {"kernel_timers", l.kernel_timers}, {"impossible", l.impossible}};
}

// Median with the spread over the repeats: "median (min-max)".
std::string spread(const std::vector<double>& v, double scale, const char* fmt) {
    const Summary s = summarize(v);
    char med[32], lo[32], hi[32], out[112];
    std::snprintf(med, sizeof(med), fmt, s.median * scale);
    std::snprintf(lo, sizeof(lo), fmt, s.min * scale);
    std::snprintf(hi, sizeof(hi), fmt, s.max * scale);
    std::snprintf(out, sizeof(out), "%s (%s-%s)", med, lo, hi);
    return out;
}

}  // namespace

int run_scale(const ScaleOptions& o) {
    json rows = json::array();
    std::mt19937 rng(o.seed);
    try {
        for (int interval : o.intervals) {
            for (int n : o.instances) {
                if (interval < 100 && n > o.max_at_10ms) continue;
                json runs = json::array();
                for (unsigned rep = 0; rep < o.repeats; ++rep) {
                    std::vector<bool> order{false, true};
                    if (o.xvrrpd_only) order = {false};
                    std::shuffle(order.begin(), order.end(), rng);
                    json run = json::object();
                    for (bool keepalived : order) {
                        const Load l = measure(keepalived, n, interval, std::chrono::seconds(o.window_s));
                        run[keepalived ? "keepalived" : "xvrrpd"] = to_json(l);
                        std::fprintf(stderr,
                                     "%d ms N=%d run %u %s: master %.2f%% backup %.3f%% system %.1f%% (idle lab %.1f%%) "
                                     "sent %.0f/%.0f /s, all watched after %.0f s, %d by kernel timers%s%s\n",
                                     interval, n, rep + 1, keepalived ? "keepalived" : "xvrrpd", 100 * l.master,
                                     100 * l.backup, 100 * l.system, 100 * l.idle_system, l.sent_per_s, l.due_per_s,
                                     l.watched_after_s, l.kernel_timers,
                                     l.converged ? "" : " NOT CONVERGED", l.impossible ? " IMPOSSIBLE READING" : "");
                    }
                    runs.push_back(run);
                }
                rows.push_back({{"interval_ms", interval}, {"instances", n}, {"segments", segments_for(n)}, {"runs", runs}});
            }
        }
    } catch (const std::exception& e) {
        std::cerr << "bench scale: " << e.what() << "\n";
        return 1;
    }
    if (o.json) {
        std::cout << json{{"window_s", o.window_s}, {"repeats", o.repeats}, {"seed", o.seed},
                          {"cpus", std::thread::hardware_concurrency()}, {"scale", rows}}
                         .dump(2)
                  << "\n";
        return 0;
    }
    std::printf("Controller cost, %u s windows, %u runs, seed %u: median (min-max) over the runs; CPU in %% of one core\n",
                o.window_s, o.repeats, o.seed);
    std::printf("per advert: CPU microseconds per frame actually sent; system: the whole machine minus the idle lab\n");
    for (const auto& r : rows) {
        std::printf("\n%d ms adverts, N = %d (%d segments)\n", r["interval_ms"].get<int>(), r["instances"].get<int>(),
                    r["segments"].get<int>());
        std::printf("  %-10s %-22s %-22s %-22s %-22s %-22s %-22s %s\n", "daemon", "master %", "backup %", "system %",
                    "sent / due %", "master us/advert", "system us/advert", "flags");
        for (const char* d : {"xvrrpd", "keepalived"}) {
            std::vector<double> master, backup, system, sent, master_per, system_per, watched_after, kernel_timers;
            int unconverged = 0, impossible = 0, unwatched = 0;
            for (const auto& run : r["runs"]) {
                if (!run.contains(d)) continue;
                const json& l = run[d];
                const double s = l["sent_per_s"].get<double>();
                master.push_back(l["master_cpu"]);
                backup.push_back(l["backup_cpu"]);
                system.push_back(l["system_cpu"]);
                sent.push_back(s / l["due_per_s"].get<double>());
                master_per.push_back(s > 0 ? l["master_cpu"].get<double>() / s : 0);
                system_per.push_back(s > 0 ? l["system_cpu"].get<double>() / s : 0);
                unconverged += !l["converged"].get<bool>();
                if (std::string(d) == "xvrrpd") {
                    watched_after.push_back(l["watched_after_s"]);
                    kernel_timers.push_back(l["kernel_timers"]);
                    unwatched += !l["watched_all"].get<bool>();
                }
                impossible += l["impossible"].get<bool>();
            }
            if (master.empty()) continue;
            std::string flags;
            if (unconverged) flags += std::to_string(unconverged) + " not converged ";
            if (impossible) flags += std::to_string(impossible) + " impossible readings ";
            if (unwatched) flags += std::to_string(unwatched) + " measured before every master was watched ";
            if (!watched_after.empty())
                flags += "all watched " + spread(watched_after, 1, "%.0f") + " s after convergence, " +
                         spread(kernel_timers, 1, "%.0f") + " by kernel timers";
            std::printf("  %-10s %-22s %-22s %-22s %-22s %-22s %-22s %s\n", d, spread(master, 100, "%.2f").c_str(),
                        spread(backup, 100, "%.3f").c_str(), spread(system, 100, "%.1f").c_str(),
                        spread(sent, 100, "%.1f").c_str(), spread(master_per, 1e6, "%.2f").c_str(),
                        spread(system_per, 1e6, "%.2f").c_str(), flags.c_str());
        }
    }
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
            json c = many_instances_config(lab, 1, 100, n, kInterval);
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
