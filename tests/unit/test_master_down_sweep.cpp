// The daemon's sweep of peer entries that no kernel timer watches: a silent master is reported
// at its deadline exactly, once; a healthy one costs a load per sweep and never an exact timer.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "xvrrp/master_down_sweep.hpp"

namespace xvrrp {
namespace {

using Nanos = MasterDownSweep::Nanos;
constexpr Nanos kMs = 1'000'000;
constexpr Nanos kT0 = 1'000'000'000'000;

// Peer entries as XDP keeps them: each advert pushes the deadline to now + 3 intervals.
struct Peers {
    std::vector<xvrrp_peer> slots = std::vector<xvrrp_peer>(64);
    std::size_t reads = 0;
    MasterDownSweep::PeerReader reader() {
        return [this](std::uint32_t slot) {
            ++reads;
            return slots.at(slot);
        };
    }
    void advert(std::uint32_t slot, Nanos now, Nanos interval) {
        auto& p = slots.at(slot);
        ++p.adverts;
        p.adver_int_cs = static_cast<std::uint16_t>(interval / (10 * kMs));
        p.last_advert_ns = now;
        p.down_deadline_ns = now + 3 * interval;
    }
};

TEST(MasterDownSweep, AnEntryWithoutAMasterIsNotWatched) {
    Peers peers;
    MasterDownSweep sweep(peers.reader());
    EXPECT_FALSE(sweep.watch(16, 0, kT0));
    EXPECT_EQ(sweep.size(), 0u);
    EXPECT_FALSE(sweep.next());
}

TEST(MasterDownSweep, AMasterTheKernelWatchesIsLeftToTheKernel) {
    Peers peers;
    MasterDownSweep sweep(peers.reader());
    peers.advert(0, kT0, 100 * kMs);
    ASSERT_TRUE(sweep.watch(16, 0, kT0));
    ASSERT_EQ(sweep.size(), 1u);
    // XDP's retry got a timer: the next look drops the entry, and the kernel reports the silence.
    peers.slots[0].flags = XVRRP_PEER_F_TIMER_ARMED;
    EXPECT_TRUE(sweep.due(*sweep.next()).empty());
    EXPECT_EQ(sweep.size(), 0u);
    EXPECT_FALSE(sweep.next());
    EXPECT_TRUE(sweep.watch(16, 0, kT0)) << "armed: watched, by the kernel";
    EXPECT_EQ(sweep.size(), 0u);
}

TEST(MasterDownSweep, ASilentMasterIsReportedAtItsDeadlineOnce) {
    Peers peers;
    MasterDownSweep sweep(peers.reader());
    peers.advert(3, kT0, 100 * kMs);
    ASSERT_TRUE(sweep.watch(16, 3, kT0));
    EXPECT_EQ(sweep.period(), 200 * kMs) << "Master_Down_Interval less an interval: the master's pace";
    const Nanos deadline = kT0 + 300 * kMs;
    std::vector<Nanos> wakeups;
    std::vector<MasterDownSweep::Id> reported;
    while (const auto at = sweep.next()) {
        ASSERT_LE(*at, deadline + 1) << "never a wake-up past the deadline";
        wakeups.push_back(*at);
        const auto down = sweep.due(*at);
        if (!down.empty()) {
            EXPECT_EQ(*at, deadline) << "reported at the deadline, not at a sweep";
            reported.insert(reported.end(), down.begin(), down.end());
        }
        if (wakeups.size() > 10) break;
    }
    EXPECT_EQ(reported, std::vector<MasterDownSweep::Id>{16});
    EXPECT_EQ(sweep.size(), 0u) << "dropped once reported: the driver watches again on the next advert";
    EXPECT_LE(wakeups.size(), 2u) << "a sweep at 200 ms, the deadline at 300";
}

TEST(MasterDownSweep, AnEarlierDeadlineFromANewIntervalIsReadWhenWatchedAgain) {
    Peers peers;
    MasterDownSweep sweep(peers.reader());
    peers.advert(0, kT0, 1000 * kMs);
    ASSERT_TRUE(sweep.watch(16, 0, kT0));
    ASSERT_EQ(sweep.next(), kT0 + 1000 * kMs);
    // The master now advertises every 10 ms (an event: the driver watches again).
    peers.advert(0, kT0 + 5 * kMs, 10 * kMs);
    ASSERT_TRUE(sweep.watch(16, 0, kT0 + 5 * kMs));
    EXPECT_EQ(sweep.period(), 20 * kMs);
    EXPECT_EQ(sweep.next(), kT0 + 25 * kMs) << "the next sweep comes at the new, faster pace";
    EXPECT_TRUE(sweep.due(kT0 + 25 * kMs).empty());
    EXPECT_EQ(sweep.next(), kT0 + 35 * kMs) << "the deadline (35 ms) comes before the next sweep (45): exact";
    EXPECT_EQ(sweep.due(kT0 + 35 * kMs), std::vector<MasterDownSweep::Id>{16});
}

TEST(MasterDownSweep, AnUnwatchedRouterIsNeverReported) {
    Peers peers;
    MasterDownSweep sweep(peers.reader());
    peers.advert(0, kT0, 100 * kMs);
    peers.advert(1, kT0, 1000 * kMs);
    ASSERT_TRUE(sweep.watch(16, 0, kT0));
    ASSERT_TRUE(sweep.watch(17, 1, kT0));
    sweep.unwatch(16);
    EXPECT_EQ(sweep.size(), 1u);
    std::vector<MasterDownSweep::Id> reported;
    for (int i = 0; i < 50 && sweep.next(); ++i) {
        const auto down = sweep.due(*sweep.next());
        reported.insert(reported.end(), down.begin(), down.end());
    }
    EXPECT_EQ(reported, std::vector<MasterDownSweep::Id>{17});
    EXPECT_EQ(sweep.period(), 1000 * kMs) << "the 100 ms master left: sweeps slow down to 1 s";
}

// Many masters at several intervals, advertising on their own phases until each dies at a random
// time; the loop wakes only when the sweep asks. Every silent master is reported exactly at its
// deadline, none alive is, and a healthy master is never read more than once per sweep.
TEST(MasterDownSweep, RandomMastersAreReportedAtTheirDeadlinesAndOnlyThen) {
    std::mt19937_64 rng(20261205);
    Peers peers;
    MasterDownSweep sweep(peers.reader());
    struct Master {
        Nanos interval, next_advert, dies_at;
    };
    std::vector<Master> masters;
    const Nanos intervals[] = {10 * kMs, 100 * kMs, 1000 * kMs};
    for (std::uint32_t slot = 0; slot < 48; ++slot) {
        const Nanos interval = intervals[rng() % 3];
        masters.push_back({interval, kT0 + rng() % interval, kT0 + 1000 * kMs + rng() % (4000 * kMs)});
        peers.advert(slot, kT0, interval);
        ASSERT_TRUE(sweep.watch(16 + slot, slot, kT0));
    }
    std::map<MasterDownSweep::Id, Nanos> reported;
    Nanos now = kT0;
    std::size_t wakeups = 0;
    while (now < kT0 + 10'000 * kMs) {
        Nanos next_advert = UINT64_MAX;
        for (const auto& m : masters)
            if (m.next_advert < m.dies_at) next_advert = std::min(next_advert, m.next_advert);
        const auto wake = sweep.next();
        if (!wake && next_advert == UINT64_MAX) break;
        now = std::min(wake.value_or(UINT64_MAX), next_advert);
        for (std::uint32_t slot = 0; slot < masters.size(); ++slot) {
            auto& m = masters[slot];
            if (m.next_advert == now && now < m.dies_at) {
                peers.advert(slot, now, m.interval);
                m.next_advert += m.interval;
            }
        }
        if (wake && *wake == now) {
            ++wakeups;
            for (const auto id : sweep.due(now)) {
                ASSERT_FALSE(reported.count(id)) << "reported twice: " << id;
                reported[id] = now;
            }
        }
    }
    ASSERT_EQ(reported.size(), masters.size());
    for (std::uint32_t slot = 0; slot < masters.size(); ++slot)
        EXPECT_EQ(reported[16 + slot], peers.slots[slot].down_deadline_ns)
            << "slot " << slot << ": at its deadline (last advert + 3 intervals)";
    // Sweeps at 10 ms while a 10 ms master lives (at most ~5 s of them), plus one exact wake-up
    // per death: far fewer than the adverts.
    EXPECT_LE(wakeups, 5000 / 20 + 100 + masters.size());
    EXPECT_LE(peers.reads, (wakeups + 1) * masters.size()) << "a load per watched master per wake-up at most";
}

}  // namespace
}  // namespace xvrrp
