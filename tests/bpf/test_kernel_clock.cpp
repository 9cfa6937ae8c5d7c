// The tick XDP's fail-safe clock uses, measured on the running kernel (bpf/xvrrp_clock.bpf.c run by
// BPF_PROG_TEST_RUN) and checked against the kernel configuration file before it is trusted.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "privileged.hpp"
#include "xvrrp/kernel_clock.hpp"

using namespace xvrrp;
using Source = TickChoice::Source;

namespace {

// Without a configuration to check, the measurement alone names the tick, after kMinMeasuredTicks
// and not before; it never blocks: poll() answers at once either way.
TEST(KernelClockBpf, AMeasurementAnswersOnlyOnceTheTicksAreCounted) {
    XVRRP_REQUIRE_ROOT();
    const auto start = TickMeasurement::Clock::now();
    TickMeasurement measurement(std::vector<std::string>{});
    EXPECT_FALSE(measurement.poll()) << "no tick passes this fast";
    std::optional<TickChoice> choice;
    int polls = 1;
    while (!(choice = measurement.poll())) {
        ++polls;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    const auto took = TickMeasurement::Clock::now() - start;
    EXPECT_EQ(choice->source, Source::measurement) << choice->reason;
    // 24 jiffies from the first sample: more than 23 whole ticks; under the give-up time.
    EXPECT_GE(took, std::chrono::nanoseconds((kMinMeasuredTicks - 1) * choice->tick_ns)) << choice->reason;
    EXPECT_LT(took, TickMeasurement::kGiveUp) << choice->reason;
    EXPECT_GT(polls, 2);
}

TEST(KernelClockBpf, ThisKernelsConfigurationIsConfirmed) {
    XVRRP_REQUIRE_ROOT();
    const std::optional<unsigned> hz = configured_hz(kernel_configuration_files());
    if (!hz) GTEST_SKIP() << "no kernel configuration names CONFIG_HZ here: nothing to confirm";
    const TickChoice choice = kernel_tick(kernel_configuration_files());
    EXPECT_EQ(choice.source, Source::configuration) << choice.reason;
    EXPECT_EQ(choice.tick_ns, tick_ns_for_hz(*hz)) << choice.reason;
    EXPECT_EQ(kernel_tick_ns(), choice.tick_ns) << "the tick the tests' dataplanes use";
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
