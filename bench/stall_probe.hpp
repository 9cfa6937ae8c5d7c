// How long this machine keeps a ready thread from running: a thread sleeps to absolute 1 ms
// deadlines and records how late each wake-up is. A daemon cannot be more punctual than this, so
// the benchmarks report it beside their own lateness, in the same phases: on a shared virtual
// machine a vCPU is sometimes descheduled for tens of ms with nothing running at all.
#pragma once

#include <time.h>

#include <cstdint>
#include <thread>
#include <vector>

namespace xvrrp::bench {

class StallProbe {
public:
    StallProbe()
        : thread_([this](std::stop_token stop) {
              for (std::int64_t due = now_ns() + kPeriod; !stop.stop_requested(); due += kPeriod) {
                  const timespec ts{.tv_sec = static_cast<time_t>(due / 1'000'000'000),
                                    .tv_nsec = static_cast<long>(due % 1'000'000'000)};
                  ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
                  const std::int64_t woke = now_ns();
                  late_ms_.push_back(static_cast<double>(woke - due) / 1e6);
                  if (woke - due > kPeriod) due = woke;  // after a stall, measure the next period afresh
              }
          }) {}

    // Stops the probe; the lateness of every wake-up, in ms.
    std::vector<double> finish() {
        thread_.request_stop();
        thread_.join();
        return std::move(late_ms_);
    }

private:
    static constexpr std::int64_t kPeriod = 1'000'000;
    static std::int64_t now_ns() {
        timespec t{};
        ::clock_gettime(CLOCK_MONOTONIC, &t);
        return std::int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
    }

    std::vector<double> late_ms_;  // written by the thread until finish() joins it
    std::jthread thread_;          // last: it starts once late_ms_ exists
};

}  // namespace xvrrp::bench
