// The tracking rules (tracking.hpp): the weight table, the file rules, the clamps and the
// rise/fall counting, as keepalived has them.
#include "xvrrp/tracking.hpp"

#include <gtest/gtest.h>

namespace xvrrp::track {
namespace {

TEST(Tracking, WeightTableSignTimesReverseTimesState) {
    struct Row {
        int weight;
        bool reverse, up;
        Effect expected;
    };
    const Row rows[] = {
        {20, false, true, {20, false}},   {20, false, false, {0, false}},   // w > 0 adds while up
        {-20, false, true, {0, false}},   {-20, false, false, {-20, false}},  // w < 0 subtracts while down
        {20, true, true, {0, false}},     {20, true, false, {20, false}},   // reverse swaps up and down
        {-20, true, true, {-20, false}},  {-20, true, false, {0, false}},
        {0, false, true, {0, false}},     {0, false, false, {0, true}},     // 0: down is FAULT
        {0, true, true, {0, true}},       {0, true, false, {0, false}},
    };
    for (const Row& r : rows)
        EXPECT_EQ(up_down_effect(r.weight, r.reverse, r.up), r.expected)
            << "weight " << r.weight << " reverse " << r.reverse << " up " << r.up;
}

TEST(Tracking, FileValueTimesWeightClampedAndMinus254IsFault) {
    EXPECT_EQ(file_effect(10, 1, false), (Effect{10, false}));
    EXPECT_EQ(file_effect(10, 1, true), (Effect{-10, false}));
    EXPECT_EQ(file_effect(-5, 3, false), (Effect{-15, false}));
    EXPECT_EQ(file_effect(1000, 1, false), (Effect{253, false})) << "clamped to 253";
    EXPECT_EQ(file_effect(-253, 1, false), (Effect{-253, false}));
    EXPECT_EQ(file_effect(-254, 1, false), (Effect{0, true})) << "-254 is FAULT";
    EXPECT_EQ(file_effect(-100000, 1, false), (Effect{0, true})) << "clamped to -254: FAULT";
    EXPECT_EQ(file_effect(254, 1, true), (Effect{0, true}));
    EXPECT_EQ(file_effect(1LL << 62, 254, false), (Effect{253, false})) << "no overflow";
    EXPECT_EQ(file_effect(0, 0, false), (Effect{0, false})) << "weight 0: zero is fine";
    EXPECT_EQ(file_effect(7, 0, false), (Effect{0, true})) << "weight 0: anything else is FAULT";
}

TEST(Tracking, FileParsedLikeStrtolBaseZero) {
    EXPECT_EQ(parse_file_value("20"), 20);
    EXPECT_EQ(parse_file_value("  -20\n"), -20);
    EXPECT_EQ(parse_file_value("0x10"), 16);
    EXPECT_EQ(parse_file_value("010"), 8);
    EXPECT_EQ(parse_file_value("12abc"), 12);
    EXPECT_EQ(parse_file_value(""), 0);
    EXPECT_EQ(parse_file_value("garbage"), 0);
    EXPECT_EQ(parse_file_value(std::string(100000, '9')), LLONG_MAX) << "out of range saturates";
}

TEST(Tracking, EffectivePriorityClampsAndTheOwnerNeverMoves) {
    EXPECT_EQ(effective_priority(100, -20), 80);
    EXPECT_EQ(effective_priority(100, 0), 100);
    EXPECT_EQ(effective_priority(100, 200), 254);
    EXPECT_EQ(effective_priority(254, 1), 254);
    EXPECT_EQ(effective_priority(10, -50), 1);
    EXPECT_EQ(effective_priority(255, -100), 255);
    EXPECT_EQ(effective_priority(255, 100), 255);
}

// Feeds a sequence ("+" success, "-" failure); returns the state after each ("U"/"D").
std::string run(RiseFall rf, const std::string& results) {
    std::string out;
    for (char c : results) {
        rf.feed(c == '+');
        out += rf.up() ? 'U' : 'D';
    }
    return out;
}

TEST(Tracking, RiseAndFallCountConsecutiveResults) {
    // rise 2, fall 3, starting up: the first failure decides (keepalived: state not yet known).
    EXPECT_EQ(run(RiseFall(2, 3, false), "-++"), "DDU");
    EXPECT_EQ(run(RiseFall(2, 3, false), "+--+---"), "UUUUUUD") << "after a success: fall failures in a row";
    EXPECT_EQ(run(RiseFall(2, 3, false), "+---+-++"), "UUUDDDDU") << "back up after rise successes in a row";
    EXPECT_EQ(run(RiseFall(2, 3, true), "+-++"), "DDDU") << "init_fail starts down; a failure restarts the count";
    EXPECT_EQ(run(RiseFall(1, 1, false), "+-+-"), "UDUD");
}

TEST(Tracking, FeedReportsOnlyChanges) {
    RiseFall rf(1, 2, false);
    EXPECT_FALSE(rf.feed(true));
    EXPECT_FALSE(rf.feed(false));
    EXPECT_TRUE(rf.feed(false));
    EXPECT_FALSE(rf.feed(false));
    EXPECT_TRUE(rf.feed(true));
}

}  // namespace
}  // namespace xvrrp::track
