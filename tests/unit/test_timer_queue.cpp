#include "xvrrp/timer_queue.hpp"

#include <gtest/gtest.h>

namespace xvrrp {
namespace {

TEST(TimerQueue, HandsOutWhatIsDueEarliestFirstAndKeepsTheRest) {
    TimerQueue q;
    q.set(7, 300);
    q.set(3, 100);
    q.set(5, 200);
    EXPECT_EQ(q.next(), 100u);
    EXPECT_EQ(q.pop_due(250), (std::vector<TimerQueue::Key>{3, 5}));
    EXPECT_EQ(q.size(), 1u);
    EXPECT_EQ(q.next(), 300u);
    EXPECT_TRUE(q.pop_due(299).empty());
    EXPECT_EQ(q.pop_due(300), (std::vector<TimerQueue::Key>{7}));
    EXPECT_FALSE(q.next());
}

TEST(TimerQueue, ASecondSetReplacesTheDeadlineAndNoneCancels) {
    TimerQueue q;
    q.set(1, 100);
    q.set(1, 500);  // moved later: nothing due at 100 any more
    EXPECT_TRUE(q.pop_due(100).empty());
    EXPECT_EQ(q.deadline(1), 500u);
    q.set(1, 50);  // and earlier again
    EXPECT_EQ(q.next(), 50u);
    q.set(1, std::nullopt);
    EXPECT_FALSE(q.next());
    EXPECT_EQ(q.size(), 0u);
    q.cancel(42);  // unknown keys are fine
    q.set(2, 10);
    q.set(2, 10);  // the same deadline twice is one entry
    EXPECT_EQ(q.size(), 1u);
    EXPECT_EQ(q.pop_due(10), (std::vector<TimerQueue::Key>{2}));
}

TEST(TimerQueue, EqualDeadlinesAllFire) {
    TimerQueue q;
    for (TimerQueue::Key k = 0; k < 1000; ++k) q.set(k, 1000 + k % 3);
    EXPECT_EQ(q.pop_due(1001).size(), 667u);
    EXPECT_EQ(q.size(), 333u);
}

}  // namespace
}  // namespace xvrrp
