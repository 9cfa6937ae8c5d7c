// bench/run.sh upgrade: what an upgrade costs with N instances. r1 (150) and r2 (100) run N IPv6
// instances (many_instances.hpp) and one IPv4 "gateway", all at the same interval (1 s by default).
// With every instance elected, r1's daemon is upgraded K times (xvrrpctl upgrade), each at a random
// phase of the interval. Per upgrade: xvrrpctl's wall time, how long the old daemon was frozen
// (the new daemon's "ms after the old daemon froze"; its masters advertise meanwhile), and the longest gap between r1's gateway adverts on
// its bridge port (a capture of VRRP only). Over the run: instances whose transition count moved
// on r1 or r2, adverts r2 sent, and r1's adverts sent against those due (its counters carry over).
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "bench.hpp"
#include "capture.hpp"
#include "many_instances.hpp"
#include "proc_cpu.hpp"
#include "stats.hpp"
#include "vrrp_lab.hpp"

namespace xvrrp::bench {

namespace {

using namespace xvrrp::test;
using namespace std::chrono_literals;
using nlohmann::json;

json config(const VrrpLab& lab, int router, int n, int interval_ms) {
    const int priority = router == 1 ? 150 : 100;
    json c = many_instances_config(lab, router, priority, n, interval_ms);
    c["global"]["heartbeat_timeout_ms"] = std::max(1000, 3 * interval_ms);
    c["instances"].push_back({{"name", "gateway"}, {"interface", "vr0"}, {"vrid", 251}, {"priority", priority},
                              {"advert_interval_ms", interval_ms}, {"vips", {"192.0.2.100/24"}}});
    return c;
}

// Per instance: transitions and adverts sent, by name and family.
std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> readings(VrrpLab& lab, int i) {
    std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> out;
    const json s = lab.status(i);
    if (s.is_null()) return out;
    for (const auto& in : s["instances"])
        out[in["name"].get<std::string>() + "/" + in["family"].get<std::string>()] = {
            in["transitions"].get<std::uint64_t>(), in["counters"]["adverts_sent"].get<std::uint64_t>()};
    return out;
}

bool all_in(VrrpLab& lab, int i, const std::string& state, std::size_t count) {
    const json s = lab.status(i);
    if (s.is_null()) return false;
    std::size_t in_state = 0;
    for (const auto& in : s["instances"]) in_state += in["state"] == state;
    return in_state == count;
}

}  // namespace

int run_upgrade(const UpgradeOptions& o) {
    const unsigned seed = o.seed ? o.seed : std::random_device{}();
    std::mt19937 rng(seed);
    std::fprintf(stderr, "upgrade: seed %u\n", seed);
    json rows = json::array();
    for (const int n : o.instances) {
        wait_for_quiet_machine();
        VrrpLab lab(2, segments_for(n + 1));
        lab.start(1, config(lab, 1, n, o.interval_ms));
        if (!VrrpLab::wait_until([&] { return all_in(lab, 1, "MASTER", n + 1); }, 120s)) {
            std::fprintf(stderr, "upgrade: N = %d: r1 never all MASTER\n", n);
            return 1;
        }
        lab.start(2, config(lab, 2, n, o.interval_ms));
        if (!VrrpLab::wait_until([&] { return all_in(lab, 2, "BACKUP", n + 1); }, 120s)) {
            std::fprintf(stderr, "upgrade: N = %d: r2 never all BACKUP\n", n);
            return 1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2 * o.interval_ms));
        const auto r1_before = readings(lab, 1), r2_before = readings(lab, 2);
        const auto t0 = std::chrono::steady_clock::now();
        std::vector<double> wall_ms, frozen_ms, gap_ms;
        std::uint64_t drops = 0;
        unsigned failed = 0;
        const std::string ctl = std::string(XVRRPCTL_PATH) + " -s " + lab.socket(1);
        for (unsigned k = 0; k < o.upgrades; ++k) {
            std::fprintf(stderr, "  N = %d, upgrade %u\n", n, k + 1);
            const auto phase = std::chrono::microseconds(std::uniform_int_distribution<long>(0, o.interval_ms * 1000L)(rng));
            const auto span = std::chrono::milliseconds(3 * o.interval_ms + 3000);
            std::vector<SeenAdvert> seen;
            std::jthread capture([&] { seen = capture_adverts(lab.bridge(), "p1", span, &drops); });
            std::this_thread::sleep_for(300ms + phase);
            const std::size_t from = lab.log(1).size();
            const auto u0 = std::chrono::steady_clock::now();
            const std::string out = lab.router(1).exec(ctl + " upgrade 2>&1");
            const auto u1 = std::chrono::steady_clock::now();
            capture.join();
            if (out.rfind("upgraded: pid ", 0) != 0) {
                ++failed;
                std::fprintf(stderr, "    failed: %s", out.c_str());
                continue;
            }
            wall_ms.push_back(std::chrono::duration<double, std::milli>(u1 - u0).count());
            const std::string log = lab.log(1).substr(from);
            if (const auto at = log.find(" ms after the old daemon froze"); at != std::string::npos)
                frozen_ms.push_back(std::stod(log.substr(log.rfind(", ", at) + 2)));
            std::int64_t last = -1;
            double longest = 0;
            for (const SeenAdvert& a : seen) {
                if (a.src != IpAddress::from(VrrpLab::router_ip(1))) continue;
                if (last >= 0) longest = std::max(longest, static_cast<double>(a.ns - last) / 1e6);
                last = a.ns;
            }
            gap_ms.push_back(longest);
        }
        const double elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const auto r1_after = readings(lab, 1), r2_after = readings(lab, 2);
        int r1_moved = 0, r2_moved = 0;
        std::uint64_t r1_sent = 0, r2_sent = 0;
        for (const auto& [name, v] : r1_after) {
            const auto b = r1_before.find(name);
            if (b == r1_before.end()) continue;
            r1_moved += v.first != b->second.first;
            r1_sent += v.second - b->second.second;
        }
        for (const auto& [name, v] : r2_after) {
            const auto b = r2_before.find(name);
            if (b == r2_before.end()) continue;
            r2_moved += v.first != b->second.first;
            r2_sent += v.second - b->second.second;
        }
        const double due = (n + 1) * elapsed_s * 1000.0 / o.interval_ms;
        rows.push_back({{"instances", n + 1}, {"interval_ms", o.interval_ms}, {"upgrades", o.upgrades},
                        {"failed_upgrades", failed}, {"xvrrpctl_ms", summary_json(wall_ms)},
                        {"frozen_ms", summary_json(frozen_ms)}, {"gateway_advert_gap_ms", summary_json(gap_ms)},
                        {"r1_instances_moved", r1_moved}, {"r2_instances_moved", r2_moved}, {"r2_adverts_sent", r2_sent},
                        {"r1_sent_of_due", r1_sent / due}, {"capture_drops", drops}});
    }
    if (o.json) {
        std::cout << json{{"bench", "upgrade"}, {"seed", seed}, {"rows", rows}}.dump(2) << "\n";
        return 0;
    }
    std::printf("Upgrade of the master's daemon with N instances at %d ms adverts, random phase; seed %u, %u upgrades per N\n",
                o.interval_ms, seed, o.upgrades);
    std::printf("%-9s %-24s %-24s %-24s %-10s %-10s %-9s %s\n", "routers", "xvrrpctl ms p50/p95/max", "frozen ms p50/p95/max",
                "advert gap ms p50/max", "r1 moved", "r2 moved", "r2 sent", "r1 sent/due");
    for (const json& r : rows) {
        auto three = [](const json& s) {
            char b[64];
            std::snprintf(b, sizeof b, "%.1f/%.1f/%.1f", s["median"].get<double>(), s["p95"].get<double>(), s["max"].get<double>());
            return std::string(b);
        };
        char gap[64];
        std::snprintf(gap, sizeof gap, "%.1f/%.1f", r["gateway_advert_gap_ms"]["median"].get<double>(),
                      r["gateway_advert_gap_ms"]["max"].get<double>());
        std::printf("%-9d %-24s %-24s %-24s %-10d %-10d %-9llu %.4f%s%s\n", r["instances"].get<int>(),
                    three(r["xvrrpctl_ms"]).c_str(), three(r["frozen_ms"]).c_str(), gap, r["r1_instances_moved"].get<int>(),
                    r["r2_instances_moved"].get<int>(), static_cast<unsigned long long>(r["r2_adverts_sent"].get<std::uint64_t>()),
                    r["r1_sent_of_due"].get<double>(), r["failed_upgrades"].get<unsigned>() ? "  SOME UPGRADES FAILED" : "",
                    r["capture_drops"].get<std::uint64_t>() ? "  THE CAPTURE DROPPED ADVERTS" : "");
    }
    return 0;
}

}  // namespace xvrrp::bench
