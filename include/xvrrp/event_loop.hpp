// One epoll loop for everything the controller waits on: ring buffer,
// timerfd, signalfd, netlink and sockets. Single-threaded; handlers run inline.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>

#include "xvrrp/unique_fd.hpp"

namespace xvrrp {

class EventLoop {
public:
    using Handler = std::function<void()>;

    EventLoop();

    // on_ready runs whenever fd is ready for events (EPOLLIN by default); the fd stays owned by the caller.
    void add(int fd, Handler on_ready, std::uint32_t events = 0x001 /* EPOLLIN */);
    // Waits for other events on fd from now on (EPOLLOUT to finish a write).
    void modify(int fd, std::uint32_t events);
    void remove(int fd);
    // Runs after every handler, whoever added it (the daemon's bookkeeping: frames, timers).
    void set_after_each(Handler after) { after_each_ = std::move(after); }

    // Waits up to timeout_ms (-1: forever) and runs ready handlers; returns how many ran. A handler
    // that throws is logged and the loop carries on.
    int run_once(int timeout_ms);
    // Runs until stop() is called from a handler.
    void run();
    void stop() { stopped_ = true; }

private:
    UniqueFd epoll_;
    std::unordered_map<int, std::shared_ptr<Handler>> handlers_;
    bool stopped_ = false;
    Handler after_each_;
};

// A monotonic timerfd for the loop: arm(), disarm(), ack() on expiry.
class TimerFd {
public:
    TimerFd();
    void arm_at(std::uint64_t monotonic_ns);
    void arm_after(std::uint64_t ns);
    void disarm();
    // Reads the expiry count so the fd stops being readable.
    std::uint64_t ack();
    [[nodiscard]] int fd() const { return fd_.get(); }

private:
    UniqueFd fd_;
    std::uint64_t armed_at_ = 0;  // the absolute time set last, until it expires (0: none)
};

}  // namespace xvrrp
