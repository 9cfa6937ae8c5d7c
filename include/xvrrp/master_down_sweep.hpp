// The daemon's stand-in for the dataplane's per-peer master-down timers, where the kernel gave
// none. XDP arms a bpf_timer per peer and re-arms it on every advert; on 6.18 bpf_timer_init
// allocates with kmalloc_nolock and gives out only a few hundred, so most backups of a large
// deployment have no kernel timer. Their master's deadline is still in the mmapped peer entry
// (down_deadline_ns, pushed on by every advert without waking anyone): this class reads it.
//
// Watching costs a load per backup per sweep, and nothing per advert: a sweep every `period`
// (Master_Down_Interval less one advert interval of the fastest master watched, so a healthy
// master never comes near its deadline between two sweeps) reads every watched entry; one whose deadline falls before the next
// sweep goes on an exact timer at that deadline, where it is read again. A deadline that passed
// is reported once and the entry dropped: the driver takes it like the kernel's MASTER_DOWN event
// and asks to be watched again when it next hears an advert. An entry whose kernel timer got
// armed meanwhile (XDP retries on every advert) is dropped too: the kernel reports it.
//
// A deadline only moves later between two reports of the dataplane (adverts from the same
// master); a new master or a new interval is an event, and the driver then watches again, which
// reads the entry at once. So no deadline is passed unseen whatever the period.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>
#include <vector>

#include "xvrrp/abi.h"
#include "xvrrp/timer_queue.hpp"

namespace xvrrp {

class MasterDownSweep {
public:
    using Nanos = std::uint64_t;
    using Id = std::uint32_t;
    // The peer entry at a slot of the dataplane's array, as it is now.
    using PeerReader = std::function<xvrrp_peer(std::uint32_t slot)>;

    explicit MasterDownSweep(PeerReader read) : read_(std::move(read)) {}

    // Watches the master of router `id`, whose peer entry is at `slot` (replacing any earlier
    // watch of it). True when its silence will be reported: by the kernel's timer (then nothing
    // is kept here) or by due(); false when the entry holds no master.
    bool watch(Id id, std::uint32_t slot, Nanos now);
    void unwatch(Id id);
    // The routers whose master's deadline has passed, each reported once.
    std::vector<Id> due(Nanos now);
    // When due() next has work; none while nothing is watched.
    [[nodiscard]] std::optional<Nanos> next() const;
    [[nodiscard]] std::size_t size() const { return entries_.size(); }
    [[nodiscard]] Nanos period() const { return period_; }

    static constexpr Nanos kMinPeriod = 1'000'000;  // 1 ms: a bound on wake-ups, not on precision
    static constexpr Nanos kMaxPeriod = 1'000'000'000;

private:
    struct Entry {
        Id id;
        std::uint32_t slot;
    };
    enum class Verdict { Keep, Drop, Down };
    Verdict look(Id id, std::uint32_t slot, Nanos now, Nanos* interval = nullptr);
    void drop(Id id);

    PeerReader read_;
    std::vector<Entry> entries_;              // swept in order; removal swaps in the last
    std::unordered_map<Id, std::size_t> at_;  // id -> place in entries_
    TimerQueue soon_;                         // deadlines before the next sweep, by id
    Nanos next_sweep_ = 0;
    Nanos period_ = kMaxPeriod;
};

}  // namespace xvrrp
