// Prometheus metrics (global.metrics). The loop publishes a Snapshot (on transitions, after a
// reload, and once a second for the counters); the HTTP server's thread reads the kernel's
// counters itself and renders both, so a scrape never runs in, nor waits for, the loop.
// Names follow keepalived-exporter's (keepalived_* -> xvrrp_*), so dashboards port; the label for
// the instance is `iname`, since Prometheus keeps `instance` for the target.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xvrrp/config.hpp"
#include "xvrrp/counters.hpp"
#include "xvrrp/dataplane.hpp"
#include "xvrrp/duration_histogram.hpp"
#include "xvrrp/vrrp_fsm.hpp"

namespace xvrrp::metrics {

struct Router {
    std::string iname;  // as notifications name it ("gateway", "gateway/v6")
    Family family = Family::V4;
    std::string interface;
    unsigned vrid = 0;
    fsm::State state = fsm::State::Initialize;
    int priority = 0;  // effective
    int base_priority = 0;
    std::optional<double> last_transition_unix_seconds;
    RouterCounters sent;  // what the router did, earlier lives (before a reload restarted it) included
    std::uint32_t slot = 0;  // its counters in the dataplane
    xvrrp_inst_stats received_before{};  // what the dataplane counted for its earlier lives
};

struct Tracker {
    std::string name;
    bool up = true;
    DurationHistogram durations;
};

struct Snapshot {
    std::vector<Router> routers;
    std::vector<Tracker> trackers;
    std::uint64_t reloads_ok = 0, reloads_failed = 0;
};

// Read at the scrape, not from the loop.
struct Process {
    double cpu_seconds = 0;
    double start_time_seconds = 0;  // since the epoch
    std::uint64_t resident_bytes = 0, virtual_bytes = 0, open_fds = 0, max_fds = 0;
};
struct Readings {
    StatsArray dataplane{};
    std::vector<std::optional<xvrrp_inst_stats>> instances;  // by the snapshot's router index
    std::optional<double> heartbeat_age_seconds;             // none: no heartbeat written yet
    std::optional<Process> process;                          // none: /proc unreadable
};

// The Prometheus text exposition format (version 0.0.4).
[[nodiscard]] std::string render(const Snapshot& s, const Readings& r, std::string_view version);

// This process, from /proc/self.
[[nodiscard]] std::optional<Process> read_process();

// Serves GET <path> from its own threads; the latest published snapshot is shared, never the
// loop's objects. Throws at construction when the address cannot be bound.
class Server {
public:
    Server(const config::Metrics& where, CounterReader counters);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    void publish(std::shared_ptr<const Snapshot> snapshot);
    // The body a GET would get now (the server's own path, also for tests).
    [[nodiscard]] std::string scrape() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace xvrrp::metrics
