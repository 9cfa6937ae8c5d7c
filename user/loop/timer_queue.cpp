#include "xvrrp/timer_queue.hpp"

namespace xvrrp {

void TimerQueue::set(Key key, std::optional<Nanos> at) {
    const auto it = at_.find(key);
    if (it != at_.end()) {
        if (at && *at == it->second) return;
        by_time_.erase({it->second, key});
        if (!at) {
            at_.erase(it);
            return;
        }
        it->second = *at;
    } else {
        if (!at) return;
        at_.emplace(key, *at);
    }
    by_time_.emplace(*at, key);
}

std::optional<TimerQueue::Nanos> TimerQueue::deadline(Key key) const {
    const auto it = at_.find(key);
    return it == at_.end() ? std::nullopt : std::optional(it->second);
}

std::optional<TimerQueue::Nanos> TimerQueue::next() const {
    return by_time_.empty() ? std::nullopt : std::optional(by_time_.begin()->first);
}

std::vector<TimerQueue::Key> TimerQueue::pop_due(Nanos now) {
    std::vector<Key> due;
    while (!by_time_.empty() && by_time_.begin()->first <= now) {
        const Key k = by_time_.begin()->second;
        by_time_.erase(by_time_.begin());
        at_.erase(k);
        due.push_back(k);
    }
    return due;
}

}  // namespace xvrrp
