// The tick XDP's fail-safe clock uses, measured on the running kernel (bpf/xvrrp_clock.bpf.c run by
// BPF_PROG_TEST_RUN) and checked against the kernel configuration file before it is trusted.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "privileged.hpp"
#include "xvrrp/kernel_clock.hpp"

using namespace xvrrp;
using Source = TickChoice::Source;

namespace {

TEST(KernelClockBpf, TheKernelsClocksAreSampledAtLeastTheNeededTicksApart) {
    XVRRP_REQUIRE_ROOT();
    const auto samples = sample_kernel_clock();
    ASSERT_TRUE(samples) << "the clock program did not load or run";
    const auto& [first, last] = *samples;
    EXPECT_GE(last.jiffies - first.jiffies, kMinMeasuredTicks);
    // jiffies only count ticks the coarse clock has seen: the coarse clock moved by about as many
    // ticks of some length between 1 ms (HZ=1000) and 10 ms (HZ=100), plus two ticks of phase.
    const std::uint64_t ticks = last.jiffies - first.jiffies;
    const std::uint64_t elapsed = last.coarse_ns - first.coarse_ns;
    EXPECT_GE(elapsed, (ticks - 2) * 1'000'000) << ticks << " ticks";
    EXPECT_LE(elapsed, (ticks + 2) * 10'000'000) << ticks << " ticks";
}

TEST(KernelClockBpf, ThisKernelsConfigurationIsConfirmed) {
    XVRRP_REQUIRE_ROOT();
    std::optional<unsigned> hz;
    for (const auto& file : kernel_configuration_files())
        if ((hz = config_hz(file))) break;
    if (!hz) GTEST_SKIP() << "no kernel configuration names CONFIG_HZ here: nothing to confirm";
    const TickChoice choice = kernel_tick(kernel_configuration_files());
    EXPECT_EQ(choice.source, Source::configuration) << choice.reason;
    EXPECT_EQ(choice.tick_ns, tick_ns_for_hz(*hz)) << choice.reason;
    EXPECT_EQ(kernel_tick_ns(), choice.tick_ns) << "the tick the dataplane loads with";
}

// A configuration file from another kernel (a custom kernel installed without its own) names
// another HZ: the running kernel's rate wins, so the XDP clock neither runs fast nor slow.
TEST(KernelClockBpf, AConfigurationFromAnotherKernelIsOverruledByTheRunningOne) {
    XVRRP_REQUIRE_ROOT();
    const TickChoice truth = kernel_tick(kernel_configuration_files());
    if (!truth.tick_ns) GTEST_SKIP() << "this kernel's tick is not a common one: " << truth.reason;
    const unsigned wrong_hz = truth.tick_ns == tick_ns_for_hz(1000) ? 250 : 1000;
    const std::string path = ::testing::TempDir() + "xvrrp_other_kernel_config";
    std::ofstream(path) << "CONFIG_HZ_" << wrong_hz << "=y\nCONFIG_HZ=" << wrong_hz << "\n";
    const TickChoice choice = kernel_tick({path});
    std::remove(path.c_str());
    EXPECT_EQ(choice.source, Source::overruled) << choice.reason;
    EXPECT_EQ(choice.tick_ns, truth.tick_ns) << choice.reason;
}

}  // namespace
