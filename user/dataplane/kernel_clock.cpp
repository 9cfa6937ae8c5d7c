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

#include "xvrrp/skeleton.hpp"
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

std::optional<std::pair<KernelClockSample, KernelClockSample>> sample_kernel_clock() {
    using Skel = SkeletonPtr<xvrrp_clock_bpf, xvrrp_clock_bpf__destroy>;
    const Skel skel(xvrrp_clock_bpf__open_and_load());
    if (!skel || !skel->bss) return std::nullopt;
    const int fd = bpf_program__fd(skel->progs.xvrrp_clock_sample);
    std::array<unsigned char, 64> frame{};  // XDP wants an Ethernet header's worth; the program reads none
    const auto sample = [&]() -> std::optional<KernelClockSample> {
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_size_in = frame.size());
        if (bpf_prog_test_run_opts(fd, &opts) != 0) return std::nullopt;
        return KernelClockSample{skel->bss->sample_jiffies, skel->bss->sample_coarse_ns};
    };
    const auto first = sample();
    if (!first) return std::nullopt;
    // 2 ms steps: kMinMeasuredTicks take 24-240 ms for HZ 1000-100; a second bounds stalled jiffies.
    for (int step = 0; step < 500; ++step) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        const auto last = sample();
        if (!last) return std::nullopt;
        if (last->jiffies >= first->jiffies + kMinMeasuredTicks) return std::make_pair(*first, *last);
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

TickChoice kernel_tick(const std::vector<std::string>& config_files) {
    std::optional<unsigned> hz;
    for (const auto& file : config_files)
        if ((hz = config_hz(file))) break;
    const auto samples = sample_kernel_clock();
    if (!samples)
        return {0, TickChoice::Source::none,
                "the kernel's clocks could not be sampled (BPF_PROG_TEST_RUN failed or jiffies stalled), so " +
                    std::string(hz ? "CONFIG_HZ=" + std::to_string(*hz) + " is not trusted" : "no HZ is known")};
    return choose_tick(hz, samples->first, samples->second);
}

std::uint64_t kernel_tick_ns() {
    static const std::uint64_t tick_ns = [] {
        const TickChoice choice = kernel_tick(kernel_configuration_files());
        using Source = TickChoice::Source;
        const auto level = choice.source == Source::configuration ? spdlog::level::debug
                           : choice.source == Source::measurement ? spdlog::level::info
                                                                  : spdlog::level::warn;
        if (choice.source == Source::none)
            spdlog::log(level, "dataplane fail-safe clock: the coarse clock helper (a call per ARP or NS answer): {}",
                        choice.reason);
        else
            spdlog::log(level, "dataplane fail-safe clock: jiffies, {} ns a tick ({})", choice.tick_ns, choice.reason);
        return choice.tick_ns;
    }();
    return tick_ns;
}

}  // namespace xvrrp
