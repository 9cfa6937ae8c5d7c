#include "xvrrp/event_ring.hpp"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

#include "xvrrp/error.hpp"

namespace xvrrp {

namespace {
// libbpf stops consuming, with this sample consumed, when the callback returns < 0.
constexpr int kBudgetSpent = -E2BIG;

int on_sample(void* raw, void* data, size_t size) {
    auto& ctx = *static_cast<EventRing::Context*>(raw);
    if (size >= sizeof(xvrrp_event)) {  // else not ours; never trust the size
        xvrrp_event ev;
        std::memcpy(&ev, data, sizeof(ev));
        ctx.handler(ev);
    }
    return ++ctx.taken >= ctx.budget ? kBudgetSpent : 0;
}
}  // namespace

void EventRing::Deleter::operator()(ring_buffer* rb) const noexcept { ring_buffer__free(rb); }

EventRing::EventRing(int ringbuf_map_fd, Handler handler)
    : ctx_(std::make_unique<Context>(Context{.handler = std::move(handler)})) {
    rb_.reset(ring_buffer__new(ringbuf_map_fd, on_sample, ctx_.get(), nullptr));
    if (!rb_) throw_errno(errno, "ring_buffer__new");
}

EventRing::~EventRing() = default;
EventRing::EventRing(EventRing&&) noexcept = default;
EventRing& EventRing::operator=(EventRing&&) noexcept = default;

int EventRing::fd() const { return ring_buffer__epoll_fd(rb_.get()); }

int EventRing::consume(std::size_t max) {
    if (max == 0) return 0;
    ctx_->budget = max;
    ctx_->taken = 0;
    const int rc = ring_buffer__consume(rb_.get());
    if (rc < 0 && rc != kBudgetSpent) throw_errno(rc, "ring_buffer__consume");
    return static_cast<int>(ctx_->taken);
}

}  // namespace xvrrp
