// Timestamps of VRRP adverts as they cross an interface, for the benchmarks that time adverts on
// the wire rather than trust a daemon's own account.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "lab.hpp"
#include "xvrrp/packet.hpp"

namespace xvrrp::bench {

struct SeenAdvert {
    IpAddress src;        // IPv4 source
    std::uint8_t priority;
    std::int64_t ns;      // kernel receive time, CLOCK_REALTIME
};

// IPv4 VRRP frames seen on ifname in ns for span (a bridge or a bridge port: a tap sees what the
// bridge takes). Returns them in order; *dropped (when given): adverts the socket lost, whose gaps
// would read as lateness.
std::vector<SeenAdvert> capture_adverts(const test::Netns& ns, const std::string& ifname, std::chrono::milliseconds span,
                                        std::uint64_t* dropped = nullptr);

}  // namespace xvrrp::bench
