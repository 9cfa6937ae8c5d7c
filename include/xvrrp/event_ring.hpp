// The dataplane's event ring buffer, consumed from an epoll loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "xvrrp/abi.h"

struct ring_buffer;

namespace xvrrp {

class EventRing {
public:
    using Handler = std::function<void(const xvrrp_event&)>;

    EventRing(int ringbuf_map_fd, Handler handler);
    ~EventRing();
    EventRing(EventRing&&) noexcept;
    EventRing& operator=(EventRing&&) noexcept;

    // Becomes readable when events are waiting.
    [[nodiscard]] int fd() const;
    // Hands waiting events to the handler, at most max of them (the rest wait for the next
    // call: the fd stays readable), so one wake-up never starves timers; returns how many.
    int consume(std::size_t max = SIZE_MAX);

    struct Context {
        Handler handler;
        std::size_t budget = 0;
        std::size_t taken = 0;
    };

private:
    struct Deleter {
        void operator()(ring_buffer* rb) const noexcept;
    };
    // Heap-held so libbpf's callback context stays valid when the ring moves.
    std::unique_ptr<Context> ctx_;
    std::unique_ptr<ring_buffer, Deleter> rb_;
};

}  // namespace xvrrp
