// The dataplane's event ring buffer, consumed from an epoll loop.
#pragma once

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
    // Hands every waiting event to the handler; returns how many.
    int consume();

private:
    struct Deleter {
        void operator()(ring_buffer* rb) const noexcept;
    };
    // Heap-held so libbpf's callback context stays valid when the ring moves.
    std::unique_ptr<Handler> handler_;
    std::unique_ptr<ring_buffer, Deleter> rb_;
};

}  // namespace xvrrp
