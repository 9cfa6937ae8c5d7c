#include "xvrrp/kernel_clock.hpp"

#include <sys/utsname.h>
#include <zlib.h>

#include <array>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <memory>
#include <thread>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>

#include "xvrrp_clock.skel.h"

namespace xvrrp {

namespace {
bool agrees(std::uint64_t measured_ns, std::uint64_t tick_ns) {
    const std::uint64_t off = measured_ns > tick_ns ? measured_ns - tick_ns : tick_ns - measured_ns;
    return off * kTickTolerance <= tick_ns;
}
}  // namespace

TickChoice choose_tick(std::optional<unsigned> configured_hz, KernelClockSample first, KernelClockSample last) {
    using Source = TickChoice::Source;
    if (last.jiffies < first.jiffies + kMinMeasuredTicks || last.coarse_ns <= first.coarse_ns)
        return {0, Source::none,
                "jiffies advanced " + std::to_string(static_cast<std::int64_t>(last.jiffies - first.jiffies)) +
                    " ticks between the samples, " +
                    std::to_string(kMinMeasuredTicks) + " needed to measure the tick"};
    const std::uint64_t ticks = last.jiffies - first.jiffies;
    const std::uint64_t measured = (last.coarse_ns - first.coarse_ns + ticks / 2) / ticks;
    const std::string seen =
        "measured " + std::to_string(measured) + " ns a tick over " + std::to_string(ticks) + " ticks";
    if (configured_hz && *configured_hz && agrees(measured, tick_ns_for_hz(*configured_hz)))
        return {tick_ns_for_hz(*configured_hz), Source::configuration,
                "CONFIG_HZ=" + std::to_string(*configured_hz) + ", " + seen};
    const std::string against = configured_hz ? "the kernel configuration's CONFIG_HZ=" +
                                                    std::to_string(*configured_hz) + " disagrees (" + seen + ")"
                                              : "no kernel configuration names CONFIG_HZ (" + seen + ")";
    for (const unsigned hz : {1000u, 300u, 250u, 100u})
        if (agrees(measured, tick_ns_for_hz(hz)))
            return {tick_ns_for_hz(hz), configured_hz ? Source::overruled : Source::measurement,
                    against + ": HZ=" + std::to_string(hz) + " from the measurement"};
    return {0, Source::none, against + ", and no common HZ agrees"};
}

std::optional<unsigned> config_hz(const std::string& path) {
    const std::unique_ptr<gzFile_s, decltype(&gzclose)> f(gzopen(path.c_str(), "rb"), &gzclose);
    if (!f) return std::nullopt;
    char line[256];
    while (gzgets(f.get(), line, sizeof(line))) {
        if (std::strncmp(line, "CONFIG_HZ=", 10) == 0) {
            const auto hz = static_cast<unsigned>(std::strtoul(line + 10, nullptr, 10));
            return hz ? std::optional<unsigned>(hz) : std::nullopt;
        }
    }
    return std::nullopt;
}

std::vector<std::string> kernel_configuration_files() {
    utsname u{};
    std::vector<std::string> files;
    if (::uname(&u) == 0) files.push_back(std::string("/boot/config-") + u.release);
    files.emplace_back("/proc/config.gz");
    return files;
}

std::optional<unsigned> configured_hz(const std::vector<std::string>& config_files) {
    for (const auto& file : config_files)
        if (auto hz = config_hz(file)) return hz;
    return std::nullopt;
}

void TickMeasurement::SkelDeleter::operator()(xvrrp_clock_bpf* s) const noexcept { xvrrp_clock_bpf__destroy(s); }

TickMeasurement::TickMeasurement(const std::vector<std::string>& config_files)
    : configured_hz_(configured_hz(config_files)), started_(Clock::now()) {
    skel_.reset(xvrrp_clock_bpf__open_and_load());
    if (skel_ && skel_->bss) first_ = sample();
}

TickMeasurement::~TickMeasurement() = default;

std::optional<KernelClockSample> TickMeasurement::sample() const {
    std::array<unsigned char, 64> frame{};  // XDP wants an Ethernet header's worth; the program reads none
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_size_in = frame.size());
    if (bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.xvrrp_clock_sample), &opts) != 0) return std::nullopt;
    return KernelClockSample{skel_->bss->sample_jiffies, skel_->bss->sample_coarse_ns};
}

std::optional<TickChoice> TickMeasurement::poll(Clock::time_point now) {
    const auto cannot = [&](const std::string& why) {
        return TickChoice{0, TickChoice::Source::none,
                          why + ", so " +
                              (configured_hz_ ? "CONFIG_HZ=" + std::to_string(*configured_hz_) + " is not trusted"
                                              : std::string("no HZ is known"))};
    };
    if (!first_) return cannot("the kernel's clocks could not be sampled (the clock program did not load or run)");
    const auto last = sample();
    if (!last) return cannot("the kernel's clocks could not be sampled (BPF_PROG_TEST_RUN failed)");
    if (last->jiffies >= first_->jiffies + kMinMeasuredTicks) return choose_tick(configured_hz_, *first_, *last);
    if (now - started_ >= kGiveUp) return cannot("jiffies did not advance " + std::to_string(kMinMeasuredTicks) +
                                                 " ticks in a second");
    return std::nullopt;
}

TickChoice kernel_tick(const std::vector<std::string>& config_files) {
    TickMeasurement measurement(config_files);
    for (;;) {
        if (auto choice = measurement.poll()) return *choice;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

void log_tick_choice(const TickChoice& choice) {
    using Source = TickChoice::Source;
    const auto level = choice.source == Source::configuration ? spdlog::level::debug
                       : choice.source == Source::measurement ? spdlog::level::info
                                                              : spdlog::level::warn;
    if (choice.source == Source::none)
        spdlog::log(level, "dataplane fail-safe clock: the coarse clock helper (a call per ARP or NS answer): {}",
                    choice.reason);
    else
        spdlog::log(level, "dataplane fail-safe clock: jiffies, {} ns a tick ({})", choice.tick_ns, choice.reason);
}

std::uint64_t kernel_tick_ns() {
    static const std::uint64_t tick_ns = [] {
        const TickChoice choice = kernel_tick(kernel_configuration_files());
        log_tick_choice(choice);
        return choice.tick_ns;
    }();
    return tick_ns;
}

}  // namespace xvrrp
