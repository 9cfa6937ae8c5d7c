#include "xvrrp/master_down_sweep.hpp"

#include <algorithm>

namespace xvrrp {

namespace {

constexpr MasterDownSweep::Nanos kNsPerCs = 10'000'000;

// How long a sweep may wait for this master: after the master's last advert before a sweep
// (at most one interval back), its deadline is at least Master_Down_Interval - interval ahead, so
// a healthy master is never put on the exact timer. Master_Down_Interval is the entry's deadline
// less its last advert, as XDP computed it.
MasterDownSweep::Nanos pace(const xvrrp_peer& p) {
    const MasterDownSweep::Nanos interval = MasterDownSweep::Nanos{p.adver_int_cs} * kNsPerCs;
    const MasterDownSweep::Nanos down_interval =
        p.down_deadline_ns > p.last_advert_ns ? p.down_deadline_ns - p.last_advert_ns : 0;
    const MasterDownSweep::Nanos pace = down_interval > 2 * interval ? down_interval - interval : interval;
    return std::clamp(pace, MasterDownSweep::kMinPeriod, MasterDownSweep::kMaxPeriod);
}

}  // namespace

bool MasterDownSweep::watch(Id id, std::uint32_t slot, Nanos now) {
    const xvrrp_peer p = read_(slot);
    if (p.flags & XVRRP_PEER_F_TIMER_ARMED || !p.adverts) {
        drop(id);
        return (p.flags & XVRRP_PEER_F_TIMER_ARMED) != 0;
    }
    if (const auto it = at_.find(id); it != at_.end()) {
        entries_[it->second].slot = slot;
    } else {
        if (entries_.empty()) {
            period_ = kMaxPeriod;
            next_sweep_ = now + kMaxPeriod;
        }
        at_.emplace(id, entries_.size());
        entries_.push_back(Entry{.id = id, .slot = slot});
    }
    // A faster master sweeps sooner from now on (the next sweep may come closer, never later).
    period_ = std::min(period_, pace(p));
    next_sweep_ = std::min(next_sweep_, now + period_);
    soon_.cancel(id);
    if (p.down_deadline_ns <= next_sweep_) soon_.set(id, p.down_deadline_ns);
    return true;
}

void MasterDownSweep::unwatch(Id id) { drop(id); }

void MasterDownSweep::drop(Id id) {
    soon_.cancel(id);
    const auto it = at_.find(id);
    if (it == at_.end()) return;
    const std::size_t place = it->second;
    at_.erase(it);
    if (place + 1 != entries_.size()) {
        entries_[place] = entries_.back();
        at_[entries_[place].id] = place;
    }
    entries_.pop_back();
}

// Reads the entry: dropped when the kernel watches it or it was reset; down once its deadline
// passed; otherwise on the exact timer if its deadline comes before the next sweep.
MasterDownSweep::Verdict MasterDownSweep::look(Id id, std::uint32_t slot, Nanos now, Nanos* interval) {
    const xvrrp_peer p = read_(slot);
    if (p.flags & XVRRP_PEER_F_TIMER_ARMED || !p.adverts) return Verdict::Drop;
    if (p.down_deadline_ns <= now) return Verdict::Down;
    if (p.down_deadline_ns <= next_sweep_) soon_.set(id, p.down_deadline_ns);
    if (interval) *interval = pace(p);
    return Verdict::Keep;
}

std::vector<MasterDownSweep::Id> MasterDownSweep::due(Nanos now) {
    std::vector<Id> down;
    for (const TimerQueue::Key key : soon_.pop_due(now)) {
        const auto id = static_cast<Id>(key);
        const auto it = at_.find(id);
        if (it == at_.end()) continue;
        const Verdict v = look(id, entries_[it->second].slot, now);
        if (v == Verdict::Down) down.push_back(id);
        if (v != Verdict::Keep) drop(id);
    }
    if (entries_.empty() || now < next_sweep_) return down;

    next_sweep_ = now + period_;
    Nanos shortest = kMaxPeriod;
    for (std::size_t i = 0; i < entries_.size();) {
        const Entry e = entries_[i];
        Nanos interval = kMaxPeriod;
        const Verdict v = look(e.id, e.slot, now, &interval);
        if (v == Verdict::Down) down.push_back(e.id);
        if (v != Verdict::Keep) {
            drop(e.id);  // the last entry moves here: look at place i again
            continue;
        }
        shortest = std::min(shortest, interval);
        ++i;
    }
    period_ = shortest;  // from the next sweep on: an interval that left no longer sets the pace
    return down;
}

std::optional<MasterDownSweep::Nanos> MasterDownSweep::next() const {
    if (entries_.empty()) return std::nullopt;
    const auto soon = soon_.next();
    return soon ? std::min(*soon, next_sweep_) : next_sweep_;
}

}  // namespace xvrrp
