#include "xvrrp/timer_queue.hpp"

namespace xvrrp {

void TimerQueue::erase(Key key, const Entry& e) {
    by_time_.erase({e.at, key});
    by_from_.erase({e.from, key});
}

void TimerQueue::set(Key key, std::optional<Nanos> at, Nanos early_by) {
    const auto it = entries_.find(key);
    const Entry next{.at = at.value_or(0), .from = at && *at > early_by ? *at - early_by : 0};
    if (it != entries_.end()) {
        if (at && next.at == it->second.at && next.from == it->second.from) return;
        erase(key, it->second);
        if (!at) {
            entries_.erase(it);
            return;
        }
        it->second = next;
    } else {
        if (!at) return;
        entries_.emplace(key, next);
    }
    by_time_.emplace(next.at, key);
    by_from_.emplace(next.from, key);
}

std::optional<TimerQueue::Nanos> TimerQueue::deadline(Key key) const {
    const auto it = entries_.find(key);
    return it == entries_.end() ? std::nullopt : std::optional(it->second.at);
}

std::optional<TimerQueue::Nanos> TimerQueue::next() const {
    return by_time_.empty() ? std::nullopt : std::optional(by_time_.begin()->first);
}

std::vector<TimerQueue::Key> TimerQueue::pop_due(Nanos now) {
    std::vector<Key> due;
    while (!by_from_.empty() && by_from_.begin()->first <= now) {
        const Key k = by_from_.begin()->second;
        const auto it = entries_.find(k);
        erase(k, it->second);
        entries_.erase(it);
        due.push_back(k);
    }
    return due;
}

}  // namespace xvrrp
