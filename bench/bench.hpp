// The benchmarks behind bench/run.sh, one function per subcommand.
#pragma once

#include <string>
#include <vector>

namespace xvrrp::bench {

// The labs of many instances put this many VRIDs on each segment (one bridge each).
constexpr int kVridsPerSegment = 250;
constexpr int segments_for(int instances) { return (instances + kVridsPerSegment - 1) / kVridsPerSegment; }

struct XdpOptions {
    unsigned repeat = 500'000;  // runs per BPF_PROG_TEST_RUN call
    unsigned rounds = 31;       // calls per path; the median is reported
    unsigned arp_requests = 1'000'000;
    unsigned arp_rounds = 3;
    bool json = false;
};
int run_xdp(const XdpOptions& o);

struct FailoverOptions {
    unsigned runs = 20;  // per implementation and interval; median, p95 and max reported
    bool json = false;
};
int run_failover(const FailoverOptions& o);

struct ScaleOptions {
    std::vector<int> intervals{100, 10};            // advert intervals, ms
    std::vector<int> instances{1, 100, 1000, 4000};  // at most 64 segments
    int max_at_10ms = 1000;                          // larger counts are measured at 100 ms only
    unsigned repeats = 3;   // per count, interval and daemon; the daemons in a random order each time
    unsigned window_s = 10;  // CPU is measured over this long, after convergence
    unsigned seed = 0;       // of the daemon order; 0: a random one (printed)
    bool xvrrpd_only = false;
    bool json = false;
};
int run_scale(const ScaleOptions& o);

struct StartupOptions {
    std::vector<int> instances{1000, 4000};
    unsigned repeats = 3;
    bool json = false;
};
int run_startup(const StartupOptions& o);

struct FloodOptions {
    int interval_ms = 100;
    unsigned phase_s = 5;   // capture per phase
    unsigned repeats = 4;   // quiet and flooded phases each, in random order
    bool json = false;
};
int run_flood(const FloodOptions& o);

struct MassOptions {
    std::vector<int> instances{1, 100, 1000};  // at most 1000: four segments of VIPs
    unsigned repeats = 3;                      // per count and daemon
    int interval_ms = 100;
    int probe_spacing_us = 50;  // after the cut, the client's requests this far apart (20,000 a second)
    bool xvrrpd_only = false;
    bool json = false;
};
int run_mass(const MassOptions& o);

struct ChecksOptions {
    std::vector<int> counts{10, 100, 1000};
    std::vector<std::string> kinds{"http", "tcp", "icmp"};
    unsigned window_s = 10;
    unsigned seed = 0;  // of the daemon order; 0: a random one (printed)
    bool xvrrpd_only = false;
    bool json = false;
};
int run_checks(const ChecksOptions& o);

struct MetricsOptions {
    std::vector<int> instances{1000};  // 1 s instances beside the 10 ms one
    unsigned repeats = 5;   // a quiet and a scraped window each, in random order
    unsigned window_s = 10;
    unsigned seed = 0;      // of the phase order; 0: a random one (printed)
    bool json = false;
};
int run_metrics(const MetricsOptions& o);

struct RestartOptions {
    int interval_ms = 1000;
    unsigned repeats = 3;   // per scenario, the scenarios in a random order each time
    unsigned seed = 0;      // 0: a random one (printed)
    bool xvrrpd_only = false;
    bool json = false;
};
int run_restart(const RestartOptions& o);

struct UpgradeOptions {
    std::vector<int> instances{1, 100, 1000};  // IPv6 instances beside the IPv4 gateway
    int interval_ms = 1000;
    unsigned upgrades = 10;  // per N, in a row, each at a random phase
    unsigned seed = 0;       // 0: a random one (printed)
    bool json = false;
};
int run_upgrade(const UpgradeOptions& o);

}  // namespace xvrrp::bench
