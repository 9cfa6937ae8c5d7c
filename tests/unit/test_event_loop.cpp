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

TEST(EventLoop, AbsoluteDeadlineInThePastFiresAtOnceAndDisarmStopsIt) {
    EventLoop loop;
    TimerFd timer;
    int fired = 0;
    loop.add(timer.fd(), [&] {
        timer.ack();
        ++fired;
    });
    timer.arm_at(monotonic_ns() - 1'000'000);
    EXPECT_EQ(loop.run_once(1000), 1);
    timer.arm_after(50'000'000);
    timer.disarm();
    EXPECT_EQ(loop.run_once(100), 0);
    EXPECT_EQ(fired, 1);
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
