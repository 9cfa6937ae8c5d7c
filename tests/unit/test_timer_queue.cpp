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

// The heap against a plain model: random sets, moves, cancels and pops, checked at every step.
TEST(TimerQueue, AgreesWithASimpleModelUnderRandomUse) {
    std::mt19937_64 rng(7);
    TimerQueue q;
    std::map<TimerQueue::Key, TimerQueue::Nanos> model;
    TimerQueue::Nanos now = 0;
    for (int step = 0; step < 20000; ++step) {
        const TimerQueue::Key key = rng() % 64;
        switch (rng() % 4) {
            case 0:
            case 1: {
                const TimerQueue::Nanos at = now + rng() % 1000;
                q.set(key, at);
                model[key] = at;
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
                    if (w <= now) want.push_back({{w, k}, k});
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
        for (const auto& [k, w] : model) next = next ? std::min(*next, w) : w;
        ASSERT_EQ(q.next(), next) << "step " << step;
        if (model.count(key)) {
            ASSERT_EQ(q.deadline(key), model[key]);
        }
    }
}

}  // namespace
}  // namespace xvrrp
