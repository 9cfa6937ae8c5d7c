#include "xvrrp/timer_queue.hpp"

namespace xvrrp {

void TimerQueue::put(Order o, std::size_t place, const Node& n) {
    heaps_[o][place] = n;
    slots_[n.entry].place[o] = static_cast<Index>(place);
}

void TimerQueue::sift_up(Order o, std::size_t place) {
    auto& heap = heaps_[o];
    const Node n = heap[place];
    while (place > 0) {
        const std::size_t parent = (place - 1) / 2;
        if (!n.before(heap[parent])) break;
        put(o, place, heap[parent]);
        place = parent;
    }
    put(o, place, n);
}

void TimerQueue::sift_down(Order o, std::size_t place) {
    auto& heap = heaps_[o];
    const Node n = heap[place];
    for (;;) {
        std::size_t child = 2 * place + 1;
        if (child >= heap.size()) break;
        if (child + 1 < heap.size() && heap[child + 1].before(heap[child])) ++child;
        if (!heap[child].before(n)) break;
        put(o, place, heap[child]);
        place = child;
    }
    put(o, place, n);
}

// The node of entry e changed its time: up or down to where it belongs.
void TimerQueue::fix(Order o, Index e) {
    const std::size_t place = slots_[e].place[o];
    heaps_[o][place].time = o == kByTime ? slots_[e].at : slots_[e].from;
    if (place > 0 && heaps_[o][place].before(heaps_[o][(place - 1) / 2])) sift_up(o, place);
    else sift_down(o, place);
}

void TimerQueue::remove(Order o, Index e) {
    auto& heap = heaps_[o];
    const std::size_t place = slots_[e].place[o];
    const Node last = heap.back();
    heap.pop_back();
    if (last.entry == e) return;
    put(o, place, last);
    fix(o, last.entry);
}

void TimerQueue::erase(Index e) {
    remove(kByTime, e);
    remove(kByFrom, e);
    index_.erase(slots_[e].key);
    free_.push_back(e);
}

void TimerQueue::set(Key key, std::optional<Nanos> at, Nanos early_by) {
    const auto it = index_.find(key);
    if (!at) {
        if (it != index_.end()) erase(it->second);
        return;
    }
    const Nanos from = *at > early_by ? *at - early_by : 0;
    if (it != index_.end()) {
        Entry& e = slots_[it->second];
        if (e.at == *at && e.from == from) return;
        e.at = *at;
        e.from = from;
        fix(kByTime, it->second);
        fix(kByFrom, it->second);
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
    slots_[e] = Entry{.key = key, .at = *at, .from = from, .place = {0, 0}};
    index_.emplace(key, e);
    for (const Order o : {kByTime, kByFrom}) {
        heaps_[o].push_back(Node{.time = o == kByTime ? *at : from, .key = key, .entry = e});
        sift_up(o, heaps_[o].size() - 1);
    }
}

std::optional<TimerQueue::Nanos> TimerQueue::deadline(Key key) const {
    const auto it = index_.find(key);
    return it == index_.end() ? std::nullopt : std::optional(slots_[it->second].at);
}

std::optional<TimerQueue::Nanos> TimerQueue::next() const {
    return heaps_[kByTime].empty() ? std::nullopt : std::optional(heaps_[kByTime].front().time);
}

std::vector<TimerQueue::Key> TimerQueue::pop_due(Nanos now) {
    std::vector<Key> due;
    while (!heaps_[kByFrom].empty() && heaps_[kByFrom].front().time <= now) {
        const Node n = heaps_[kByFrom].front();
        due.push_back(n.key);
        erase(n.entry);
    }
    return due;
}

}  // namespace xvrrp
