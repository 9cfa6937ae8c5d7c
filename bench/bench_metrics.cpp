// bench/run.sh metrics: what a Prometheus scrape costs with N instances, and whether scraping
// makes a 10 ms master late. r1 runs xvrrpd with N instances at 1 s (IPv6, many_instances.hpp),
// one IPv4 instance "gateway" at 10 ms, and global.metrics. In each repeat, two phases in a
// random order, each a window of the same length in the same lab:
//  - quiet: nothing asks the daemon anything;
//  - scraped: a thread in the client's namespace GETs /metrics every 100 ms (10 a second).
// Readings: the master's adverts on the bridge (lateness = gap - 10 ms), each scrape's wall time
// and size, and the daemon's CPU per phase (schedstat of all its threads: the server's included).
#include <sys/syscall.h>
#include <unistd.h>

#include <httplib.h>

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

constexpr int kIntervalMs = 10;
constexpr int kPort = 9650;

struct Phase {
    bool scraped = false;
    std::vector<double> late_ms;     // the 10 ms master's adverts
    std::vector<double> scrape_ms;   // each scrape's wall time (scraped phases)
    std::size_t failed_scrapes = 0;
    std::size_t body_bytes = 0;
    double cores = 0;                // the daemon, all threads
    std::uint64_t capture_drops = 0;  // adverts the capture lost (their gaps are not lateness)
};

json config(const VrrpLab& lab, int n) {
    json c = many_instances_config(lab, 1, 150, n, 1000);
    c["global"]["metrics"] = {{"listen", VrrpLab::router_ip(1) + ":" + std::to_string(kPort)}};
    c["instances"].push_back({{"name", "gateway"}, {"interface", "vr0"}, {"vrid", 251}, {"priority", 150},
                              {"advert_interval_ms", kIntervalMs}, {"vips", {"192.0.2.100/24"}}});
    return c;
}

Phase measure_phase(VrrpLab& lab, bool scraped, unsigned window_s) {
    Phase p{.scraped = scraped};
    std::vector<std::int64_t> adverts;
    const double cpu0 = process_cpu(lab.pid(1)).seconds;
    const auto t0 = std::chrono::steady_clock::now();
    std::jthread capture([&] {
        for (const SeenAdvert& a : capture_adverts(lab.bridge(), "p1", std::chrono::seconds(window_s), &p.capture_drops))
            if (a.src == IpAddress::from(VrrpLab::router_ip(1))) adverts.push_back(a.ns);
    });
    if (scraped) {
        const NetnsScope in_client(lab.client());  // this thread only
        httplib::Client client(VrrpLab::router_ip(1), kPort);
        client.set_read_timeout(5, 0);
        client.set_keep_alive(false);  // each scrape a new connection, as Prometheus after a timeout
        auto next = std::chrono::steady_clock::now();
        while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(window_s)) {
            const auto s0 = std::chrono::steady_clock::now();
            const auto res = client.Get("/metrics");
            const auto s1 = std::chrono::steady_clock::now();
            if (res && res->status == 200) {
                p.scrape_ms.push_back(std::chrono::duration<double, std::milli>(s1 - s0).count());
                p.body_bytes = res->body.size();
            } else {
                ++p.failed_scrapes;
            }
            next += 100ms;
            std::this_thread::sleep_until(next);
        }
    }
    capture.join();
    p.cores = (process_cpu(lab.pid(1)).seconds - cpu0) /
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (std::size_t i = 1; i < adverts.size(); ++i)
        p.late_ms.push_back(static_cast<double>(adverts[i] - adverts[i - 1]) / 1e6 - kIntervalMs);
    return p;
}

std::vector<double> pooled(const std::vector<Phase>& phases, bool scraped, std::vector<double> Phase::*field) {
    std::vector<double> out;
    for (const Phase& p : phases)
        if (p.scraped == scraped) out.insert(out.end(), (p.*field).begin(), (p.*field).end());
    return out;
}

}  // namespace

int run_metrics(const MetricsOptions& o) {
    unsigned seed = o.seed ? o.seed : std::random_device{}();
    std::mt19937 rng(seed);
    std::fprintf(stderr, "metrics: seed %u\n", seed);
    json rows = json::array();
    for (const int n : o.instances) {
        std::vector<Phase> phases;
        wait_for_quiet_machine();
        VrrpLab lab(2, segments_for(n));
        lab.start(1, config(lab, n));
        // Every instance MASTER (r1 is alone), the 10 ms one first.
        const bool ready = VrrpLab::wait_until([&] {
            const json s = lab.status(1);
            if (s.is_null()) return false;
            std::size_t masters = 0;
            for (const auto& in : s["instances"]) masters += in["state"] == "MASTER";
            return masters == static_cast<std::size_t>(n) + 1;
        }, 60s);
        if (!ready) {
            std::fprintf(stderr, "metrics: N = %d never all MASTER\n", n);
            return 1;
        }
        std::this_thread::sleep_for(2s);
        for (unsigned r = 0; r < o.repeats; ++r) {
            bool order[2] = {false, true};
            if (rng() % 2) std::swap(order[0], order[1]);
            for (const bool scraped : order) {
                std::fprintf(stderr, "  N = %d, repeat %u, %s\n", n, r + 1, scraped ? "scraped 10/s" : "quiet");
                phases.push_back(measure_phase(lab, scraped, o.window_s));
            }
        }
        const Summary quiet = summarize(pooled(phases, false, &Phase::late_ms));
        const Summary loud = summarize(pooled(phases, true, &Phase::late_ms));
        const Summary scrape = summarize(pooled(phases, true, &Phase::scrape_ms));
        std::vector<double> p99_quiet, p99_loud, cores_quiet, cores_loud;
        std::size_t failed = 0, bytes = 0;
        std::uint64_t drops = 0;
        for (const Phase& p : phases) {
            (p.scraped ? p99_loud : p99_quiet).push_back(summarize(p.late_ms).p99);
            (p.scraped ? cores_loud : cores_quiet).push_back(p.cores);
            failed += p.failed_scrapes;
            drops += p.capture_drops;
            bytes = std::max(bytes, p.body_bytes);
        }
        rows.push_back({{"instances", n + 1}, {"repeats", o.repeats}, {"window_s", o.window_s},
                        {"scrape_ms", summary_json(scrape)}, {"scrape_bytes", bytes}, {"failed_scrapes", failed}, {"capture_drops", drops},
                        {"lateness_quiet_ms", summary_json(quiet)}, {"lateness_scraped_ms", summary_json(loud)},
                        {"p99_quiet_per_phase", p99_quiet}, {"p99_scraped_per_phase", p99_loud},
                        {"cores_quiet", summarize(cores_quiet).median}, {"cores_scraped", summarize(cores_loud).median}});
    }
    if (o.json) {
        std::cout << json{{"bench", "metrics"}, {"seed", seed}, {"rows", rows}}.dump(2) << "\n";
        return 0;
    }
    std::printf("Metrics: a 10 ms master's advert lateness (gap - 10 ms) quiet and while scraped 10/s; scrape wall time\n");
    std::printf("seed %u; %u repeats of a quiet and a scraped %u s window each, in random order, one lab per N\n", seed,
                o.repeats, o.window_s);
    std::printf("%-9s %-22s %-8s %-26s %-26s %-18s %s\n", "routers", "scrape p50/p95/max ms", "KB", "quiet late p50/p99/max",
                "scraped late p50/p99/max", "p99 spread q | s", "cores q / s");
    for (const json& r : rows) {
        auto three = [](const json& s) {
            char b[64];
            std::snprintf(b, sizeof b, "%+.3f/%+.3f/%+.3f", s["median"].get<double>(), s["p99"].get<double>(), s["max"].get<double>());
            return std::string(b);
        };
        auto range = [](const json& v) {
            const auto s = summarize(v.get<std::vector<double>>());
            char b[40];
            std::snprintf(b, sizeof b, "%.2f-%.2f", s.min, s.max);
            return std::string(b);
        };
        char scrape[64];
        std::snprintf(scrape, sizeof scrape, "%.2f/%.2f/%.2f", r["scrape_ms"]["median"].get<double>(),
                      r["scrape_ms"]["p95"].get<double>(), r["scrape_ms"]["max"].get<double>());
        std::printf("%-9d %-22s %-8.0f %-26s %-26s %-18s %.4f / %.4f%s%s\n", r["instances"].get<int>(), scrape,
                    r["scrape_bytes"].get<double>() / 1024, three(r["lateness_quiet_ms"]).c_str(),
                    three(r["lateness_scraped_ms"]).c_str(),
                    (range(r["p99_quiet_per_phase"]) + " | " + range(r["p99_scraped_per_phase"])).c_str(),
                    r["cores_quiet"].get<double>(), r["cores_scraped"].get<double>(),
                    r["failed_scrapes"].get<std::size_t>() ? "  SOME SCRAPES FAILED" : "",
                    r["capture_drops"].get<std::uint64_t>() ? "  THE CAPTURE DROPPED ADVERTS" : "");
    }
    return 0;
}

}  // namespace xvrrp::bench
