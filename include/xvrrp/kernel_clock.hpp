// The kernel's tick length, for XDP's fail-safe clock (bpf/ctl.h reads jiffies x tick instead of
// calling the coarse clock helper). A kernel configuration file names CONFIG_HZ; the running kernel
// is asked before that is trusted, since a file from another kernel would run the XDP clock fast
// (a live controller looks dead: owned VIPs go unanswered) or slow (the fail-safes trip late).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace xvrrp {

// Jiffies and the coarse CLOCK_MONOTONIC, read together in the kernel.
struct KernelClockSample {
    std::uint64_t jiffies = 0;
    std::uint64_t coarse_ns = 0;
};

// The kernel's TICK_NSEC for a CONFIG_HZ.
constexpr std::uint64_t tick_ns_for_hz(unsigned hz) { return (1'000'000'000ULL + hz / 2) / hz; }

// Fewest ticks between two samples that make a measurement, and how far a measured tick may be from
// a candidate's (1/kTickTolerance of it). The jiffies and timekeeping grids may be out of phase by up
// to a tick, so 24 ticks measure within 1/24, or 2/24 in the rare sample taken between the two
// updates: inside 1/11. And 250 and 300, the closest pair of common HZ values, stay apart: 300
// measured 2 ticks high reads 3.61 ms, 250 two low 3.67 ms, each more than 1/11 from the other's tick.
inline constexpr std::uint64_t kMinMeasuredTicks = 24;
inline constexpr std::uint64_t kTickTolerance = 11;

struct TickChoice {
    enum class Source {
        none,                // no tick trusted: XDP keeps the coarse clock helper
        configuration,       // CONFIG_HZ, confirmed by the measurement
        measurement,         // no CONFIG_HZ found: the common HZ the measurement agrees with
        overruled,           // CONFIG_HZ disagreed with the measurement, which chose another
    };
    std::uint64_t tick_ns = 0;  // 0 with Source::none
    Source source = Source::none;
    std::string reason;  // for the log
};

// Pure: the tick to trust, given the configured HZ and two samples of the kernel's clocks. The
// configured HZ if the measured tick agrees with it (within 1/kTickTolerance); else the common HZ
// (1000, 300, 250, 100) that agrees; else none. Too few ticks between the samples: none.
TickChoice choose_tick(std::optional<unsigned> configured_hz, KernelClockSample first, KernelClockSample last);

// CONFIG_HZ from a kernel configuration file (plain or gzip), if it names one.
std::optional<unsigned> config_hz(const std::string& path);

// Two samples of the kernel's clocks at least kMinMeasuredTicks apart, by BPF_PROG_TEST_RUN of
// bpf/xvrrp_clock.bpf.c (kMinMeasuredTicks: 96 ms at HZ=250; at most a second). nullopt if the
// program cannot load or run (not root), or jiffies did not advance.
std::optional<std::pair<KernelClockSample, KernelClockSample>> sample_kernel_clock();

// Where this kernel's configuration may be: /boot/config-<release>, then /proc/config.gz.
std::vector<std::string> kernel_configuration_files();

// The first of config_files naming CONFIG_HZ, checked against sample_kernel_clock().
TickChoice kernel_tick(const std::vector<std::string>& config_files);

// kernel_tick(kernel_configuration_files()), worked out once a process and logged: the tick XDP's
// fail-safes use (0: the helper).
std::uint64_t kernel_tick_ns();

}  // namespace xvrrp
