// bench/run.sh restart: what restarting the master's daemon costs the network. r1 (150) is
// master, r2 (100) backup, adverts at 1 s by default; a client pings the VIP every millisecond.
// At a random phase of the advert interval, r1's daemon is:
//   xvrrpd upgrade      xvrrpctl upgrade (the binary on disk takes over, upgrade.hpp)
//   xvrrpd kill+start   SIGKILL, started again at once (crash adopt within the heartbeat)
//   xvrrpd stop+start   SIGTERM (resigns), started again
//   keepalived kill+start, keepalived stop+start: the same for keepalived
// Readings per run: the client's longest gap between ping replies and its lost replies, the
// longest gap between adverts of any master on the bridge (a capture admitting only VRRP), and
// whether r2 ever advertised as master. Scenarios in a random order in each repeat.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "bench.hpp"
#include "capture.hpp"
#include "pair.hpp"
#include "proc_cpu.hpp"
#include "stats.hpp"
#include "vrrp_lab.hpp"

namespace xvrrp::bench {

namespace {

using namespace xvrrp::test;
using namespace std::chrono_literals;
using nlohmann::json;

const std::vector<std::string> kScenarios{"xvrrpd upgrade", "xvrrpd kill+start", "xvrrpd stop+start",
                                          "keepalived kill+start", "keepalived stop+start"};

struct Outcome {
    bool ok = false;
    double ping_gap_ms = 0;
    int lost = 0;
    double advert_gap_ms = 0;
    bool backup_advertised = false;
    std::uint64_t capture_drops = 0;
};

Outcome run_once(const std::string& scenario, int interval_ms, std::mt19937& rng) {
    Outcome out;
    const bool keepalived = scenario.starts_with("keepalived");
    wait_for_quiet_machine();
    VrrpLab lab(2);
    auto start = [&](int i) {
        if (keepalived) lab.start_keepalived(i, pair_keepalived_conf(i == 1 ? kMasterPriority : kBackupPriority, interval_ms));
        else lab.start(i, pair_xvrrpd_config(lab, i, interval_ms));
    };
    start(1);
    start(2);
    const auto mdi = std::chrono::milliseconds(static_cast<int>(pair_master_down_ms(interval_ms)) + 1);
    if (!VrrpLab::wait_until([&] { return pair_holds_vip(lab, 1) && !pair_holds_vip(lab, 2); }, 4 * mdi + 5s)) return out;
    std::this_thread::sleep_for(2 * mdi + 200ms);
    if (lab.client().exec_status("ping -c 1 -W 1 192.0.2.100") != 0) return out;

    const auto phase = std::chrono::microseconds(std::uniform_int_distribution<long>(0, interval_ms * 1000L)(rng));
    // Long enough for a backup to take over and the master to preempt back (keepalived's cases).
    const auto window = std::chrono::duration_cast<std::chrono::milliseconds>(500ms + phase + 2 * mdi + 3s);
    std::vector<SeenAdvert> seen;
    std::jthread capture([&] { seen = capture_adverts(lab.bridge(), "br0", window, &out.capture_drops); });
    lab.start_ping("192.0.2.100", static_cast<int>(window.count()) - 200, 0.001);
    std::this_thread::sleep_for(500ms + phase);
    if (scenario == "xvrrpd upgrade") {
        lab.router(1).exec(std::string(XVRRPCTL_PATH) + " -s " + lab.socket(1) + " upgrade >/dev/null");
    } else if (scenario == "xvrrpd kill+start" || scenario == "xvrrpd stop+start") {
        lab.signal(1, scenario == "xvrrpd kill+start" ? SIGKILL : SIGTERM);
        lab.wait_exit(1, 5s);
        start(1);
    } else if (scenario == "keepalived kill+start") {
        lab.kill_keepalived(1);
        start(1);
    } else {
        lab.signal(1, SIGTERM);
        lab.wait_exit(1, 5s);
        start(1);
    }
    out.ping_gap_ms = lab.finish_ping_longest_gap_ms();
    capture.join();
    const auto [sent, received] = lab.ping_counts();
    if (sent <= 0) return out;
    out.lost = sent - received;
    std::int64_t last = -1;
    for (const SeenAdvert& a : seen) {
        if (a.priority == 0) continue;  // a resignation is not an advert of a master
        if (a.src == IpAddress::from(VrrpLab::router_ip(2))) out.backup_advertised = true;
        if (last >= 0) out.advert_gap_ms = std::max(out.advert_gap_ms, static_cast<double>(a.ns - last) / 1e6);
        last = a.ns;
    }
    out.ok = !seen.empty();
    return out;
}

}  // namespace

int run_restart(const RestartOptions& o) {
    const unsigned seed = o.seed ? o.seed : std::random_device{}();
    std::mt19937 rng(seed);
    std::fprintf(stderr, "restart: seed %u\n", seed);
    std::map<std::string, std::vector<Outcome>> results;
    for (unsigned r = 0; r < o.repeats; ++r) {
        auto order = kScenarios;
        if (o.xvrrpd_only) std::erase_if(order, [](const std::string& s) { return s.starts_with("keepalived"); });
        std::shuffle(order.begin(), order.end(), rng);
        for (const auto& scenario : order) {
            std::fprintf(stderr, "  repeat %u: %s\n", r + 1, scenario.c_str());
            results[scenario].push_back(run_once(scenario, o.interval_ms, rng));
        }
    }
    json rows = json::array();
    for (const auto& scenario : kScenarios) {
        if (!results.count(scenario)) continue;
        std::vector<double> gap, lost, advert;
        int taken_over = 0, failed = 0;
        std::uint64_t drops = 0;
        for (const Outcome& x : results[scenario]) {
            if (!x.ok) {
                ++failed;
                continue;
            }
            gap.push_back(x.ping_gap_ms);
            lost.push_back(x.lost);
            advert.push_back(x.advert_gap_ms);
            taken_over += x.backup_advertised;
            drops += x.capture_drops;
        }
        rows.push_back({{"scenario", scenario}, {"runs", results[scenario].size()}, {"failed_runs", failed},
                        {"ping_gap_ms", summary_json(gap)}, {"lost_replies", summary_json(lost)},
                        {"advert_gap_ms", summary_json(advert)}, {"backup_advertised_runs", taken_over},
                        {"capture_drops", drops}});
    }
    if (o.json) {
        std::cout << json{{"bench", "restart"}, {"seed", seed}, {"interval_ms", o.interval_ms}, {"rows", rows}}.dump(2) << "\n";
        return 0;
    }
    std::printf("Restart of the master's daemon at %d ms adverts, random phase; client ping every 1 ms; seed %u, %u repeats\n",
                o.interval_ms, seed, o.repeats);
    std::printf("%-24s %-26s %-22s %-26s %s\n", "scenario", "ping gap ms med/p95/max", "lost med/max",
                "advert gap ms med/max", "backup took over");
    for (const json& r : rows) {
        std::printf("%-24s %8.1f / %7.1f / %7.1f   %6.0f / %6.0f         %8.1f / %8.1f        %d of %zu%s\n",
                    r["scenario"].get<std::string>().c_str(), r["ping_gap_ms"]["median"].get<double>(),
                    r["ping_gap_ms"]["p95"].get<double>(), r["ping_gap_ms"]["max"].get<double>(),
                    r["lost_replies"]["median"].get<double>(), r["lost_replies"]["max"].get<double>(),
                    r["advert_gap_ms"]["median"].get<double>(), r["advert_gap_ms"]["max"].get<double>(),
                    r["backup_advertised_runs"].get<int>(), r["runs"].get<std::size_t>(),
                    r["failed_runs"].get<int>() ? "  (some runs never converged)" : "");
    }
    return 0;
}

}  // namespace xvrrp::bench
