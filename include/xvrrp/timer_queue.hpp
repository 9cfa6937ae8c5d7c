// The loop's deadlines, one per key, earliest first. The loop arms its one timerfd at next() and
// on expiry handles only the keys that are due, instead of asking every router on every wake-up.
// Routers, the heartbeat, the resync and later check, script and notify timeouts all plug in by
// key. Every operation is O(log n).
//
// A key may also say how much earlier its work may run to the same effect (early_by): the loop
// still wakes at the earliest deadline, but then takes every key whose window has opened. A
// thousand backups whose masters no kernel timer watches each look at the dataplane once per
// Master_Down_Interval; with a window of half an advert interval they share a wake-up per window
// instead of waking the loop one by one (see RouterDriver::may_run_early_by).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

namespace xvrrp {

class TimerQueue {
public:
    using Key = std::uint64_t;
    using Nanos = std::uint64_t;

    // Sets key's deadline, replacing any it had; none cancels it. The key is due at `at`, and
    // may be handed out from at - early_by on.
    void set(Key key, std::optional<Nanos> at, Nanos early_by = 0);
    void cancel(Key key) { set(key, std::nullopt); }
    [[nodiscard]] std::optional<Nanos> deadline(Key key) const;
    // The earliest deadline: when the loop must wake.
    [[nodiscard]] std::optional<Nanos> next() const;
    // Removes the keys that may run at now (deadline - early_by <= now; every key due is among
    // them) and returns them, earliest window first.
    std::vector<Key> pop_due(Nanos now);
    [[nodiscard]] std::size_t size() const { return entries_.size(); }

private:
    struct Entry {
        Nanos at;
        Nanos from;
    };
    void erase(Key key, const Entry& e);
    std::set<std::pair<Nanos, Key>> by_time_;  // by deadline
    std::set<std::pair<Nanos, Key>> by_from_;  // by the start of the window
    std::unordered_map<Key, Entry> entries_;
};

}  // namespace xvrrp
