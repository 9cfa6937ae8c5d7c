#include "xvrrp/event_ring.hpp"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

#include "xvrrp/error.hpp"

namespace xvrrp {

namespace {
int on_sample(void* ctx, void* data, size_t size) {
    if (size < sizeof(xvrrp_event)) return 0;  // not ours; never trust the size
    xvrrp_event ev;
    std::memcpy(&ev, data, sizeof(ev));
    (*static_cast<EventRing::Handler*>(ctx))(ev);
    return 0;
}
}  // namespace

void EventRing::Deleter::operator()(ring_buffer* rb) const noexcept { ring_buffer__free(rb); }

EventRing::EventRing(int ringbuf_map_fd, Handler handler)
    : handler_(std::make_unique<Handler>(std::move(handler))) {
    rb_.reset(ring_buffer__new(ringbuf_map_fd, on_sample, handler_.get(), nullptr));
    if (!rb_) throw_errno(errno, "ring_buffer__new");
}

EventRing::~EventRing() = default;
EventRing::EventRing(EventRing&&) noexcept = default;
EventRing& EventRing::operator=(EventRing&&) noexcept = default;

int EventRing::fd() const { return ring_buffer__epoll_fd(rb_.get()); }

int EventRing::consume() { return check_libbpf(ring_buffer__consume(rb_.get()), "ring_buffer__consume"); }

}  // namespace xvrrp
