// A client asking for every VIP, as hosts behind a gateway do: ARP requests for IPv4 VIPs and
// neighbour solicitations for IPv6 ones, in rounds, from the client's interface on each VIP's
// segment, until each has been answered by the MAC it waits for. Rounds shrink as VIPs answer
// (pending x spacing, 2-50 ms apart), so the last VIPs are timed finely while the request rate
// (1 / spacing while many are pending) stays far below what either daemon's answering path takes.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "lab.hpp"
#include "xvrrp/packet.hpp"

namespace xvrrp::bench {

struct ProbeTarget {
    IpAddress vip;
    int segment = 0;
};

struct ProbeSegment {
    std::string ifname;  // the client's interface on the segment
    Mac client_mac{};
    Mac want{};          // the answer that counts comes from this MAC
};

using SteadyTime = std::chrono::steady_clock::time_point;

// When a target started answering, bracketed by the requests: the one it answered left at
// `asked` (so it answered by then), the one before that went unanswered (so not yet at
// `unanswered`). Rounds of many requests are tens of ms apart; the arrival of the answer alone
// would date a takeover up to one round late.
struct ProbeBracket {
    std::optional<SteadyTime> unanswered, asked;
};

// Probes until every target has been answered from its segment's `want` MAC, or until limit.
// Per target, when that answer arrived (none if never); with brackets, also when it was asked.
std::vector<std::optional<SteadyTime>> probe_vips(const test::Netns& client, const std::vector<ProbeSegment>& segments,
                                                  const std::vector<ProbeTarget>& targets, std::chrono::milliseconds limit,
                                                  std::chrono::microseconds spacing = std::chrono::microseconds(20),
                                                  std::vector<ProbeBracket>* brackets = nullptr);

}  // namespace xvrrp::bench
