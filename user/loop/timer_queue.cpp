#include "xvrrp/timer_queue.hpp"

namespace xvrrp {

void TimerQueue::put(std::size_t place, const Node& n) {
    heap_[place] = n;
    slots_[n.entry].place = static_cast<Index>(place);
}

void TimerQueue::sift_up(std::size_t place) {
    const Node n = heap_[place];
    while (place > 0) {
        const std::size_t parent = (place - 1) / 2;
        if (!n.before(heap_[parent])) break;
        put(place, heap_[parent]);
        place = parent;
    }
    put(place, n);
}

void TimerQueue::sift_down(std::size_t place) {
    const Node n = heap_[place];
    for (;;) {
        std::size_t child = 2 * place + 1;
        if (child >= heap_.size()) break;
        if (child + 1 < heap_.size() && heap_[child + 1].before(heap_[child])) ++child;
        if (!heap_[child].before(n)) break;
        put(place, heap_[child]);
        place = child;
    }
    put(place, n);
}

// The node at place changed its time: up or down to where it belongs.
void TimerQueue::fix(std::size_t place) {
    if (place > 0 && heap_[place].before(heap_[(place - 1) / 2])) sift_up(place);
    else sift_down(place);
}

void TimerQueue::erase(Index e) {
    const std::size_t place = slots_[e].place;
    const Node last = heap_.back();
    heap_.pop_back();
    if (last.entry != e) {
        put(place, last);
        fix(place);
    }
    index_.erase(slots_[e].key);
    free_.push_back(e);
}

void TimerQueue::set(Key key, std::optional<Nanos> at) {
    const auto it = index_.find(key);
    if (!at) {
        if (it != index_.end()) erase(it->second);
        return;
    }
    if (it != index_.end()) {
        const std::size_t place = slots_[it->second].place;
        if (heap_[place].time == *at) return;
        heap_[place].time = *at;
        fix(place);
        return;
    }
    Index e;
    if (!free_.empty()) {
        e = free_.back();
        free_.pop_back();
    } else {
        e = static_cast<Index>(slots_.size());
        slots_.emplace_back();
    }
    slots_[e] = Entry{.key = key, .place = 0};
    index_.emplace(key, e);
    heap_.push_back(Node{.time = *at, .key = key, .entry = e});
    sift_up(heap_.size() - 1);
}

std::optional<TimerQueue::Nanos> TimerQueue::deadline(Key key) const {
    const auto it = index_.find(key);
    return it == index_.end() ? std::nullopt : std::optional(heap_[slots_[it->second].place].time);
}

std::optional<TimerQueue::Nanos> TimerQueue::next() const {
    return heap_.empty() ? std::nullopt : std::optional(heap_.front().time);
}

std::vector<TimerQueue::Key> TimerQueue::pop_due(Nanos now) {
    std::vector<Key> due;
    while (!heap_.empty() && heap_.front().time <= now) {
        due.push_back(heap_.front().key);
        erase(heap_.front().entry);
    }
    return due;
}

}  // namespace xvrrp
