// What trackers do to a router, as keepalived does it: pure rules, no I/O (the trackers that
// observe the world live in tracker_set.hpp).
//
// A tracker is up or down (interface, script, process, the built-in checks) or reads a number
// (file). An instance uses it with a weight w and maybe `reverse`:
// - up/down: w > 0 adds w while up, w < 0 subtracts |w| while down, reverse swaps up and down;
//   w = 0: down (up, reversed) is FAULT.
// - file: the value x w (x -1 reversed), clamped to -254..253; -254 is FAULT; w = 0: any value
//   but 0 is FAULT.
// The effective priority is the base plus every delta, clamped to 1..254; the owner's 255 never
// changes and no delta lifts anyone to 255.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace xvrrp::track {

constexpr int kMaxWeight = 253;      // up/down trackers: -253..253
constexpr int kMaxFileWeight = 254;  // file and process trackers: -254..254
constexpr int kFaultValue = -254;    // a file's value that means FAULT

struct Effect {
    int delta = 0;
    bool fault = false;
    bool operator==(const Effect&) const = default;
};

Effect up_down_effect(int weight, bool reverse, bool up);
Effect file_effect(long long value, int weight, bool reverse);

// The number in a tracked file, read as strtol with base 0 does ("0x10", "010", " -20\n"):
// missing, empty or garbage is 0; out of range is clamped.
long long parse_file_value(std::string_view text);

std::uint8_t effective_priority(std::uint8_t base, int delta);

// Consecutive results to change state, as keepalived's scripts count them: `rise` successes in
// a row bring a down tracker up, `fall` failures in a row take an up one down. A tracker starts
// up, unless init_fail, and then its first failure takes it down whatever `fall` says
// (keepalived: the state is not yet known).
class RiseFall {
public:
    RiseFall(std::uint32_t rise, std::uint32_t fall, bool init_fail);
    // Feeds one result; true when the state changed.
    bool feed(bool ok);
    [[nodiscard]] bool up() const { return up_; }
    // As a previous process left it (an upgrade): settled up or down.
    void set(bool up) {
        up_ = up;
        count_ = up ? rise_ + fall_ - 1 : 0;
    }

private:
    std::uint32_t rise_, fall_;
    std::uint32_t count_;  // 0..rise-1 while down (successes so far), rise..rise+fall-1 while up
    bool up_;
};

}  // namespace xvrrp::track
