// The epoll loop and its timerfd, without privileges.
#include <gtest/gtest.h>

#include "xvrrp/dataplane.hpp"
#include "xvrrp/event_loop.hpp"

using namespace xvrrp;

TEST(EventLoop, RunsTheHandlerOfAnExpiredTimer) {
    EventLoop loop;
    TimerFd timer;
    int fired = 0;
    loop.add(timer.fd(), [&] {
        EXPECT_EQ(timer.ack(), 1u);
        ++fired;
    });
    timer.arm_after(1'000'000);
    while (fired == 0) loop.run_once(1000);
    EXPECT_EQ(fired, 1);
    // Not re-armed: nothing more to run.
    EXPECT_EQ(loop.run_once(20), 0);
}

// A loop with one timer whose handler acks it and counts.
struct CountedTimer {
    CountedTimer() {
        loop.add(timer.fd(), [this] {
            timer.ack();
            ++fired;
        });
    }
    EventLoop loop;
    TimerFd timer;
    int fired = 0;
};

TEST(EventLoop, AbsoluteDeadlineInThePastFiresAtOnceAndDisarmStopsIt) {
    CountedTimer t;
    auto& [loop, timer, fired] = t;
    timer.arm_at(monotonic_ns() - 1'000'000);
    EXPECT_EQ(loop.run_once(1000), 1);
    timer.arm_after(50'000'000);
    timer.disarm();
    EXPECT_EQ(loop.run_once(100), 0);
    EXPECT_EQ(fired, 1);
}

// The loop re-arms after every event, mostly at the time already set: that costs no system call,
// and the time once expired (acked) is set again when asked again.
TEST(EventLoop, ArmingAtTheSameTimeAgainKeepsOneExpiryAndAnExpiredOneCanBeSetAgain) {
    CountedTimer t;
    auto& [loop, timer, fired] = t;
    const std::uint64_t at = monotonic_ns() + 5'000'000;
    timer.arm_at(at);
    timer.arm_at(at);
    while (fired == 0) loop.run_once(1000);
    EXPECT_EQ(loop.run_once(20), 0) << "one expiry";
    timer.arm_at(at);  // in the past now, and expired: must fire again
    EXPECT_EQ(loop.run_once(1000), 1);
    EXPECT_EQ(fired, 2);
}

TEST(EventLoop, AHandlerMayRemoveItselfAndStopTheLoop) {
    EventLoop loop;
    TimerFd timer;
    loop.add(timer.fd(), [&] {
        timer.ack();
        loop.remove(timer.fd());
        loop.stop();
    });
    timer.arm_after(1'000'000);
    loop.run();  // returns because the handler stopped it
    timer.arm_after(1'000'000);
    EXPECT_EQ(loop.run_once(50), 0) << "removed: no longer dispatched";
}

// A handler that throws (any of them: the daemon's, a tracker's, a script's exit, the FIFO's)
// must not end the loop, and so the daemon: it is logged, the other ready handlers and the
// bookkeeping after each still run.
TEST(EventLoop, AHandlerThatThrowsIsLoggedAndTheOthersStillRun) {
    EventLoop loop;
    TimerFd first, second;
    int ran_second = 0, after = 0;
    loop.add(first.fd(), [&] {
        first.ack();
        throw std::runtime_error("epoll_ctl: No space left on device");
    });
    loop.add(second.fd(), [&] {
        second.ack();
        ++ran_second;
    });
    loop.set_after_each([&] { ++after; });
    first.arm_at(monotonic_ns() - 1'000'000);
    second.arm_at(monotonic_ns() - 1'000'000);
    int ran = 0;
    for (int k = 0; k < 10 && ran < 2; ++k) EXPECT_NO_THROW(ran += loop.run_once(100));
    EXPECT_EQ(ran, 2);
    EXPECT_EQ(ran_second, 1);
    EXPECT_EQ(after, 2);
}
