// The loop's deadlines, one per key, earliest first. The loop arms its one timerfd at next() and
// on expiry handles only the keys that are due, instead of asking every router on every wake-up.
// Routers, the heartbeat, the resync and later check, script and notify timeouts all plug in by
// key. Every operation is O(log n).
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

    // Sets key's deadline, replacing any it had; none cancels it.
    void set(Key key, std::optional<Nanos> at);
    void cancel(Key key) { set(key, std::nullopt); }
    [[nodiscard]] std::optional<Nanos> deadline(Key key) const;
    [[nodiscard]] std::optional<Nanos> next() const;
    // Removes the keys due at now (deadline <= now) and returns them, earliest first.
    std::vector<Key> pop_due(Nanos now);
    [[nodiscard]] std::size_t size() const { return at_.size(); }

private:
    std::set<std::pair<Nanos, Key>> by_time_;
    std::unordered_map<Key, Nanos> at_;
};

}  // namespace xvrrp
