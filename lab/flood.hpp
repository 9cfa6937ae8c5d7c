// A flood of frames from inside a namespace, as fast as one thread and sendmmsg go: for the
// lab tests and benchmarks that check a flood on one segment leaves another alone. Bounded in
// count and in time.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "lab.hpp"
#include "xvrrp/packet.hpp"

namespace xvrrp::test {

struct FloodResult {
    std::uint64_t sent = 0;
    double seconds = 0;
};

// Sends frames round-robin out of ifname until count are sent or limit has passed.
FloodResult flood(const Netns& ns, const std::string& ifname, const std::vector<Bytes>& frames, std::uint64_t count,
                  std::chrono::milliseconds limit);

// Valid VRRPv3 adverts for vrid from src (IPv4, to the multicast group) alternating two
// priorities: each one a change the dataplane would report.
std::vector<Bytes> alternating_adverts(const Mac& src_mac, const IpAddress& src, std::uint8_t vrid,
                                       std::uint8_t priority_a, std::uint8_t priority_b, const IpAddress& vip);

}  // namespace xvrrp::test
