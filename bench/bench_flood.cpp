// bench/run.sh flood: how late a flood on one segment makes another segment's adverts.
// r1 is master of VRID 51 on segment 0 and of VRID 52 on segment 1; r2 is their backup. The
// client floods segment 0 with adverts for VRID 51 alternating two priorities (each one a change
// the dataplane reports). A capture on r1's segment-1 port of the bridge timestamps r1's adverts
// as they arrive there; lateness = gap between consecutive adverts - the advert interval.
// Quiet and flooded phases run in random order, several times each, in the same lab. A stall probe
// (stall_probe.hpp) runs through every phase: the machine's own scheduling stalls, which no daemon
// can beat, measured beside the adverts' lateness.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "bench.hpp"
#include "capture.hpp"
#include "flood.hpp"
#include "stall_probe.hpp"
#include "stats.hpp"
#include "vrrp_lab.hpp"

namespace xvrrp::bench {

namespace {

using namespace xvrrp::test;
using namespace std::chrono_literals;

// Kernel receive times (ns) of the IPv4 adverts from src on ifname in ns, for the given time.
std::vector<std::int64_t> advert_times(const Netns& ns, const std::string& ifname, const IpAddress& src,
                                       std::chrono::milliseconds span) {
    std::vector<std::int64_t> times;
    for (const SeenAdvert& a : capture_adverts(ns, ifname, span))
        if (a.src == src) times.push_back(a.ns);
    return times;
}

// Lateness of each advert after the first, in ms (negative: early).
std::vector<double> lateness_ms(const std::vector<std::int64_t>& t, int interval_ms) {
    std::vector<double> out;
    for (std::size_t i = 1; i < t.size(); ++i) out.push_back(static_cast<double>(t[i] - t[i - 1]) / 1e6 - interval_ms);
    return out;
}

nlohmann::json to_json(const Summary& s) {
    return {{"n", s.n}, {"min_ms", s.min}, {"median_ms", s.median}, {"p95_ms", s.p95}, {"p99_ms", s.p99}, {"max_ms", s.max}};
}

// r2's transitions so far, per instance name.
std::map<std::string, std::int64_t> transitions(VrrpLab& lab) {
    std::map<std::string, std::int64_t> out;
    const nlohmann::json status = lab.status(2);  // kept: the loop below reads into it
    if (!status.contains("instances")) throw std::runtime_error("flood: r2 did not answer its status\n" + lab.log(2).substr(0, 2000));
    for (const auto& i : status["instances"]) out[i["name"]] += i["transitions"].get<std::int64_t>();
    return out;
}

struct Phase {
    std::vector<double> late_ms, stall_ms, flood_rates;
    std::int64_t seg0_transitions = 0, seg1_transitions = 0;
};

}  // namespace

int run_flood(const FloodOptions& o) {
    VrrpLab lab(2, 2);
    lab.start(1, lab.two_segment_config(1, 150, o.interval_ms));
    lab.start(2, lab.two_segment_config(2, 100, o.interval_ms));
    if (!VrrpLab::wait_until([&] { return lab.state(1, "IPv4", "seg1") == "MASTER" && lab.state(2, "IPv4", "seg1") == "BACKUP"; }, 10s)) {
        std::cerr << "flood: the pair never converged\n";
        return 1;
    }
    const Mac client_mac = *parse_mac(lab.client().exec("cat /sys/class/net/eth0/address").substr(0, 17));
    const auto frames = alternating_adverts(client_mac, IpAddress::from("192.0.2.10"), 51, 50, 60, IpAddress::from("192.0.2.100"));
    const IpAddress r1_seg1 = IpAddress::from("198.51.100.1");
    const auto span = std::chrono::milliseconds(o.phase_s * 1000);

    std::vector<bool> order;
    for (unsigned k = 0; k < o.repeats; ++k) order.insert(order.end(), {false, true});
    std::mt19937 rng(std::random_device{}());
    std::shuffle(order.begin(), order.end(), rng);

    Phase quiet, flooded;
    for (bool with_flood : order) {
        Phase& ph = with_flood ? flooded : quiet;
        const auto before = transitions(lab);
        FloodResult fr;
        StallProbe probe;
        std::jthread t;  // joined on every exit path, so the lab is always removed
        if (with_flood)
            t = std::jthread([&] { fr = flood(lab.client(), "eth0", frames, 100'000'000, span + 200ms); });
        std::this_thread::sleep_for(100ms);  // the flood is under way before the capture starts
        const auto late = lateness_ms(advert_times(lab.bridge(), "p1s1", r1_seg1, span), o.interval_ms);
        if (t.joinable()) t.join();
        const auto stalls = probe.finish();
        ph.late_ms.insert(ph.late_ms.end(), late.begin(), late.end());
        ph.stall_ms.insert(ph.stall_ms.end(), stalls.begin(), stalls.end());
        if (with_flood) ph.flood_rates.push_back(static_cast<double>(fr.sent) / fr.seconds);
        auto after = transitions(lab);
        ph.seg0_transitions += after["gateway"] - before.at("gateway");
        ph.seg1_transitions += after["seg1"] - before.at("seg1");
        std::fprintf(stderr, "%s phase: %zu adverts on segment 1, max late %+.1f ms, max stall %.1f ms%s\n",
                     with_flood ? "flooded" : "quiet", late.size() + 1, summarize(late).max, summarize(stalls).max,
                     with_flood ? (", flood " + std::to_string(static_cast<long>(fr.sent / fr.seconds)) + "/s").c_str() : "");
    }

    const Summary q = summarize(quiet.late_ms), f = summarize(flooded.late_ms), rate = summarize(flooded.flood_rates);
    const Summary qs = summarize(quiet.stall_ms), fs = summarize(flooded.stall_ms);
    if (o.json) {
        auto phase_json = [](const Summary& late, const Summary& stall, const Phase& ph) {
            return nlohmann::json{{"lateness", to_json(late)}, {"machine_stall", to_json(stall)},
                                  {"r2_transitions_segment0", ph.seg0_transitions},
                                  {"r2_transitions_segment1", ph.seg1_transitions}};
        };
        std::cout << nlohmann::json{{"interval_ms", o.interval_ms}, {"phase_s", o.phase_s}, {"repeats", o.repeats},
                                    {"quiet", phase_json(q, qs, quiet)}, {"flooded", phase_json(f, fs, flooded)},
                                    {"flood_adverts_per_s_median", rate.median},
                                    {"p95_added_ms", f.p95 - q.p95}, {"p99_added_ms", f.p99 - q.p99},
                                    {"max_added_ms", f.max - q.max}}
                         .dump(2)
                  << "\n";
        return 0;
    }
    std::printf("Segment-1 advert lateness (gap - %d ms), %u x %u s phases each, random order;\n"
                "machine stall: how late a bare thread's 1 ms sleeps woke in the same phases\n",
                o.interval_ms, o.repeats, o.phase_s);
    std::printf("%-8s %-9s %6s %9s %9s %9s %9s %9s  %s\n", "phase", "what", "n", "min", "median", "p95", "p99", "max",
                "r2 transitions seg1 (seg0)");
    for (const auto& [name, late, stall, ph] : {std::tuple{"quiet", q, qs, &quiet}, std::tuple{"flooded", f, fs, &flooded}}) {
        std::printf("%-8s %-9s %6zu %+8.3f %+8.3f %+8.3f %+8.3f %+8.3f  %lld (%lld)\n", name, "lateness", late.n, late.min,
                    late.median, late.p95, late.p99, late.max, static_cast<long long>(ph->seg1_transitions),
                    static_cast<long long>(ph->seg0_transitions));
        std::printf("%-8s %-9s %6zu %+8.3f %+8.3f %+8.3f %+8.3f %+8.3f\n", name, "stall", stall.n, stall.min, stall.median,
                    stall.p95, stall.p99, stall.max);
    }
    std::printf("flood on segment 0: median %.0f adverts/s (min %.0f, max %.0f); added p95 %+.3f ms, p99 %+.3f ms, max %+.3f ms\n",
                rate.median, rate.min, rate.max, f.p95 - q.p95, f.p99 - q.p99, f.max - q.max);
    return 0;
}

}  // namespace xvrrp::bench
