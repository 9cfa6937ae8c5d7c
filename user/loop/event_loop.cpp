#include "xvrrp/event_loop.hpp"

#include <sys/epoll.h>
#include <sys/timerfd.h>

#include <array>
#include <cerrno>

#include <spdlog/spdlog.h>

#include "xvrrp/error.hpp"

namespace xvrrp {

EventLoop::EventLoop() : epoll_(check_sys(::epoll_create1(EPOLL_CLOEXEC), "epoll_create1")) {}

void EventLoop::add(int fd, Handler on_ready, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    check_sys(::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev), "epoll_ctl add");
    handlers_[fd] = std::make_shared<Handler>(std::move(on_ready));
}

void EventLoop::modify(int fd, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    check_sys(::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev), "epoll_ctl mod");
}

void EventLoop::remove(int fd) {
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    handlers_.erase(fd);
}

int EventLoop::run_once(int timeout_ms) {
    std::array<epoll_event, 32> events{};
    int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), timeout_ms);
    if (n < 0) {
        if (errno == EINTR) return 0;
        throw_errno(errno, "epoll_wait");
    }
    int ran = 0;
    for (int i = 0; i < n; ++i) {
        auto it = handlers_.find(events[static_cast<size_t>(i)].data.fd);
        if (it == handlers_.end()) continue;  // removed by an earlier handler this round
        auto handler = it->second;             // keeps it alive if the handler removes itself
        // A handler's error is its own: the others and the bookkeeping still run, and the
        // daemon with them (trackers, scripts and the FIFO add handlers the daemon does not wrap).
        try {
            (*handler)();
        } catch (const std::exception& e) {
            spdlog::error("event handler: {} (carrying on)", e.what());
        }
        if (after_each_) after_each_();
        ++ran;
    }
    return ran;
}

void EventLoop::run() {
    stopped_ = false;
    while (!stopped_) run_once(-1);
}

TimerFd::TimerFd() : fd_(check_sys(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC), "timerfd_create")) {}

namespace {
void set_timer(int fd, std::uint64_t ns, int flags) {
    itimerspec its{};
    its.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000ULL);
    its.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000ULL);
    check_sys(::timerfd_settime(fd, flags, &its, nullptr), "timerfd_settime");
}
}  // namespace

// A zero time would disarm the timer, so "now or earlier" becomes 1 ns.
// Armed already at that time (the loop re-arms after every event): no system call.
void TimerFd::arm_at(std::uint64_t monotonic_ns) {
    const std::uint64_t at = monotonic_ns ? monotonic_ns : 1;
    if (at == armed_at_) return;
    set_timer(fd_.get(), at, TFD_TIMER_ABSTIME);
    armed_at_ = at;
}

void TimerFd::arm_after(std::uint64_t ns) {
    armed_at_ = 0;
    set_timer(fd_.get(), ns ? ns : 1, 0);
}

void TimerFd::disarm() {
    armed_at_ = 0;
    set_timer(fd_.get(), 0, 0);
}

std::uint64_t TimerFd::ack() {
    armed_at_ = 0;  // expired: the same time again must be set again
    std::uint64_t n = 0;
    if (::read(fd_.get(), &n, sizeof(n)) != sizeof(n)) return 0;
    return n;
}

}  // namespace xvrrp
