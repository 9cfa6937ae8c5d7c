// The kernel's tick length, for XDP's fail-safe clock (bpf/ctl.h reads jiffies x tick instead of
// calling the coarse clock helper). A kernel configuration file names CONFIG_HZ; the running kernel
// is asked before that is trusted, since a file from another kernel would run the XDP clock fast
// (a live controller looks dead: owned VIPs go unanswered) or slow (the fail-safes trip late).
// Asking takes about 24 ticks, so the daemon does it beside its loop (TickMeasurement::poll from a
// timer) and XDP calls the helper until the answer is in.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct xvrrp_clock_bpf;  // the skeleton of bpf/xvrrp_clock.bpf.c

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

// Where this kernel's configuration may be: /boot/config-<release>, then /proc/config.gz.
std::vector<std::string> kernel_configuration_files();

// CONFIG_HZ from the first of config_files that names one.
std::optional<unsigned> configured_hz(const std::vector<std::string>& config_files);

// Measures the tick without blocking: the first sample of the kernel's clocks (bpf/xvrrp_clock.bpf.c
// run by BPF_PROG_TEST_RUN) when made, the choice from poll() once kMinMeasuredTicks have passed
// (24-240 ms for HZ 1000-100). configured_hz(config_files) is what it checks.
class TickMeasurement {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr Clock::duration kGiveUp = std::chrono::seconds(1);  // jiffies that stall

    explicit TickMeasurement(const std::vector<std::string>& config_files = kernel_configuration_files());
    ~TickMeasurement();
    TickMeasurement(const TickMeasurement&) = delete;  // one program, one first sample: no copies, no moved-from husks
    TickMeasurement& operator=(const TickMeasurement&) = delete;

    // The choice once the ticks are counted, or when the measurement cannot go on (the program
    // does not load or run, or kGiveUp passed); nullopt: ask again later.
    std::optional<TickChoice> poll(Clock::time_point now = Clock::now());

private:
    struct SkelDeleter {
        void operator()(xvrrp_clock_bpf* s) const noexcept;
    };
    std::optional<KernelClockSample> sample() const;

    std::unique_ptr<xvrrp_clock_bpf, SkelDeleter> skel_;
    std::optional<unsigned> configured_hz_;
    std::optional<KernelClockSample> first_;
    Clock::time_point started_;
};

// TickMeasurement polled to its end, sleeping between polls.
TickChoice kernel_tick(const std::vector<std::string>& config_files);

// Logs a choice at the level it deserves (a configuration overruled or no tick: a warning).
void log_tick_choice(const TickChoice& choice);

// kernel_tick(kernel_configuration_files()), worked out once a process and logged: for tests and
// benchmarks, which set it with Dataplane::set_fail_safe_tick as the daemon does.
std::uint64_t kernel_tick_ns();

}  // namespace xvrrp
