// The loop's deadlines, one per key, earliest first. The loop arms its one timerfd at next() and
// on expiry handles only the keys that are due, instead of asking every router on every wake-up.
// Routers, the heartbeat, the resync, the master-down sweep and later check, script and notify
// timeouts all plug in by key. Every operation is O(log n), and none allocates once the queue has
// held as many keys: a binary heap holding the time it orders by, so a sift reads only the
// heap's own array, and each entry knowing its place in it, so a deadline moves in place.
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

    // Sets key's deadline, replacing any it had; none cancels it.
    void set(Key key, std::optional<Nanos> at);
    void cancel(Key key) { set(key, std::nullopt); }
    [[nodiscard]] std::optional<Nanos> deadline(Key key) const;
    // The earliest deadline: when the loop must wake.
    [[nodiscard]] std::optional<Nanos> next() const;
    // Removes the keys due at now and returns them, earliest first.
    std::vector<Key> pop_due(Nanos now);
    [[nodiscard]] std::size_t size() const { return index_.size(); }

private:
    using Index = std::uint32_t;
    struct Entry {
        Key key;
        Index place;  // in heap_
    };
    struct Node {
        Nanos time;
        Key key;  // ties by key, so that what is handed out together comes in a stable order
        Index entry;
        [[nodiscard]] bool before(const Node& o) const { return time != o.time ? time < o.time : key < o.key; }
    };
    void put(std::size_t place, const Node& n);
    void sift_up(std::size_t place);
    void sift_down(std::size_t place);
    void fix(std::size_t place);
    void erase(Index e);
    std::vector<Entry> slots_;
    std::vector<Index> free_;
    std::unordered_map<Key, Index> index_;
    std::vector<Node> heap_;
};

}  // namespace xvrrp
