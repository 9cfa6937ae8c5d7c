// bench/run.sh mass: N instances fail over at once. r1 is master and r2 backup of N instances
// (250 VRIDs per segment, even instances with an IPv4 VIP, odd ones with an IPv6 VIP, answers from
// the interface MAC as keepalived users have it); the client is on every segment. Once every VIP
// answers from r1, the client starts asking for all of them (vip_probe.hpp) and r1's links are cut
// at a random phase; the figure is when the last VIP answers from r2, after the cut. xvrrpd and
// keepalived with the same settings, in random order, in the same run.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "bench.hpp"
#include "stats.hpp"
#include "vip_probe.hpp"
#include "vrrp_lab.hpp"

namespace xvrrp::bench {

namespace {

using namespace xvrrp::test;
using namespace std::chrono_literals;
using nlohmann::json;

constexpr int kMasterPriority = 150, kBackupPriority = 100;

int segment_of(int i) { return i / kVridsPerSegment; }
int vrid_of(int i) { return i % kVridsPerSegment + 1; }

// Even instances IPv4, from 125 addresses a segment in the documentation ranges (/32: no subnet
// shared between segments); odd ones IPv6, 2001:db8:<segment + 1>::<vrid>/64.
std::string vip_of(int i) {
    const int k = segment_of(i);
    if (i % 2 == 0) {
        const int j = i % kVridsPerSegment / 2 + 1;  // 1..125
        static const char* const blocks[] = {"192.0.2.", "198.51.100.", "203.0.113.", "203.0.113."};
        return blocks[k] + std::to_string(k == 3 ? j : 128 + j) + "/32";
    }
    char buf[48];
    std::snprintf(buf, sizeof(buf), "2001:db8:%x::%x/64", k + 1, vrid_of(i));
    return buf;
}

json xvrrpd_config(const VrrpLab& lab, int router, int priority, int n, int interval_ms) {
    json c = lab.config(router, priority, interval_ms);
    c["interfaces"] = json::object();
    c["instances"] = json::array();
    for (int i = 0; i < n; ++i)
        c["instances"].push_back({{"name", "vr" + std::to_string(i)}, {"interface", "vr" + std::to_string(segment_of(i))},
                                  {"vrid", vrid_of(i)}, {"priority", priority}, {"advert_interval_ms", interval_ms},
                                  {"mac", "interface"}, {"vips", {vip_of(i)}}});
    return c;
}

std::string keepalived_config(int priority, int n, int interval_ms) {
    char interval[16];
    std::snprintf(interval, sizeof(interval), "%.2f", interval_ms / 1000.0);
    std::ostringstream c;
    c << "global_defs {\n  router_id mass\n  enable_script_security\n}\n";
    for (int i = 0; i < n; ++i)
        c << "vrrp_instance vr" << i << " {\n  version 3\n  state BACKUP\n  interface vr" << segment_of(i)
          << "\n  virtual_router_id " << vrid_of(i) << "\n  priority " << priority << "\n  advert_int " << interval
          << "\n  virtual_ipaddress {\n    " << vip_of(i) << "\n  }\n}\n";
    return c.str();
}

struct Outcome {
    bool converged = false;
    std::size_t answered = 0;    // VIPs that answered from r2
    std::size_t early = 0;       // of which before the cut
    double last_ms = -1, median_ms = -1;  // after the cut, when the answers arrived
    // The last VIP's takeover bracketed by the requests (vip_probe.hpp): it answered every VIP's
    // request sent at last_asked_ms, and not all of those sent at last_unanswered_ms.
    double last_asked_ms = -1, last_unanswered_ms = -1;
    // From the cut's write to the exit of the command that carried it out: the links went down
    // in that time, and every figure counts from its start, so it is in them, never taken out.
    double cut_command_ms = -1;
};

Outcome one_run(bool keepalived, int n, int interval_ms, std::chrono::microseconds spacing, std::mt19937& rng) {
    const int segments = segments_for(n);
    VrrpLab lab(2, segments);
    for (int k = 1; k < segments; ++k) lab.join_client(k);
    // The lab gives routers IPv4 addresses on vr0 and vr1 only; adverts need one on every segment.
    for (int k = 2; k < segments; ++k)
        for (int r : {1, 2})
            lab.router(r).exec("ip addr add 198.51.100." + std::to_string(10 * k + r) + "/32 dev vr" + std::to_string(k));
    for (int r : {1, 2}) {
        const int priority = r == 1 ? kMasterPriority : kBackupPriority;
        if (keepalived) lab.start_keepalived(r, keepalived_config(priority, n, interval_ms));
        else lab.start(r, xvrrpd_config(lab, r, priority, n, interval_ms));
    }
    auto mac_of = [&](Netns& ns, const std::string& ifname) {
        return *parse_mac(ns.exec("cat /sys/class/net/" + ifname + "/address").substr(0, 17));
    };
    std::vector<ProbeSegment> from_r1, from_r2;
    for (int k = 0; k < segments; ++k) {
        const std::string client_if = "eth" + std::to_string(k), router_if = "vr" + std::to_string(k);
        const Mac client = mac_of(lab.client(), client_if);
        from_r1.push_back({client_if, client, mac_of(lab.router(1), router_if)});
        from_r2.push_back({client_if, client, mac_of(lab.router(2), router_if)});
    }
    std::vector<ProbeTarget> targets;
    for (int i = 0; i < n; ++i) {
        const std::string v = vip_of(i);
        targets.push_back({IpAddress::from(v.substr(0, v.find('/'))), segment_of(i)});
    }
    const double mdi_ms = 3.0 * interval_ms + (256.0 - kBackupPriority) * interval_ms / 256.0;
    Outcome out;
    // Converged: every VIP answers from r1 (this also proves the probe sees every answer) and none
    // from r2 for a while; then the backups have heard the master for two more intervals.
    auto answered_all = [](const std::vector<std::optional<SteadyTime>>& v) {
        return std::all_of(v.begin(), v.end(), [](const auto& t) { return t.has_value(); });
    };
    auto answered_any = [](const std::vector<std::optional<SteadyTime>>& v) {
        return std::any_of(v.begin(), v.end(), [](const auto& t) { return t.has_value(); });
    };
    // Gently (5,000 requests a second, a pause between checks): the kernel answers keepalived's
    // VIPs, and a probe at full rate would cost its pair the CPU it needs to settle.
    constexpr auto kGentle = std::chrono::microseconds(200);
    out.converged = VrrpLab::wait_until([&] {
        std::this_thread::sleep_for(500ms);
        const auto r1 = probe_vips(lab.client(), from_r1, targets, 5s, kGentle);
        const auto r2 = probe_vips(lab.client(), from_r2, targets, 500ms, kGentle);
        if (std::getenv("XVRRP_MASS_DEBUG"))
            std::cerr << "converging: " << std::count_if(r1.begin(), r1.end(), [](const auto& t) { return t.has_value(); })
                      << " from r1, " << std::count_if(r2.begin(), r2.end(), [](const auto& t) { return t.has_value(); })
                      << " from r2\n";
        return answered_all(r1) && !answered_any(r2);
    }, 90s);
    if (!out.converged) {
        std::cerr << "mass: " << (keepalived ? "keepalived" : "xvrrpd") << " never converged; r1's log ends:\n"
                  << [&] { const std::string l = lab.log(1); return l.substr(l.size() > 1500 ? l.size() - 1500 : 0); }() << "\n";
        return out;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(2 * mdi_ms)) + 500ms);

    // The cut is one write to an `ip -batch -` started beforehand in the bridge's namespace: it
    // sets the links down as it reads the lines, so the cut falls within the write and the
    // command's exit, not somewhere in the start of a process (20-35 ms under this load).
    const std::string cut_command = "ip netns exec " + lab.bridge().name() + " ip -batch -";
    std::unique_ptr<FILE, int (*)(FILE*)> cutter(::popen(cut_command.c_str(), "w"), ::pclose);
    if (!cutter) throw std::runtime_error("cannot start " + cut_command);
    std::string cut;
    for (int k = 0; k < segments; ++k) cut += "link set p1" + (k ? "s" + std::to_string(k) : std::string()) + " down\n";
    std::vector<std::optional<SteadyTime>> from_backup;
    std::vector<ProbeBracket> brackets;
    const auto limit = std::chrono::milliseconds(static_cast<int>(mdi_ms)) + 30s;  // keepalived at N = 1000 takes seconds
    std::jthread probe([&] { from_backup = probe_vips(lab.client(), from_r2, targets, limit, spacing, &brackets); });  // joined on any exit
    std::this_thread::sleep_for(50ms + std::chrono::microseconds(std::uniform_int_distribution<int>(0, interval_ms * 1000)(rng)));
    const SteadyTime cut_at = std::chrono::steady_clock::now();
    if (std::fputs(cut.c_str(), cutter.get()) < 0 || std::fflush(cutter.get()) != 0)
        throw std::runtime_error("the cut command did not take its input");
    const int cut_status = ::pclose(cutter.release());
    out.cut_command_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - cut_at).count();
    if (cut_status != 0) throw std::runtime_error(cut_command + " failed");
    probe.join();
    std::vector<double> after;
    for (const auto& t : from_backup)
        if (t) after.push_back(std::chrono::duration<double, std::milli>(*t - cut_at).count());
    // An answer from the backup before the cut is a second master, not a failover: the run is void.
    out.early = static_cast<std::size_t>(std::count_if(after.begin(), after.end(), [](double ms) { return ms < 0; }));
    out.answered = after.size();
    const Summary s = summarize(after);
    out.last_ms = s.max;
    out.median_ms = s.median;
    auto ms_after_cut = [&](const std::optional<SteadyTime>& t) {
        return t ? std::max(0.0, std::chrono::duration<double, std::milli>(*t - cut_at).count()) : 0.0;
    };
    for (std::size_t i = 0; i < brackets.size(); ++i) {
        if (!from_backup[i]) continue;
        out.last_asked_ms = std::max(out.last_asked_ms, ms_after_cut(brackets[i].asked));
        out.last_unanswered_ms = std::max(out.last_unanswered_ms, ms_after_cut(brackets[i].unanswered));
    }
    if (std::getenv("XVRRP_MASS_DEBUG")) {  // the spread of the answers, every 5 %
        std::sort(after.begin(), after.end());
        for (std::size_t i = 0; i < after.size(); i += std::max<std::size_t>(1, after.size() / 20)) std::cerr << after[i] << " ";
        std::cerr << "\n";
    }
    return out;
}

}  // namespace

int run_mass(const MassOptions& o) {
    std::mt19937 rng(std::random_device{}());
    struct Row {
        int n;
        std::vector<double> last[2], median[2];  // [0] xvrrpd, [1] keepalived
        std::vector<double> asked[2], unanswered[2];  // the last VIP's bracket
        std::vector<double> cut[2];  // how long the cut command took
        std::size_t incomplete[2] = {0, 0}, not_converged[2] = {0, 0};
    };
    std::vector<Row> rows;
    const double mdi_ms = 3.0 * o.interval_ms + (256.0 - kBackupPriority) * o.interval_ms / 256.0;
    try {
        for (int n : o.instances) {
            Row row{n, {}, {}};
            for (unsigned rep = 0; rep < o.repeats; ++rep) {
                const bool keepalived_first = rng() % 2;
                std::vector<bool> order{keepalived_first, !keepalived_first};
                if (o.xvrrpd_only) order = {false};
                for (bool keepalived : order) {
                    const Outcome out = one_run(keepalived, n, o.interval_ms, std::chrono::microseconds(o.probe_spacing_us), rng);
                    const int d = keepalived ? 1 : 0;
                    if (!out.converged || out.early) ++row.not_converged[d];
                    else if (out.answered < static_cast<std::size_t>(n)) ++row.incomplete[d];
                    else {
                        row.last[d].push_back(out.last_ms);
                        row.asked[d].push_back(out.last_asked_ms);
                        row.unanswered[d].push_back(out.last_unanswered_ms);
                        row.median[d].push_back(out.median_ms);
                        row.cut[d].push_back(out.cut_command_ms);
                    }
                    std::fprintf(stderr, "N %d %s: %s, %zu/%d VIPs from the backup (%zu before the cut), last %.1f ms "
                                 "(answering between %.1f and %.1f ms), median %.1f ms after the cut (cut command %.1f ms)\n",
                                 n, keepalived ? "keepalived" : "xvrrpd", out.converged ? "converged" : "NEVER CONVERGED",
                                 out.answered, n, out.early, out.last_ms, out.last_unanswered_ms, out.last_asked_ms,
                                 out.median_ms, out.cut_command_ms);
                }
            }
            rows.push_back(row);
        }
    } catch (const std::exception& e) {
        std::cerr << "bench mass: " << e.what() << "\n";
        return 1;
    }
    auto sj = [](const std::vector<double>& v) {
        const Summary s = summarize(v);
        return json{{"n", s.n}, {"min_ms", s.min}, {"median_ms", s.median}, {"p95_ms", s.p95}, {"max_ms", s.max}};
    };
    if (o.json) {
        json out = json::array();
        for (const Row& r : rows)
            out.push_back({{"instances", r.n}, {"segments", segments_for(r.n)},
                           {"xvrrpd_last_vip", sj(r.last[0])}, {"keepalived_last_vip", sj(r.last[1])},
                           {"xvrrpd_median_vip", sj(r.median[0])}, {"keepalived_median_vip", sj(r.median[1])},
                           {"xvrrpd_last_vip_asked", sj(r.asked[0])}, {"keepalived_last_vip_asked", sj(r.asked[1])},
                           {"xvrrpd_last_vip_unanswered", sj(r.unanswered[0])},
                           {"keepalived_last_vip_unanswered", sj(r.unanswered[1])},
                           {"xvrrpd_cut_command", sj(r.cut[0])}, {"keepalived_cut_command", sj(r.cut[1])},
                           {"xvrrpd_runs_missing_vips", r.incomplete[0]}, {"keepalived_runs_missing_vips", r.incomplete[1]},
                           {"xvrrpd_runs_not_converged", r.not_converged[0]},
                           {"keepalived_runs_not_converged", r.not_converged[1]}});
        std::cout << json{{"advert_interval_ms", o.interval_ms}, {"master_down_interval_ms", mdi_ms}, {"repeats", o.repeats},
                          {"probe_spacing_us", o.probe_spacing_us},
                          {"mass_failover", out}}
                         .dump(2)
                  << "\n";
        return 0;
    }
    std::printf("Mass failover, %d ms adverts (backup's Master_Down_Interval %.1f ms), r1's links cut at a random phase;\n"
                "when the last (and the median) VIP answered from the backup, ms after the cut; %u runs each;\n"
                "the client's requests %d us apart\n",
                o.interval_ms, mdi_ms, o.repeats, o.probe_spacing_us);
    std::printf("last VIP bracket: it answered the requests sent at 'by', not all of those sent at 'not at'\n");
    std::printf("%6s %-11s %28s %22s %28s %s\n", "N", "daemon", "last VIP median/p95/max", "bracket (medians)",
                "median VIP median/p95/max", "runs left out");
    for (const Row& r : rows)
        for (int d : {0, 1}) {
            if (r.last[d].empty() && r.incomplete[d] == 0 && r.not_converged[d] == 0) continue;
            const Summary l = summarize(r.last[d]), m = summarize(r.median[d]);
            std::printf("%6d %-11s %8.1f /%8.1f /%8.1f   not at %6.1f, by %6.1f %8.1f /%8.1f /%8.1f   %zu missing VIPs, %zu not converged or two masters\n",
                        r.n, d ? "keepalived" : "xvrrpd", l.median, l.p95, l.max, summarize(r.unanswered[d]).median,
                        summarize(r.asked[d]).median, m.median, m.p95, m.max, r.incomplete[d], r.not_converged[d]);
        }
    return 0;
}

}  // namespace xvrrp::bench
