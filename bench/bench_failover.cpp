// bench/run.sh failover: a client pings the VIP every millisecond; the master's link is cut at a
// random phase (uniform over one advert interval); the longest gap between replies is the
// failover time the client sees. Beside it, the phase-free figure from a capture on the bridge:
// the backup's first advert minus (the master's last advert + Master_Down_Interval), the
// takeover latency above the protocol's floor. xvrrpd and keepalived with the same settings,
// alternately (which goes first at random) in the same run.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <thread>

#include "bench.hpp"
#include "capture.hpp"
#include "pair.hpp"
#include "stats.hpp"
#include "vrrp_lab.hpp"

namespace xvrrp::bench {

namespace {

using namespace xvrrp::test;
using namespace std::chrono_literals;

struct Outcome {
    double gap_ms = -1;       // longest gap in the client's ping
    std::optional<double> takeover_ms;  // backup's first advert - (master's last + Master_Down_Interval)
    double phase_ms = -1;     // when in the interval the cut fell
};

// One failover; gap -1 when the pair never converged or the backup never took over.
Outcome one_failover(bool keepalived, int interval_ms, std::mt19937& rng) {
    VrrpLab lab(2);
    for (int i : {1, 2}) {
        if (keepalived) lab.start_keepalived(i, pair_keepalived_conf(i == 1 ? kMasterPriority : kBackupPriority, interval_ms));
        else lab.start(i, pair_xvrrpd_config(lab, i, interval_ms));
    }
    // Master_Down_Interval of the backup (RFC 9568 6.1), in ns.
    const double mdi_ns = pair_master_down_ms(interval_ms) * 1e6;
    const auto mdi = std::chrono::milliseconds(static_cast<int>(mdi_ns / 1e6) + 1);
    Outcome out;
    if (!VrrpLab::wait_until([&] { return pair_holds_vip(lab, 1) && !pair_holds_vip(lab, 2); }, 4 * mdi + 5s)) return out;
    std::this_thread::sleep_for(2 * mdi + 200ms);  // settled: backups have heard the master
    if (lab.client().exec_status("ping -c 1 -W 1 192.0.2.100") != 0) return out;
    out.phase_ms = std::uniform_real_distribution<double>(0, interval_ms)(rng);
    const auto phase = std::chrono::microseconds(static_cast<long>(out.phase_ms * 1000));
    const auto span = mdi + 1500ms;
    std::vector<SeenAdvert> seen;
    const auto capture_span = std::chrono::duration_cast<std::chrono::milliseconds>(500ms + phase + span);
    std::jthread capture([&] { seen = capture_adverts(lab.bridge(), "br0", capture_span); });  // joined on any exit
    lab.start_ping("192.0.2.100", static_cast<int>(span.count() + 500 + interval_ms), 0.001);
    std::this_thread::sleep_for(500ms + phase);
    lab.bridge().exec("ip link set p1 down");
    out.gap_ms = lab.finish_ping_longest_gap_ms();
    capture.join();
    if (!pair_holds_vip(lab, 2)) out.gap_ms = -1;
    const IpAddress master = IpAddress::from(VrrpLab::router_ip(1)), backup = IpAddress::from(VrrpLab::router_ip(2));
    std::int64_t last_master = -1, first_backup = -1;
    for (const SeenAdvert& a : seen) {
        if (a.src == master && first_backup < 0) last_master = a.ns;
        if (a.src == backup && a.priority > 0 && first_backup < 0) first_backup = a.ns;
    }
    if (last_master >= 0 && first_backup >= 0)
        out.takeover_ms = (static_cast<double>(first_backup - last_master) - mdi_ns) / 1e6;
    return out;
}

struct Row {
    int interval_ms;
    double expected_ms;  // 3 x interval + skew of the backup
    std::vector<double> xvrrpd, keepalived;                    // client gaps
    std::vector<double> xvrrpd_takeover, keepalived_takeover;  // phase-free
};

nlohmann::json summary_ms_json(const std::vector<double>& v) {
    const Summary s = summarize(v);
    return {{"n", s.n}, {"median_ms", s.median}, {"p95_ms", s.p95}, {"max_ms", s.max}, {"min_ms", s.min}};
}

}  // namespace

int run_failover(const FailoverOptions& o) {
    std::vector<Row> rows;
    const auto seed = std::random_device{}();
    std::mt19937 rng(seed);
    int failed = 0;
    try {
        for (int interval : {1000, 100, 10}) {
            Row r{interval, 3.0 * interval + (256 - kBackupPriority) * interval / 256.0, {}, {}, {}, {}};
            for (unsigned run = 0; run < o.runs; ++run) {  // both daemons each run, which first at random
                const bool keepalived_first = rng() % 2;
                for (bool keepalived : {keepalived_first, !keepalived_first}) {
                    const Outcome out = one_failover(keepalived, interval, rng);
                    if (out.gap_ms < 0) {
                        ++failed;
                        continue;
                    }
                    (keepalived ? r.keepalived : r.xvrrpd).push_back(out.gap_ms);
                    if (out.takeover_ms) (keepalived ? r.keepalived_takeover : r.xvrrpd_takeover).push_back(*out.takeover_ms);
                }
            }
            rows.push_back(r);
            if (!o.json)
                std::fprintf(stderr, "interval %d ms done: xvrrpd %.1f ms, keepalived %.1f ms (median gap)\n", interval,
                             summarize(r.xvrrpd).median, summarize(r.keepalived).median);
        }
    } catch (const std::exception& e) {
        std::cerr << "bench failover: " << e.what() << "\n";
        return 1;
    }
    if (o.json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& r : rows)
            out.push_back({{"advert_interval_ms", r.interval_ms}, {"master_down_interval_ms", r.expected_ms},
                           {"xvrrpd_gap", summary_ms_json(r.xvrrpd)}, {"keepalived_gap", summary_ms_json(r.keepalived)},
                           {"xvrrpd_takeover_above_floor", summary_ms_json(r.xvrrpd_takeover)},
                           {"keepalived_takeover_above_floor", summary_ms_json(r.keepalived_takeover)},
                           {"xvrrpd_gaps_ms", r.xvrrpd}, {"keepalived_gaps_ms", r.keepalived}});
        std::cout << nlohmann::json{{"runs", o.runs}, {"seed", seed}, {"failed_runs", failed}, {"failover", out}}.dump(2) << "\n";
        return 0;
    }
    std::printf("Failover, the master's link cut at a random phase; %u runs per interval and daemon (seed %u)\n", o.runs, seed);
    std::printf("Client: longest gap in a 1 ms ping to the VIP (median / p95 / max)\n");
    std::printf("%9s %8s %26s %26s\n", "interval", "MDI", "xvrrpd", "keepalived");
    for (const auto& r : rows) {
        const Summary x = summarize(r.xvrrpd), k = summarize(r.keepalived);
        std::printf("%7d ms %6.1f ms %8.1f /%8.1f /%8.1f %8.1f /%8.1f /%8.1f  ms\n", r.interval_ms, r.expected_ms, x.median,
                    x.p95, x.max, k.median, k.p95, k.max);
    }
    std::printf("Wire: backup's first advert - (master's last advert + MDI), phase-free (median / p95 / max)\n");
    for (const auto& r : rows) {
        const Summary x = summarize(r.xvrrpd_takeover), k = summarize(r.keepalived_takeover);
        std::printf("%7d ms %9s %8.2f /%8.2f /%8.2f %8.2f /%8.2f /%8.2f  ms (n %zu, %zu)\n", r.interval_ms, "", x.median, x.p95,
                    x.max, k.median, k.p95, k.max, x.n, k.n);
    }
    if (failed) std::printf("%d runs never converged or never failed over: left out above\n", failed);
    return 0;
}

}  // namespace xvrrp::bench
