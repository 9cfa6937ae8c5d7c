#include "xvrrp/resync.hpp"

#include <cstring>

namespace xvrrp {

std::optional<xvrrp_event> missed_event(const xvrrp_inst_key& key, const xvrrp_peer& peer, const RouterFacts& facts,
                                        Family family, fsm::Nanos now) {
    if (facts.state == fsm::State::Initialize || facts.state == fsm::State::Fault || peer.adverts == 0)
        return std::nullopt;  // adverts mean nothing there
    xvrrp_event e{};
    e.inst = key;
    e.priority = peer.priority;
    e.adver_int_cs = peer.adver_int_cs;
    std::memcpy(e.addr, peer.addr, sizeof(e.addr));

    // The master went silent and the dataplane's MASTER_DOWN never arrived.
    if (facts.state == fsm::State::Backup && facts.kernel_watching && peer.down_deadline_ns &&
        now >= peer.down_deadline_ns + kMissedMasterDownSlack) {
        e.type = XVRRP_EV_MASTER_DOWN;
        e.priority = 0;
        e.ts_ns = peer.down_deadline_ns;
        return e;
    }
    // An advert heard in this state that the controller never acted on.
    if (peer.last_advert_ns < facts.state_since) return std::nullopt;
    ProcessedAdvert seen{.priority = peer.priority, .adver_int_cs = peer.adver_int_cs};
    seen.src.family = family;
    std::memcpy(seen.src.bytes.data(), peer.addr, seen.src.size());
    if (facts.processed == seen) return std::nullopt;
    e.type = peer.priority == 0 ? XVRRP_EV_PRIO_ZERO : XVRRP_EV_NEW_MASTER;
    e.ts_ns = peer.last_advert_ns;
    return e;
}

}  // namespace xvrrp
