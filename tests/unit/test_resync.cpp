// Lost ring-buffer events: which missed event the controller makes up from the dataplane's
// peer entry, and that it makes none when nothing was missed.
#include <gtest/gtest.h>

#include <cstring>

#include "xvrrp/resync.hpp"

using namespace xvrrp;

namespace {

constexpr fsm::Nanos kMs = 1'000'000;
constexpr fsm::Nanos kT0 = 1'000'000 * kMs;
const xvrrp_inst_key kKey{.ifindex = 2, .vlan = 0, .vrid = 51, .family = XVRRP_AF_INET};

xvrrp_peer peer_of(std::uint8_t priority, const char* src, fsm::Nanos last, fsm::Nanos deadline) {
    xvrrp_peer p{};
    p.adverts = 5;
    p.priority = priority;
    p.adver_int_cs = 10;
    p.last_advert_ns = last;
    p.down_deadline_ns = deadline;
    const IpAddress a = IpAddress::from(src);
    std::memcpy(p.addr, a.bytes.data(), 4);
    return p;
}

ProcessedAdvert processed(std::uint8_t priority, const char* src) {
    return {.priority = priority, .adver_int_cs = 10, .src = IpAddress::from(src)};
}

}  // namespace

TEST(Resync, NothingMissedNothingMadeUp) {
    const auto peer = peer_of(150, "192.0.2.1", kT0, kT0 + 40 * kMs);
    RouterFacts facts{.state = fsm::State::Backup, .kernel_watching = true,
                      .processed = processed(150, "192.0.2.1"), .state_since = kT0 - 100 * kMs};
    EXPECT_FALSE(missed_event(kKey, peer, facts, Family::V4, kT0 + 10 * kMs));
    // Past the deadline, but within the slack: the event may still be on its way.
    EXPECT_FALSE(missed_event(kKey, peer, facts, Family::V4, kT0 + 42 * kMs));
}

TEST(Resync, AMissedMasterDownIsMadeUpAfterTheDeadline) {
    const auto peer = peer_of(150, "192.0.2.1", kT0, kT0 + 40 * kMs);
    RouterFacts facts{.state = fsm::State::Backup, .kernel_watching = true,
                      .processed = processed(150, "192.0.2.1"), .state_since = kT0 - 100 * kMs};
    const auto e = missed_event(kKey, peer, facts, Family::V4, kT0 + 50 * kMs);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->type, XVRRP_EV_MASTER_DOWN);
    EXPECT_EQ(e->ts_ns, kT0 + 40 * kMs);
    EXPECT_EQ(e->inst.vrid, 51);
    // Not when the controller's own timer watches (it never handed the master to the kernel).
    facts.kernel_watching = false;
    EXPECT_FALSE(missed_event(kKey, peer, facts, Family::V4, kT0 + 50 * kMs));
}

TEST(Resync, AMissedAdvertIsMadeUp) {
    // The master changed to a higher priority (a NEW_MASTER the ring dropped).
    const auto peer = peer_of(200, "192.0.2.3", kT0, kT0 + 40 * kMs);
    RouterFacts facts{.state = fsm::State::Backup, .kernel_watching = true,
                      .processed = processed(150, "192.0.2.1"), .state_since = kT0 - 100 * kMs};
    auto e = missed_event(kKey, peer, facts, Family::V4, kT0 + 10 * kMs);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->type, XVRRP_EV_NEW_MASTER);
    EXPECT_EQ(e->priority, 200);
    EXPECT_EQ(0, std::memcmp(e->addr, IpAddress::from("192.0.2.3").bytes.data(), 4));

    // A master that never heard the better router's first advert (PREEMPT dropped).
    facts = {.state = fsm::State::Master, .state_since = kT0 - 50 * kMs};
    e = missed_event(kKey, peer, facts, Family::V4, kT0 + 10 * kMs);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->priority, 200);

    // A resignation (PRIO_ZERO dropped).
    const auto resigned = peer_of(0, "192.0.2.1", kT0, kT0 + 5 * kMs);
    facts = {.state = fsm::State::Backup, .kernel_watching = false, .processed = processed(150, "192.0.2.1"),
             .state_since = kT0 - 100 * kMs};
    e = missed_event(kKey, resigned, facts, Family::V4, kT0 + 1 * kMs);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->type, XVRRP_EV_PRIO_ZERO);
}

TEST(Resync, AdvertsFromBeforeTheStateDoNotCount) {
    // A master's peer entry still holds the router it took over from: old news.
    const auto peer = peer_of(150, "192.0.2.1", kT0, kT0 + 40 * kMs);
    RouterFacts facts{.state = fsm::State::Master, .state_since = kT0 + 45 * kMs};
    EXPECT_FALSE(missed_event(kKey, peer, facts, Family::V4, kT0 + 60 * kMs));
    // Nor for a router that is not running, or a peer entry that never saw an advert.
    facts.state = fsm::State::Initialize;
    EXPECT_FALSE(missed_event(kKey, peer, facts, Family::V4, kT0 + 60 * kMs));
    facts = {.state = fsm::State::Backup, .state_since = 0};
    EXPECT_FALSE(missed_event(kKey, xvrrp_peer{}, facts, Family::V4, kT0 + 60 * kMs));
}
