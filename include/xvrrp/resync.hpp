// Lost ring-buffer events (issue 6): the ring can fill, and then the dataplane
// drops events. No decision may hang on one, so the controller compares, now and
// then and whenever the drop counter moves, what the dataplane's peer entry says
// with what the controller last processed, and makes up the event it missed.
// Pure: the peer entry and the router's facts in, the missed event (if any) out.
#pragma once

#include <cstdint>
#include <optional>

#include "xvrrp/abi.h"
#include "xvrrp/vrrp_fsm.hpp"

namespace xvrrp {

// The last advert the controller acted on for a router (from an event or a resync).
struct ProcessedAdvert {
    std::uint8_t priority = 0;
    std::uint16_t adver_int_cs = 0;
    IpAddress src;
    bool operator==(const ProcessedAdvert&) const = default;
};

struct RouterFacts {
    fsm::State state = fsm::State::Initialize;
    bool kernel_watching = false;               // Backup: the dataplane's timer runs for us
    std::optional<ProcessedAdvert> processed;   // what the controller last acted on
    fsm::Nanos state_since = 0;                 // when the router entered its state
};

// A MASTER_DOWN counts as missed this long after its deadline (the timer callback and the ring
// take a little time; a duplicate is harmless, a wait this short is not noticed).
constexpr fsm::Nanos kMissedMasterDownSlack = 5'000'000;

std::optional<xvrrp_event> missed_event(const xvrrp_inst_key& key, const xvrrp_peer& peer, const RouterFacts& facts,
                                        Family family, fsm::Nanos now);

}  // namespace xvrrp
