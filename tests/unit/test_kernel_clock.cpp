// Choosing the tick XDP's fail-safe clock trusts (include/xvrrp/kernel_clock.hpp): the configured
// CONFIG_HZ only when the kernel's own clocks agree with it.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "xvrrp/kernel_clock.hpp"

using namespace xvrrp;
using Source = TickChoice::Source;

namespace {

constexpr std::uint64_t kBoot = 4'294'667'296ULL;  // jiffies start near the 32-bit wrap
constexpr std::uint64_t kUptimeNs = 123'456'789'000ULL;

// Samples `ticks` jiffies apart of a kernel ticking every `tick_ns`, the coarse clock `skew_ticks`
// off (the two tick grids' phase, or a sample between the jiffies and timekeeping updates).
std::pair<KernelClockSample, KernelClockSample> kernel_at(unsigned hz, std::uint64_t ticks, int skew_ticks = 0) {
    const std::uint64_t tick = tick_ns_for_hz(hz);
    const KernelClockSample first{kBoot, kUptimeNs};
    const KernelClockSample last{kBoot + ticks, kUptimeNs + (ticks + skew_ticks) * tick};
    return {first, last};
}

TickChoice choose(std::optional<unsigned> configured, const std::pair<KernelClockSample, KernelClockSample>& s) {
    return choose_tick(configured, s.first, s.second);
}

TEST(KernelClock, TickLengthsAreTheKernels) {
    EXPECT_EQ(tick_ns_for_hz(1000), 1'000'000u);
    EXPECT_EQ(tick_ns_for_hz(300), 3'333'333u);
    EXPECT_EQ(tick_ns_for_hz(250), 4'000'000u);
    EXPECT_EQ(tick_ns_for_hz(100), 10'000'000u);
}

TEST(KernelClock, AConfirmedConfigurationIsTrusted) {
    for (const unsigned hz : {100u, 250u, 300u, 1000u, 864u /* not a common one */}) {
        const auto c = choose(hz, kernel_at(hz, kMinMeasuredTicks));
        EXPECT_EQ(c.source, Source::configuration) << hz << ": " << c.reason;
        EXPECT_EQ(c.tick_ns, tick_ns_for_hz(hz)) << hz;
    }
}

TEST(KernelClock, TheTwoClocksTickGridsMayDifferByATickEitherWay) {
    for (const int skew : {-2, -1, 1, 2}) {
        const auto c = choose(250, kernel_at(250, kMinMeasuredTicks, skew));
        EXPECT_EQ(c.source, Source::configuration) << "skew " << skew << ": " << c.reason;
        EXPECT_EQ(c.tick_ns, 4'000'000u);
    }
}

// The risk the measurement removes: a file from another kernel. HZ=250 named, 1000 running would
// run the XDP clock 4x fast: a live controller's heartbeat looks stale and owned VIPs go unanswered.
TEST(KernelClock, AConfigurationFromAnotherKernelIsOverruled) {
    const auto fast = choose(250, kernel_at(1000, kMinMeasuredTicks));
    EXPECT_EQ(fast.source, Source::overruled) << fast.reason;
    EXPECT_EQ(fast.tick_ns, 1'000'000u);
    EXPECT_NE(fast.reason.find("CONFIG_HZ=250 disagrees"), std::string::npos) << fast.reason;

    const auto slow = choose(1000, kernel_at(100, kMinMeasuredTicks));
    EXPECT_EQ(slow.source, Source::overruled) << slow.reason;
    EXPECT_EQ(slow.tick_ns, 10'000'000u);
}

// 250 and 300 are the closest common pair (1/5 apart): two ticks of error still tell them apart.
TEST(KernelClock, TheClosestCommonRatesAreToldApart) {
    for (const int skew : {-2, 0, 2}) {
        const auto is300 = choose(250, kernel_at(300, kMinMeasuredTicks, skew));
        EXPECT_EQ(is300.source, Source::overruled) << "skew " << skew << ": " << is300.reason;
        EXPECT_EQ(is300.tick_ns, tick_ns_for_hz(300));
        const auto is250 = choose(300, kernel_at(250, kMinMeasuredTicks, skew));
        EXPECT_EQ(is250.source, Source::overruled) << "skew " << skew << ": " << is250.reason;
        EXPECT_EQ(is250.tick_ns, tick_ns_for_hz(250));
    }
}

TEST(KernelClock, WithoutAConfigurationACommonRateIsTakenFromTheMeasurement) {
    const auto c = choose(std::nullopt, kernel_at(300, 40));
    EXPECT_EQ(c.source, Source::measurement) << c.reason;
    EXPECT_EQ(c.tick_ns, tick_ns_for_hz(300));
}

TEST(KernelClock, AnUncommonRateWithoutAConfigurationKeepsTheHelper) {
    const auto c = choose(std::nullopt, kernel_at(864, kMinMeasuredTicks));
    EXPECT_EQ(c.source, Source::none) << c.reason;
    EXPECT_EQ(c.tick_ns, 0u);
    // and a configuration naming the wrong uncommon rate does not help it
    const auto wrong = choose(500, kernel_at(864, kMinMeasuredTicks));
    EXPECT_EQ(wrong.source, Source::none) << wrong.reason;
    EXPECT_EQ(wrong.tick_ns, 0u);
}

TEST(KernelClock, TooFewTicksMeasureNothing) {
    const auto c = choose(250, kernel_at(250, kMinMeasuredTicks - 1));
    EXPECT_EQ(c.source, Source::none) << c.reason;
    EXPECT_EQ(c.tick_ns, 0u);
    const KernelClockSample s{kBoot, kUptimeNs};
    EXPECT_EQ(choose_tick(250, s, s).tick_ns, 0u) << "jiffies stood still";
    const auto backwards = choose_tick(250, {kBoot + 30, kUptimeNs}, s);
    EXPECT_EQ(backwards.tick_ns, 0u) << "samples in the wrong order";
    EXPECT_NE(backwards.reason.find("advanced -30 ticks"), std::string::npos) << backwards.reason;
    EXPECT_EQ(choose_tick(250, s, {kBoot + 30, kUptimeNs}).tick_ns, 0u) << "the coarse clock stood still";
}

TEST(KernelClock, ConfigHzReadsPlainFiles) {
    const std::string path = ::testing::TempDir() + "xvrrp_kernel_config";
    std::ofstream(path) << "# CONFIG_HZ_100 is not set\nCONFIG_HZ_300=y\nCONFIG_HZ=300\nCONFIG_HZ_PERIODIC=n\n";
    EXPECT_EQ(config_hz(path), 300u);
    EXPECT_EQ(configured_hz({path + ".missing", path}), 300u) << "the first file that names one";
    std::ofstream(path) << "CONFIG_NO_HZ=y\n";
    EXPECT_EQ(configured_hz({path}), std::nullopt);
    EXPECT_EQ(config_hz(path), std::nullopt);
    std::ofstream(path) << "CONFIG_HZ=0\n";
    EXPECT_EQ(config_hz(path), std::nullopt);
    std::remove(path.c_str());
    EXPECT_EQ(config_hz(path), std::nullopt) << "a missing file";
}

}  // namespace
