// The trackers at run time: each watches one thing and says up or down (or, for a file, a
// number), never blocking the loop. Interface trackers hear the daemon's netlink link events;
// scripts run through the ProcessRunner, one run in flight each; tcp checks are non-blocking
// connects on the loop's epoll; icmp checks send echo requests from one raw socket per family
// that they share; files are re-read on inotify (and every interval, so a file whose
// directory appears later is found). What a tracker's state does to an instance is tracking.hpp's.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "xvrrp/config.hpp"
#include "xvrrp/duration_histogram.hpp"
#include "xvrrp/event_loop.hpp"
#include "xvrrp/process_runner.hpp"
#include "xvrrp/timer_queue.hpp"
#include "xvrrp/tracking.hpp"

namespace xvrrp {

using Nanos = std::uint64_t;

struct TrackerView {
    std::string name;
    config::TrackerKind kind;
    bool up = true;
    long long value = 0;  // file trackers
    std::string detail;   // the last result ("exit 1", "connection refused", "eth1 is down")
    std::uint64_t checks = 0, failures = 0;
    std::uint64_t duration_ns = 0;  // the last check's, from its start to its result (0: not timed)
    DurationHistogram durations;    // every timed check's
};

class TrackerSet {
public:
    struct Ports {
        EventLoop& loop;
        ProcessRunner& runner;
        std::function<bool(const std::string& ifname)> link_up;  // false when there is no such interface
    };
    // Called when a tracker's state (or a file's value) changed.
    using Changed = std::function<void(const std::string& name, Nanos now)>;

    TrackerSet(Ports ports, Changed changed);
    ~TrackerSet();
    TrackerSet(const TrackerSet&) = delete;
    TrackerSet& operator=(const TrackerSet&) = delete;

    // A tracker whose definition is unchanged keeps its state and its schedule (a reload never
    // re-counts rise/fall); new ones start, removed ones stop.
    void configure(const std::map<std::string, config::Tracker>& defs, Nanos now);
    void on_link(const std::string& ifname, bool up, Nanos now);
    [[nodiscard]] std::optional<Nanos> next_deadline() const;
    void on_timer(Nanos now);

    // What a use of a tracker does to an instance; an unknown tracker does nothing.
    [[nodiscard]] track::Effect effect(const config::TrackUse& use) const;
    // Why a use puts the instance in FAULT, for the logs and the status.
    [[nodiscard]] std::string fault_reason(const config::TrackUse& use) const;
    [[nodiscard]] std::vector<TrackerView> views() const;
    // Trackers of these names and kinds take the state and counts of the views (an upgrade: what
    // the previous process had found, so no tracker starts over from its initial state).
    void restore(const std::vector<TrackerView>& views);

    class Check;        // one tracker's watcher (tracker_set.cpp)
    class IcmpChannel;  // the raw ICMP sockets, one per family, every icmp tracker shares
    class ProcEvents;   // the proc connector process trackers hear starts and exits from

private:
    struct Entry {
        std::unique_ptr<Check> check;
        TimerQueue::Key key;
    };
    // A check's deadline as it stands after something it did (started, ran, heard a link):
    // deadlines that handlers move (a connect that finished) only move later, so a stale one
    // costs a wake-up that finds nothing to do, never a missed check.
    void requeue(const Entry& e);
    void processes_changed();

    Ports ports_;
    Changed changed_;
    std::unique_ptr<IcmpChannel> icmp_;  // outlives the checks that subscribe to it: declared before them
    std::unique_ptr<ProcEvents> proc_events_;
    std::map<std::string, Entry> checks_;
    std::unordered_map<TimerQueue::Key, Check*> by_key_;
    TimerQueue queue_;  // each check's next deadline: a wake-up touches only what is due
    TimerQueue::Key next_key_ = 1;
};

}  // namespace xvrrp
