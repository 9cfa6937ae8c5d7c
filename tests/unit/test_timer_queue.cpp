#include "xvrrp/timer_queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

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

// A key that may run early is handed out with whatever is due once its window is open, but never
// wakes the loop before its own deadline.
TEST(TimerQueue, AKeyMayRunEarlyInsideItsWindowButDoesNotWakeTheLoopEarly) {
    TimerQueue q;
    q.set(1, 1000);
    q.set(2, 1040, 50);  // may run from 990
    q.set(3, 1100, 50);  // from 1050
    EXPECT_EQ(q.next(), 1000u) << "the loop wakes at the earliest deadline, not at a window";
    EXPECT_TRUE(q.pop_due(989).empty());
    EXPECT_EQ(q.pop_due(1000), (std::vector<TimerQueue::Key>{2, 1})) << "2's window opened at 990";
    EXPECT_EQ(q.next(), 1100u);
    EXPECT_EQ(q.deadline(3), 1100u);
    q.set(3, 1100);  // the window closed: due at its deadline only
    EXPECT_TRUE(q.pop_due(1099).empty());
    EXPECT_EQ(q.pop_due(1100), (std::vector<TimerQueue::Key>{3}));
    q.set(4, 30, 100);  // a window reaching back past zero opens at zero
    EXPECT_EQ(q.pop_due(0), (std::vector<TimerQueue::Key>{4}));
    EXPECT_EQ(q.size(), 0u);
}

// With windows, many keys whose deadlines are spread over time share wake-ups: the count of
// wake-ups is bounded by the span over the window, not by the number of keys.
TEST(TimerQueue, WindowsGatherSpreadDeadlinesIntoFewWakeUps) {
    TimerQueue q;
    constexpr TimerQueue::Nanos kWindow = 50;
    for (TimerQueue::Key k = 0; k < 1000; ++k) q.set(k, 1000 + k, kWindow);  // one per ns over 1000 ns
    std::size_t wakeups = 0, handed = 0;
    while (const auto at = q.next()) {
        ++wakeups;
        handed += q.pop_due(*at).size();
    }
    EXPECT_EQ(handed, 1000u);
    EXPECT_LE(wakeups, 1000 / kWindow + 1);
    EXPECT_GE(wakeups, 1000 / (kWindow + 1));
}

// The heaps against a plain model: random sets, moves, cancels and pops, checked at every step.
TEST(TimerQueue, AgreesWithASimpleModelUnderRandomUse) {
    struct Want {
        TimerQueue::Nanos at, from;
    };
    std::mt19937_64 rng(7);
    TimerQueue q;
    std::map<TimerQueue::Key, Want> model;
    TimerQueue::Nanos now = 0;
    for (int step = 0; step < 20000; ++step) {
        const TimerQueue::Key key = rng() % 64;
        switch (rng() % 4) {
            case 0:
            case 1: {
                const TimerQueue::Nanos at = now + rng() % 1000, early = rng() % 3 ? 0 : rng() % 200;
                q.set(key, at, early);
                model[key] = Want{at, at > early ? at - early : 0};
                break;
            }
            case 2:
                q.cancel(key);
                model.erase(key);
                break;
            default: {
                now += rng() % 100;
                std::vector<std::pair<std::pair<TimerQueue::Nanos, TimerQueue::Key>, TimerQueue::Key>> want;
                for (const auto& [k, w] : model)
                    if (w.from <= now) want.push_back({{w.from, k}, k});
                std::sort(want.begin(), want.end());
                std::vector<TimerQueue::Key> keys;
                for (const auto& w : want) {
                    keys.push_back(w.second);
                    model.erase(w.second);
                }
                ASSERT_EQ(q.pop_due(now), keys) << "step " << step;
            }
        }
        ASSERT_EQ(q.size(), model.size());
        std::optional<TimerQueue::Nanos> next;
        for (const auto& [k, w] : model) next = next ? std::min(*next, w.at) : w.at;
        ASSERT_EQ(q.next(), next) << "step " << step;
        if (model.count(key)) {
            ASSERT_EQ(q.deadline(key), model[key].at);
        }
    }
}

}  // namespace
}  // namespace xvrrp
