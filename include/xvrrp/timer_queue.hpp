// The loop's deadlines, one per key, earliest first. The loop arms its one timerfd at next() and
// on expiry handles only the keys that are due, instead of asking every router on every wake-up.
// Routers, the heartbeat, the resync and later check, script and notify timeouts all plug in by
// key. Every operation is O(log n), and none allocates once the queue has held as many keys:
// two binary heaps (by deadline, by window start) holding the time they order by, so a sift
// reads only the heap's own array, and each entry knowing its place in both, so a deadline moves
// in place.
//
// A key may also say how much earlier its work may run to the same effect (early_by): the loop
// still wakes at the earliest deadline, but then takes every key whose window has opened. A
// thousand backups whose masters no kernel timer watches each look at the dataplane once per
// Master_Down_Interval; with a window of half an advert interval they share a wake-up per window
// instead of waking the loop one by one (see RouterDriver::may_run_early_by).
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
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
    [[nodiscard]] std::size_t size() const { return index_.size(); }

private:
    using Index = std::uint32_t;
    struct Entry {
        Key key;
        Nanos at;
        Nanos from;
        Index place[2];  // in heaps_[kByTime], heaps_[kByFrom]
    };
    struct Node {
        Nanos time;  // at or from, as the heap orders
        Key key;     // ties by key, so that what is handed out together comes in a stable order
        Index entry;
        [[nodiscard]] bool before(const Node& o) const { return time != o.time ? time < o.time : key < o.key; }
    };
    enum Order { kByTime = 0, kByFrom = 1 };
    void put(Order o, std::size_t place, const Node& n);
    void sift_up(Order o, std::size_t place);
    void sift_down(Order o, std::size_t place);
    void fix(Order o, Index e);
    void remove(Order o, Index e);
    void erase(Index e);
    std::vector<Entry> slots_;
    std::vector<Index> free_;
    std::unordered_map<Key, Index> index_;
    std::vector<Node> heaps_[2];
};

}  // namespace xvrrp
