// The router driver against a mock host: every path the daemon used to take inline (start-up,
// master down from either timer, preemption with and without delay, the announcement burst and
// refresh, FAULT on a link, a failing host call and its retry, a reload, the resignation).
#include "xvrrp/router_driver.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>

namespace xvrrp {
namespace {

using fsm::State;
using ::testing::_;
using ::testing::InSequence;
using ::testing::Mock;
using ::testing::StrictMock;
using ::testing::Throw;

class MockHost : public RouterHost {
public:
    MOCK_METHOD(void, write_instance, (State state, std::uint8_t priority, bool kernel_preempt), (override));
    MOCK_METHOD(void, take_vips, (Nanos now, Nanos silence), (override));
    MOCK_METHOD(void, release_vips, (), (override));
    MOCK_METHOD(void, set_advert_silence, (Nanos silence), (override));
    MOCK_METHOD(void, send_advert, (std::uint8_t priority), (override));
    MOCK_METHOD(void, announce, (), (override));
    MOCK_METHOD(void, set_primary, (const IpAddress& primary), (override));
    MOCK_METHOD(std::optional<Nanos>, kernel_master_down_at, (), (override));
    MOCK_METHOD(bool, watch_master_down, (Nanos), (override));
    MOCK_METHOD(void, notice, (Notice n, std::uint8_t priority), (override));
};

constexpr Nanos kMs = 1'000'000;
constexpr Nanos kT0 = 1'000'000'000'000;  // any start time; the driver only compares

config::Instance instance(std::uint8_t priority) {
    config::Instance in;
    in.name = "gateway";
    in.interface = "vr0";
    in.vrid = 51;
    in.priority = priority;
    in.advert_interval_ms = 100;
    in.announce = config::Announce{.delay_ms = 0, .repeat = 3, .interval_ms = 50, .refresh_ms = 0};
    return in;
}

const IpAddress kOurs = IpAddress::from("192.0.2.1");
const IpAddress kPeer = IpAddress::from("192.0.2.2");

fsm::Advert advert(std::uint8_t priority, const IpAddress& src = kPeer) {
    return fsm::Advert{.priority = priority, .adver_int_cs = 10, .src = src};  // 100 ms, as ours
}

struct Driver {
    explicit Driver(const config::Instance& in) : driver(router_settings(in, Family::V4, kOurs), host) {
        // The kernel's timer is armed unless a test says otherwise.
        ON_CALL(host, watch_master_down(::testing::_)).WillByDefault(::testing::Return(true));
        EXPECT_CALL(host, watch_master_down(::testing::_)).Times(::testing::AnyNumber());
        EXPECT_CALL(host, notice(::testing::_, ::testing::_)).Times(::testing::AnyNumber());  // their own tests say which
    }
    // Checks and clears what was expected so far (the kernel timer stays allowed).
    void verify() {
        Mock::VerifyAndClearExpectations(&host);
        EXPECT_CALL(host, watch_master_down(::testing::_)).Times(::testing::AnyNumber());
        EXPECT_CALL(host, notice(::testing::_, ::testing::_)).Times(::testing::AnyNumber());
    }
    StrictMock<MockHost> host;
    RouterDriver driver;
};

// The owner (255) started: MASTER at once, its first advert and announcement out.
void start_as_owner(Driver& d) {
    EXPECT_CALL(d.host, write_instance(State::Master, _, true));
    EXPECT_CALL(d.host, take_vips(_, _));
    EXPECT_CALL(d.host, send_advert(255));
    EXPECT_CALL(d.host, announce());
    d.driver.start(true, kT0);
    d.verify();
}

// priority 100, 100 ms: Master_Down_Interval = 3 x 100 ms + (256 - 100) / 256 x 100 ms.
constexpr Nanos kMasterDown = 300 * kMs + 156 * 100 * kMs / 256;

TEST(RouterDriver, StartsAsBackupAndBecomesMasterWhenItsOwnTimerRunsOut) {
    Driver d(instance(100));
    EXPECT_CALL(d.host, write_instance(State::Initialize, _, true));
    d.driver.publish();
    EXPECT_CALL(d.host, write_instance(State::Backup, _, true));
    d.driver.start(true, kT0);
    EXPECT_EQ(d.driver.state_name(), "BACKUP");
    EXPECT_EQ(d.driver.next_deadline(), kT0 + kMasterDown) << "no advert heard: the state machine's own timer";
    d.driver.on_timer(kT0 + kMasterDown - 1);  // not yet: nothing happens

    {
        InSequence order;  // the entry first, then ownership, the advert, the announcements
        EXPECT_CALL(d.host, write_instance(State::Master, _, true));
        EXPECT_CALL(d.host, take_vips(kT0 + kMasterDown, d.driver.advert_silence()));
        EXPECT_CALL(d.host, send_advert(100));
        EXPECT_CALL(d.host, announce());  // the first of the burst, at once (delay 0)
    }
    d.driver.on_timer(kT0 + kMasterDown);
    EXPECT_EQ(d.driver.state(), State::Master);
    EXPECT_EQ(d.driver.transitions(), 2u);
    EXPECT_EQ(d.driver.next_deadline(), kT0 + kMasterDown + 50 * kMs) << "the next announcement";
}

TEST(RouterDriver, ResumedMasterAdvertisesAtOnceHeldOrNotUnlessItIsInFault) {
    Driver d(instance(100));
    {
        InSequence order;
        EXPECT_CALL(d.host, write_instance(State::Master, _, true));
        EXPECT_CALL(d.host, take_vips(kT0, d.driver.advert_silence()));
        EXPECT_CALL(d.host, send_advert(100));
        EXPECT_CALL(d.host, announce());
    }
    d.driver.start(true, kT0, /*resume_master=*/true);
    EXPECT_EQ(d.driver.state(), State::Master);
    EXPECT_EQ(d.driver.next_deadline(), kT0 + 50 * kMs) << "the next announcement, then adverts every 100 ms";

    RouterSettings member = router_settings(instance(100), Family::V4, kOurs);
    member.sync_member = true;
    StrictMock<MockHost> host;
    EXPECT_CALL(host, watch_master_down(_)).Times(::testing::AnyNumber());
    EXPECT_CALL(host, notice(_, _)).Times(::testing::AnyNumber());
    RouterDriver in_group(member, host);
    {
        InSequence order;
        EXPECT_CALL(host, write_instance(State::Master, _, true));
        EXPECT_CALL(host, take_vips(kT0, in_group.advert_silence()));
        EXPECT_CALL(host, send_advert(100));
        EXPECT_CALL(host, announce());
    }
    in_group.start(true, kT0, true);
    EXPECT_EQ(in_group.state(), State::Master) << "a sync group member resumes when told (its whole group does)";

    StrictMock<MockHost> held_host;
    EXPECT_CALL(held_host, watch_master_down(_)).Times(::testing::AnyNumber());
    EXPECT_CALL(held_host, notice(_, _)).Times(::testing::AnyNumber());
    RouterDriver not_resumed(member, held_host);
    EXPECT_CALL(held_host, write_instance(State::Backup, _, _));
    not_resumed.start(true, kT0, false);
    EXPECT_EQ(not_resumed.state(), State::Backup) << "a group that does not resume whole: BACKUP, held";

    Driver down(instance(100));
    EXPECT_CALL(down.host, write_instance(_, _, _)).Times(::testing::AnyNumber());
    EXPECT_CALL(down.host, release_vips()).Times(::testing::AnyNumber());
    EXPECT_CALL(down.host, set_advert_silence(_)).Times(::testing::AnyNumber());
    down.driver.start(false, kT0, true);
    EXPECT_EQ(down.driver.state(), State::Fault) << "a down link is FAULT, resumed or not";
}

// An upgrade: the new daemon's router goes on with the old one's schedule: its next advert when
// the old one would have sent it, the announcement burst where it stood (one left), no extra.
TEST(RouterDriver, AHandedOverScheduleIsKeptToTheNanosecond) {
    Driver old(instance(100));
    EXPECT_CALL(old.host, write_instance(_, _, _)).Times(::testing::AnyNumber());
    EXPECT_CALL(old.host, take_vips(_, _)).Times(::testing::AnyNumber());
    EXPECT_CALL(old.host, send_advert(_)).Times(::testing::AnyNumber());
    EXPECT_CALL(old.host, announce()).Times(2);  // the burst's first two of three
    old.driver.start(true, kT0, true);
    old.driver.on_timer(kT0 + 50 * kMs);
    EXPECT_FALSE(old.driver.schedule() == std::nullopt);
    const RouterDriver::Schedule s = *old.driver.schedule();
    EXPECT_EQ(s.advert_at, kT0 + 100 * kMs);
    EXPECT_EQ(s.announce_left, 1u);
    EXPECT_EQ(s.next_announce, kT0 + 100 * kMs);

    Driver next(instance(100));
    {
        InSequence order;
        EXPECT_CALL(next.host, write_instance(State::Master, _, true));
        EXPECT_CALL(next.host, take_vips(kT0 + 60 * kMs, next.driver.advert_silence()));
    }
    EXPECT_CALL(next.host, send_advert(_)).Times(0);
    EXPECT_CALL(next.host, announce()).Times(0);
    next.driver.start(true, kT0 + 60 * kMs, true, &s);
    EXPECT_EQ(next.driver.state(), State::Master);
    EXPECT_EQ(next.driver.next_deadline(), kT0 + 100 * kMs);
    Mock::VerifyAndClearExpectations(&next.host);
    EXPECT_CALL(next.host, send_advert(100));
    EXPECT_CALL(next.host, announce());  // the third and last
    next.driver.on_timer(kT0 + 100 * kMs);
    EXPECT_EQ(next.driver.next_deadline(), kT0 + 200 * kMs) << "the burst is over; adverts every 100 ms";

    Driver down(instance(100));  // a down link is FAULT, handed over or not
    EXPECT_CALL(down.host, write_instance(_, _, _)).Times(::testing::AnyNumber());
    EXPECT_CALL(down.host, release_vips()).Times(::testing::AnyNumber());
    EXPECT_CALL(down.host, set_advert_silence(_)).Times(::testing::AnyNumber());
    down.driver.start(false, kT0 + 60 * kMs, true, &s);
    EXPECT_EQ(down.driver.state(), State::Fault);
    EXPECT_FALSE(down.driver.schedule());
}

TEST(RouterDriver, TheAnnouncementBurstRepeatsAtItsIntervalAndAdvertsKeepTheirs) {
    Driver d(instance(255));  // the owner: MASTER at once
    EXPECT_CALL(d.host, write_instance(State::Master, _, true));
    EXPECT_CALL(d.host, take_vips(kT0, _));
    EXPECT_CALL(d.host, send_advert(255));
    EXPECT_CALL(d.host, announce());  // the first at once (delay 0)
    d.driver.start(true, kT0);
    d.verify();

    EXPECT_CALL(d.host, announce()).Times(2);
    EXPECT_CALL(d.host, send_advert(255)).Times(1);
    for (Nanos t = kT0; t <= kT0 + 120 * kMs; t += 10 * kMs) d.driver.on_timer(t);  // 50, 100 ms; advert at 100
    d.verify();
    EXPECT_EQ(d.driver.next_deadline(), kT0 + 200 * kMs) << "burst done: only the advert timer is left";
}

// The MAC answering for the VIPs changed (the interface's, followed by the host): a MASTER announces
// it again, a whole burst at its interval; a BACKUP has nothing to announce.
TEST(RouterDriver, AReannouncementIsAWholeBurstFromAMasterAndNothingFromABackup) {
    Driver d(instance(255));  // the owner: MASTER at once
    EXPECT_CALL(d.host, write_instance(State::Master, _, true));
    EXPECT_CALL(d.host, take_vips(kT0, _));
    EXPECT_CALL(d.host, send_advert(255)).Times(2);  // at once and at 100 ms
    EXPECT_CALL(d.host, announce()).Times(3);
    d.driver.start(true, kT0);
    for (Nanos t = kT0; t <= kT0 + 100 * kMs; t += 50 * kMs) d.driver.on_timer(t);  // the burst: 0, 50, 100 ms
    d.verify();

    const Nanos at = kT0 + 130 * kMs;
    EXPECT_CALL(d.host, announce());  // the first at once
    d.driver.reannounce(at);
    d.verify();
    EXPECT_EQ(d.driver.next_deadline(), at + 50 * kMs) << "the rest of the burst at its interval";
    EXPECT_CALL(d.host, announce()).Times(2);
    EXPECT_CALL(d.host, send_advert(255)).Times(::testing::AnyNumber());
    for (Nanos t = at; t <= at + 300 * kMs; t += 10 * kMs) d.driver.on_timer(t);
    d.verify();

    Driver backup(instance(100));
    EXPECT_CALL(backup.host, write_instance(State::Backup, _, true));
    backup.driver.start(true, kT0);
    EXPECT_CALL(backup.host, announce()).Times(0);
    backup.driver.reannounce(kT0 + 10 * kMs);
    EXPECT_EQ(backup.driver.next_deadline(), kT0 + kMasterDown) << "its schedule is what it was";
}

TEST(RouterDriver, AHeardAdvertHandsMasterDownToTheKernelTimer) {
    Driver d(instance(100));
    EXPECT_CALL(d.host, write_instance(State::Backup, _, true));
    d.driver.start(true, kT0);
    d.driver.on_advert(advert(200), kT0 + 10 * kMs);
    EXPECT_TRUE(d.driver.kernel_watching());
    EXPECT_FALSE(d.driver.next_deadline()) << "the dataplane re-arms the timer on every advert; ours would fire wrongly";
    ASSERT_TRUE(d.driver.master());
    EXPECT_EQ(d.driver.master()->priority, 200);

    EXPECT_CALL(d.host, write_instance(State::Master, _, true));
    EXPECT_CALL(d.host, take_vips(_, _));
    EXPECT_CALL(d.host, send_advert(100));
    EXPECT_CALL(d.host, announce());  // the first of the burst goes with the transition (delay 0)
    d.driver.on_master_down(kT0 + 2'000 * kMs);  // the kernel's MASTER_DOWN event
    EXPECT_EQ(d.driver.state(), State::Master);
    EXPECT_FALSE(d.driver.kernel_watching());
}

TEST(RouterDriver, AKernelMasterDownAMomentEarlyStillTransitions) {
    Driver d(instance(100));
    EXPECT_CALL(d.host, write_instance(State::Backup, _, true));
    d.driver.start(true, kT0);
    d.driver.on_advert(advert(200), kT0);
    EXPECT_CALL(d.host, write_instance(State::Master, _, true));
    EXPECT_CALL(d.host, take_vips(_, _));
    EXPECT_CALL(d.host, send_advert(100));
    EXPECT_CALL(d.host, announce());
    d.driver.on_master_down(kT0 + 1 * kMs);  // before the state machine's deadline
    EXPECT_EQ(d.driver.state(), State::Master) << "the kernel is the authority while it watches";
}

TEST(RouterDriver, AWorseMasterIsPreemptedByOurOwnTimerNotTheKernels) {
    Driver d(instance(100));
    EXPECT_CALL(d.host, write_instance(State::Backup, _, true));
    d.driver.start(true, kT0);
    d.driver.on_advert(advert(50), kT0 + 10 * kMs);  // discarded: we preempt it
    EXPECT_FALSE(d.driver.kernel_watching());
    EXPECT_EQ(d.driver.next_deadline(), kT0 + kMasterDown) << "the startup deadline stands";
}

TEST(RouterDriver, PreemptDelayLetsTheKernelPreemptOnlyOnceItHasPassed) {
    auto in = instance(100);
    in.preempt_delay_ms = 1000;
    Driver d(in);
    EXPECT_FALSE(d.driver.kernel_preempt());
    EXPECT_CALL(d.host, write_instance(State::Backup, _, false));
    d.driver.start(true, kT0);
    d.driver.on_advert(advert(50), kT0 + 10 * kMs);
    EXPECT_TRUE(d.driver.kernel_watching()) << "within the delay a worse master holds the timer like any other";
    EXPECT_EQ(d.driver.next_deadline(), kT0 + 1010 * kMs) << "the moment the delay has passed";

    EXPECT_CALL(d.host, write_instance(State::Backup, _, true));
    d.driver.on_timer(kT0 + 1010 * kMs);
    EXPECT_TRUE(d.driver.kernel_preempt());
    EXPECT_FALSE(d.driver.next_deadline());

    // A better master resets it on the next transition: a new BACKUP starts without the flag.
    EXPECT_CALL(d.host, write_instance(State::Master, _, false));
    EXPECT_CALL(d.host, take_vips(_, _));
    EXPECT_CALL(d.host, send_advert(100));
    EXPECT_CALL(d.host, announce());
    d.driver.on_master_down(kT0 + 2000 * kMs);
    EXPECT_FALSE(d.driver.kernel_preempt());
}

TEST(RouterDriver, AMasterYieldsToABetterOneAndStopsAnnouncing) {
    auto in = instance(100);
    in.announce.refresh_ms = 1000;
    Driver d(in);
    EXPECT_CALL(d.host, write_instance(_, _, _)).Times(2);
    EXPECT_CALL(d.host, take_vips(_, _));
    EXPECT_CALL(d.host, send_advert(100));
    EXPECT_CALL(d.host, announce());
    d.driver.start(true, kT0);
    d.driver.on_timer(kT0 + kMasterDown);
    ASSERT_EQ(d.driver.state(), State::Master);
    d.verify();

    {
        InSequence order;
        EXPECT_CALL(d.host, write_instance(State::Backup, _, true));
        EXPECT_CALL(d.host, release_vips());
    }
    const Nanos yielded = kT0 + kMasterDown + 1 * kMs;
    d.driver.on_advert(advert(200), yielded);
    // The dataplane's entry said MASTER when that advert passed, so its timer did not start: ours
    // runs until the next advert, which the entry's new generation makes XDP report.
    EXPECT_FALSE(d.driver.kernel_watching());
    EXPECT_EQ(d.driver.next_deadline(), yielded + kMasterDown) << "no announcement, refresh or advert left";
    d.driver.on_advert(advert(200), yielded + 100 * kMs);
    EXPECT_TRUE(d.driver.kernel_watching());
    EXPECT_FALSE(d.driver.next_deadline());
}

TEST(RouterDriver, AMasterAnswersAWorseAdvertAtOnceWithAnAdvertAndAnnouncements) {
    Driver d(instance(255));
    EXPECT_CALL(d.host, write_instance(_, _, _));
    EXPECT_CALL(d.host, take_vips(_, _));
    EXPECT_CALL(d.host, send_advert(255)).Times(2);
    EXPECT_CALL(d.host, announce()).Times(3);
    d.driver.start(true, kT0);
    for (Nanos t = kT0; t <= kT0 + 100 * kMs; t += 50 * kMs) d.driver.on_timer(t);  // burst and one advert
    d.verify();

    EXPECT_CALL(d.host, send_advert(255));
    EXPECT_CALL(d.host, announce());  // a new burst, its first at once
    EXPECT_CALL(d.host, notice(Notice::MasterRxLowerPri, 255));
    d.driver.on_advert(advert(100), kT0 + 130 * kMs);
    EXPECT_EQ(d.driver.next_deadline(), kT0 + 180 * kMs) << "the burst's second";
}

TEST(RouterDriver, LinkDownIsFaultLinkUpStartsOverAsBackup) {
    Driver d(instance(255));
    start_as_owner(d);
    {
        InSequence order;  // resign, release, then the entry
        EXPECT_CALL(d.host, send_advert(0));
        EXPECT_CALL(d.host, release_vips());
        EXPECT_CALL(d.host, write_instance(State::Fault, _, true));
    }
    d.driver.set_link(false, kT0 + 10 * kMs);
    EXPECT_EQ(d.driver.state_name(), "FAULT");
    EXPECT_FALSE(d.driver.next_deadline()) << "no adverts, no announcements in FAULT";
    d.driver.set_link(false, kT0 + 20 * kMs);  // the same news again: nothing

    EXPECT_CALL(d.host, write_instance(State::Master, _, true));  // the owner starts as MASTER
    EXPECT_CALL(d.host, take_vips(_, _));
    EXPECT_CALL(d.host, send_advert(255));
    EXPECT_CALL(d.host, announce());
    d.driver.set_link(true, kT0 + 30 * kMs);
    EXPECT_EQ(d.driver.state_name(), "MASTER");
}

// The interface renumbered under a MASTER: the host sends from the new address and the entry is
// written again, in place; the same address again changes nothing.
TEST(RouterDriver, ANewSourceAddressIsTakenInPlaceWithoutATransition) {
    Driver d(instance(255));
    start_as_owner(d);
    const IpAddress renumbered = IpAddress::from("192.0.2.11");
    {
        InSequence order;  // the host's source before the entry that carries it
        EXPECT_CALL(d.host, set_primary(renumbered));
        EXPECT_CALL(d.host, write_instance(State::Master, 255, true));
    }
    d.driver.set_source(renumbered, kT0 + 10 * kMs);
    d.verify();
    EXPECT_EQ(d.driver.state(), State::Master);
    EXPECT_EQ(d.driver.transitions(), 1u);
    EXPECT_EQ(d.driver.settings().fsm.primary, renumbered) << "the tie-break compares it";
    d.driver.set_source(renumbered, kT0 + 20 * kMs);  // StrictMock: nothing
    EXPECT_TRUE(d.driver.has_source());
}

// No address of the family left: FAULT as for a link down (resign, release), with the reason;
// an address again starts it over (the owner as MASTER), from the new address if it is another.
TEST(RouterDriver, NoSourceAddressIsFaultUntilOneReturns) {
    Driver d(instance(255));
    start_as_owner(d);
    {
        InSequence order;
        EXPECT_CALL(d.host, send_advert(0));
        EXPECT_CALL(d.host, release_vips());
        EXPECT_CALL(d.host, write_instance(State::Fault, _, true));
    }
    d.driver.set_source(std::nullopt, kT0 + 10 * kMs);
    EXPECT_EQ(d.driver.state(), State::Fault);
    EXPECT_FALSE(d.driver.has_source());
    EXPECT_EQ(d.driver.fault_reasons(), std::vector<std::string>{"vr0 has no IPv4 address"});
    d.driver.set_source(std::nullopt, kT0 + 20 * kMs);  // the same news again: nothing
    d.verify();

    const IpAddress other = IpAddress::from("192.0.2.11");
    EXPECT_CALL(d.host, set_primary(other));
    EXPECT_CALL(d.host, write_instance(State::Fault, _, true));  // the entry with its new source, still in FAULT
    EXPECT_CALL(d.host, write_instance(State::Master, _, true));
    EXPECT_CALL(d.host, take_vips(_, _));
    EXPECT_CALL(d.host, send_advert(255));
    EXPECT_CALL(d.host, announce());
    d.driver.set_source(other, kT0 + 30 * kMs);
    EXPECT_EQ(d.driver.state(), State::Master);
    EXPECT_TRUE(d.driver.fault_reasons().empty());
}

TEST(RouterDriver, StartingOnADownLinkWaitsInFaultWithoutAWord) {
    Driver d(instance(100));
    EXPECT_CALL(d.host, write_instance(State::Fault, _, true));  // and nothing sent (StrictMock)
    d.driver.start(false, kT0);
    EXPECT_EQ(d.driver.state_name(), "FAULT");
    EXPECT_FALSE(d.driver.next_deadline());
    EXPECT_CALL(d.host, write_instance(State::Backup, _, true));
    d.driver.set_link(true, kT0 + 1 * kMs);
    EXPECT_EQ(d.driver.state_name(), "BACKUP");
}

TEST(RouterDriver, AFailingHostCallIsRetriedEverySecondAndTheRestStillRuns) {
    Driver d(instance(255));
    EXPECT_CALL(d.host, write_instance(State::Master, _, true));
    EXPECT_CALL(d.host, take_vips(kT0, _)).WillOnce(Throw(std::runtime_error("netlink: No such device")));
    EXPECT_CALL(d.host, send_advert(255));  // the advert still goes out
    EXPECT_CALL(d.host, announce());
    d.driver.start(true, kT0);
    EXPECT_EQ(d.driver.error(), "netlink: No such device");
    EXPECT_EQ(d.driver.state(), State::Master);
    d.verify();

    // The retry, then every second until it works.
    EXPECT_CALL(d.host, announce()).Times(::testing::AnyNumber());
    EXPECT_CALL(d.host, send_advert(255)).Times(::testing::AnyNumber());
    EXPECT_CALL(d.host, take_vips(kT0 + 1000 * kMs, _)).WillOnce(Throw(std::runtime_error("still")));
    EXPECT_CALL(d.host, take_vips(kT0 + 2000 * kMs, _));
    for (Nanos t = kT0; t <= kT0 + 2000 * kMs; t += 10 * kMs) d.driver.on_timer(t);
    EXPECT_EQ(d.driver.error(), "still") << "recovery is confirmed at the next call, if no failure came first";
    EXPECT_EQ(d.driver.next_deadline(), kT0 + 2000 * kMs) << "and that call is due at once";
    d.driver.on_timer(kT0 + 2000 * kMs);
    EXPECT_EQ(d.driver.error(), "");
}

// A retry's host call returns, but its deferred part (the address changes, carried out once every
// router has had its turn) fails: still in error, retried a second later, never "recovered".
TEST(RouterDriver, ARetryWhoseDeferredPartFailsHasNotRecovered) {
    Driver d(instance(100));
    EXPECT_CALL(d.host, write_instance(State::Backup, _, true));
    d.driver.start(true, kT0);
    d.driver.on_advert(advert(200), kT0 + 1 * kMs);
    d.driver.fail("remove 192.0.2.100: Permission denied", kT0);
    EXPECT_CALL(d.host, release_vips()).Times(2);
    d.driver.on_timer(kT0 + 1000 * kMs);
    EXPECT_EQ(d.driver.error(), "remove 192.0.2.100: Permission denied") << "not recovered before its deferred part ran";
    d.driver.fail("remove 192.0.2.100: Permission denied", kT0 + 1000 * kMs);  // the queue's report
    EXPECT_EQ(d.driver.next_deadline(), kT0 + 2000 * kMs) << "no confirmation pending: the next retry";
    d.driver.on_timer(kT0 + 1500 * kMs);
    EXPECT_EQ(d.driver.error(), "remove 192.0.2.100: Permission denied");
    d.driver.on_timer(kT0 + 2000 * kMs);  // this time it works
    d.driver.on_timer(kT0 + 2000 * kMs);
    EXPECT_EQ(d.driver.error(), "");
}

TEST(RouterDriver, AFailedRetryOfABackupReleasesAgain) {
    Driver d(instance(100));
    EXPECT_CALL(d.host, write_instance(State::Backup, _, true));
    d.driver.start(true, kT0);
    d.driver.on_advert(advert(200), kT0 + 1 * kMs);  // the kernel watches the master: no deadline of ours
    d.driver.fail("could not restore 192.0.2.100", kT0);
    EXPECT_EQ(d.driver.next_deadline(), kT0 + 1000 * kMs);
    EXPECT_CALL(d.host, release_vips());
    d.driver.on_timer(kT0 + 1000 * kMs);
    d.driver.on_timer(kT0 + 1000 * kMs);  // confirmed: no failure came meanwhile
    EXPECT_EQ(d.driver.error(), "");
}

TEST(RouterDriver, AReloadChangesPriorityWithoutATransition) {
    Driver d(instance(255));
    EXPECT_CALL(d.host, write_instance(_, _, _));
    EXPECT_CALL(d.host, take_vips(_, _));
    EXPECT_CALL(d.host, send_advert(255));
    EXPECT_CALL(d.host, announce());
    d.driver.start(true, kT0);
    d.verify();

    auto next = instance(255);
    next.advert_interval_ms = 1000;
    next.announce.refresh_ms = 5000;
    RouterDriver& drv = d.driver;
    {
        InSequence order;
        EXPECT_CALL(d.host, set_advert_silence(3000 * kMs - 5 * kMs));
        EXPECT_CALL(d.host, write_instance(State::Master, _, true));
    }
    drv.reconfigure(router_settings(next, Family::V4, kOurs), kT0 + 10 * kMs);
    EXPECT_EQ(drv.transitions(), 1u) << "no transition";
    EXPECT_EQ(drv.state(), State::Master);
    EXPECT_EQ(drv.advert_silence(), 2995 * kMs);
}

TEST(RouterDriver, AReloadOfABackupClosesTheFailSafeWindow) {
    Driver d(instance(100));
    EXPECT_CALL(d.host, write_instance(State::Backup, _, true));
    d.driver.start(true, kT0);
    auto next = instance(90);
    next.preempt = false;
    EXPECT_CALL(d.host, set_advert_silence(0));
    EXPECT_CALL(d.host, write_instance(State::Backup, _, false));
    d.driver.reconfigure(router_settings(next, Family::V4, kOurs), kT0 + 10 * kMs);
}

TEST(RouterDriver, StopResignsWithPriorityZero) {
    Driver d(instance(255));
    EXPECT_CALL(d.host, write_instance(_, _, _));
    EXPECT_CALL(d.host, take_vips(_, _));
    EXPECT_CALL(d.host, send_advert(255));
    EXPECT_CALL(d.host, announce());
    d.driver.start(true, kT0);
    {
        InSequence order;
        EXPECT_CALL(d.host, send_advert(0));
        EXPECT_CALL(d.host, release_vips());
        EXPECT_CALL(d.host, write_instance(State::Initialize, _, true));
    }
    d.driver.stop(kT0 + 10 * kMs);
    EXPECT_EQ(d.driver.state_name(), "INIT");
    EXPECT_FALSE(d.driver.next_deadline());
}

// keepalived's vrrp_stats: adverts sent (the priority-0 one included), MASTER entered and left.
TEST(RouterDriver, CountsAdvertsSentAndMasterEntriesAndExitsAsKeepalived) {
    Driver d(instance(255));
    EXPECT_CALL(d.host, write_instance(_, _, _)).Times(::testing::AnyNumber());
    EXPECT_CALL(d.host, take_vips(_, _));
    EXPECT_CALL(d.host, send_advert(255)).Times(3);
    EXPECT_CALL(d.host, announce()).Times(::testing::AnyNumber());
    d.driver.start(true, kT0);
    EXPECT_EQ(d.driver.counters().become_master, 1u);
    EXPECT_EQ(d.driver.counters().adverts_sent, 1u);
    d.driver.on_timer(kT0 + 100 * kMs);
    d.driver.on_timer(kT0 + 200 * kMs);
    EXPECT_EQ(d.driver.counters().adverts_sent, 3u);
    EXPECT_EQ(d.driver.counters().priority_zero_sent, 0u);
    EXPECT_EQ(d.driver.counters().release_master, 0u);

    // A send the host refuses is not counted as sent.
    EXPECT_CALL(d.host, send_advert(255)).WillOnce(Throw(std::runtime_error("sendmsg: ENOBUFS")));
    d.driver.on_timer(kT0 + 300 * kMs);
    EXPECT_EQ(d.driver.counters().adverts_sent, 3u);

    EXPECT_CALL(d.host, send_advert(0));
    EXPECT_CALL(d.host, release_vips());
    d.driver.stop(kT0 + 310 * kMs);
    EXPECT_EQ(d.driver.counters().adverts_sent, 4u);
    EXPECT_EQ(d.driver.counters().priority_zero_sent, 1u);
    EXPECT_EQ(d.driver.counters().release_master, 1u);
    EXPECT_EQ(d.driver.counters().become_master, 1u);
}

TEST(RouterDriver, RefreshReannouncesWhileMaster) {
    auto in = instance(255);
    in.announce.repeat = 0;
    in.announce.refresh_ms = 500;
    Driver d(in);
    EXPECT_CALL(d.host, write_instance(_, _, _));
    EXPECT_CALL(d.host, take_vips(_, _));
    EXPECT_CALL(d.host, send_advert(255)).Times(::testing::AnyNumber());
    d.driver.start(true, kT0);
    EXPECT_CALL(d.host, announce()).Times(2);  // at 500 and 1000 ms
    for (Nanos t = kT0; t <= kT0 + 1200 * kMs; t += 100 * kMs) d.driver.on_timer(t);
}

TEST(RouterDriver, TheFailSafeWindowEndsBeforeABackupCanTakeOver) {
    auto in = instance(100);
    for (const auto& [interval_ms, expected_ms] : {std::pair{10u, 25.0}, std::pair{100u, 295.0}, std::pair{1000u, 2995.0}}) {
        in.advert_interval_ms = interval_ms;
        Driver d(in);
        EXPECT_EQ(d.driver.advert_silence(), static_cast<Nanos>(expected_ms * 1e6)) << interval_ms << " ms";
    }
}

// When neither the kernel's timer nor the daemon's sweep can watch the master (the host failed):
// our own timer runs, and at its deadline the dataplane's deadline, moved by every advert XDP saw
// without reporting it, decides.
TEST(RouterDriver, WithoutAKernelTimerOurOwnDeadlineAsksTheDataplane) {
    Driver d(instance(100));
    EXPECT_CALL(d.host, watch_master_down(::testing::_)).WillRepeatedly(::testing::Return(false));
    EXPECT_CALL(d.host, write_instance(State::Backup, _, true));
    d.driver.start(true, kT0);
    d.driver.on_advert(advert(200), kT0 + 1 * kMs);
    EXPECT_FALSE(d.driver.kernel_watching());
    const Nanos due = kT0 + 1 * kMs + kMasterDown;
    EXPECT_EQ(d.driver.next_deadline(), due);

    // Adverts kept coming (unreported): the dataplane's deadline is later. No transition.
    EXPECT_CALL(d.host, kernel_master_down_at()).WillOnce(::testing::Return(due + 250 * kMs));
    d.driver.on_timer(due);
    EXPECT_EQ(d.driver.state(), State::Backup);
    EXPECT_EQ(d.driver.next_deadline(), due + 250 * kMs);

    // Then they stopped: the dataplane's deadline has passed too.
    EXPECT_CALL(d.host, kernel_master_down_at()).WillOnce(::testing::Return(due + 250 * kMs));
    EXPECT_CALL(d.host, write_instance(State::Master, _, true));
    EXPECT_CALL(d.host, take_vips(_, _));
    EXPECT_CALL(d.host, send_advert(100));
    EXPECT_CALL(d.host, announce());
    d.driver.on_timer(due + 250 * kMs);
    EXPECT_EQ(d.driver.state(), State::Master);
}

TEST(RouterDriver, AWatchThatWorksLaterTakesOverAtOurNextDeadline) {
    Driver d(instance(100));
    EXPECT_CALL(d.host, watch_master_down(::testing::_)).WillOnce(::testing::Return(false)).WillRepeatedly(::testing::Return(true));
    EXPECT_CALL(d.host, write_instance(State::Backup, _, true));
    d.driver.start(true, kT0);
    d.driver.on_advert(advert(200), kT0 + 1 * kMs);
    const Nanos due = kT0 + 1 * kMs + kMasterDown;
    EXPECT_CALL(d.host, kernel_master_down_at()).WillOnce(::testing::Return(due + 100 * kMs));
    d.driver.on_timer(due);
    EXPECT_TRUE(d.driver.kernel_watching()) << "the dataplane's deadline is watched from now on";
    EXPECT_FALSE(d.driver.next_deadline());
}

TEST(RouterDriver, FactsForTheResyncFollowWhatWasActedOn) {
    Driver d(instance(100));
    EXPECT_CALL(d.host, write_instance(State::Backup, _, true));
    d.driver.start(true, kT0);
    d.driver.on_advert(advert(200), kT0 + 5 * kMs);
    const RouterFacts f = d.driver.facts();
    EXPECT_EQ(f.state, State::Backup);
    EXPECT_TRUE(f.kernel_watching);
    ASSERT_TRUE(f.processed);
    EXPECT_EQ(f.processed->priority, 200);
    EXPECT_EQ(f.processed->src, kPeer);
    EXPECT_EQ(f.state_since, kT0);
}

}  // namespace
}  // namespace xvrrp

namespace xvrrp {
namespace {

TEST(RouterDriver, WithoutTrackPrimaryALinkDownIsNoFault) {
    auto in = instance(100);
    in.track_primary = false;
    Driver d(in);
    EXPECT_CALL(d.host, write_instance(State::Backup, _, true));
    d.driver.start(false, kT0);
    EXPECT_EQ(d.driver.state_name(), "BACKUP");
    d.driver.set_link(true, kT0 + kMs);
    d.driver.set_link(false, kT0 + 2 * kMs);  // StrictMock: nothing happens
    EXPECT_TRUE(d.driver.fault_reasons().empty());
}

TEST(RouterDriver, TrackersMoveTheEffectivePriorityWithoutATransition) {
    Driver d(instance(100));
    EXPECT_CALL(d.host, write_instance(State::Backup, 100, true));
    d.driver.start(true, kT0);
    d.verify();
    EXPECT_CALL(d.host, write_instance(State::Backup, 80, true));  // the kernel entry follows
    d.driver.set_tracking(Tracking{.delta = -20}, kT0 + kMs);
    EXPECT_EQ(d.driver.priority(), 80);
    EXPECT_EQ(d.driver.base_priority(), 100);
    EXPECT_EQ(d.driver.transitions(), 1u);
    d.driver.set_tracking(Tracking{.delta = -20}, kT0 + 2 * kMs);  // the same: nothing written
    d.verify();
    // Master down: the advert carries the effective priority.
    EXPECT_CALL(d.host, announce()).Times(::testing::AnyNumber());
    EXPECT_CALL(d.host, write_instance(State::Master, 80, true));
    EXPECT_CALL(d.host, take_vips(_, _));
    EXPECT_CALL(d.host, send_advert(80));
    d.driver.on_timer(kT0 + kMasterDown);  // a lower priority never puts off a running timer
    EXPECT_EQ(d.driver.state(), State::Master);
    d.verify();
    EXPECT_CALL(d.host, write_instance(State::Master, 254, true));
    d.driver.set_tracking(Tracking{.delta = 200}, kT0 + 500 * kMs);
    EXPECT_EQ(d.driver.priority(), 254) << "no tracker lifts anyone to 255";
    d.verify();
    EXPECT_CALL(d.host, write_instance(State::Master, 1, true));
    d.driver.set_tracking(Tracking{.delta = -200}, kT0 + 510 * kMs);
    EXPECT_EQ(d.driver.priority(), 1);
}

TEST(RouterDriver, TheOwnersPriorityNeverMoves) {
    Driver d(instance(255));
    EXPECT_CALL(d.host, write_instance(State::Master, 255, true));
    EXPECT_CALL(d.host, take_vips(_, _));
    EXPECT_CALL(d.host, send_advert(255));
    EXPECT_CALL(d.host, announce());
    d.driver.start(true, kT0);
    d.driver.set_tracking(Tracking{.delta = -100}, kT0 + kMs);  // StrictMock: no write
    EXPECT_EQ(d.driver.priority(), 255);
}

TEST(RouterDriver, ATrackerFaultResignsAndItsEndStartsOver) {
    Driver d(instance(100));
    EXPECT_CALL(d.host, write_instance(State::Backup, _, true));
    d.driver.start(true, kT0);
    EXPECT_CALL(d.host, write_instance(State::Master, _, true));
    EXPECT_CALL(d.host, take_vips(_, _));
    EXPECT_CALL(d.host, send_advert(100));
    EXPECT_CALL(d.host, announce());
    d.driver.on_timer(kT0 + kMasterDown);
    d.verify();
    {
        InSequence order;  // one priority-0 advert, the VIPs released, then the entry
        EXPECT_CALL(d.host, send_advert(0));
        EXPECT_CALL(d.host, release_vips());
        EXPECT_CALL(d.host, write_instance(State::Fault, _, true));
    }
    d.driver.set_tracking(Tracking{.faults = {"tracker web is down"}}, kT0 + kMasterDown + 10 * kMs);
    EXPECT_EQ(d.driver.state_name(), "FAULT");
    EXPECT_FALSE(d.driver.next_deadline()) << "no adverts in FAULT";
    d.driver.on_advert(advert(50), kT0 + kMasterDown + 20 * kMs);  // ignored
    d.verify();
    // The link going down and up again while a tracker still says FAULT changes nothing.
    d.driver.set_link(false, kT0 + kMasterDown + 30 * kMs);
    d.driver.set_link(true, kT0 + kMasterDown + 40 * kMs);
    EXPECT_EQ(d.driver.state_name(), "FAULT");
    ASSERT_EQ(d.driver.fault_reasons(), std::vector<std::string>{"tracker web is down"});
    // Cleared: BACKUP, as at startup.
    EXPECT_CALL(d.host, write_instance(State::Backup, _, true));
    d.driver.set_tracking(Tracking{}, kT0 + kMasterDown + 50 * kMs);
    EXPECT_EQ(d.driver.state_name(), "BACKUP");
    EXPECT_EQ(d.driver.next_deadline(), kT0 + kMasterDown + 50 * kMs + kMasterDown);
}

TEST(RouterDriver, TrackingSetBeforeStartDecidesHowItStarts) {
    Driver d(instance(100));
    d.driver.set_tracking(Tracking{.delta = 0, .faults = {"tracker web is down"}}, kT0);  // not started: no call
    EXPECT_CALL(d.host, write_instance(State::Fault, _, true));
    d.driver.start(true, kT0);
    EXPECT_EQ(d.driver.state_name(), "FAULT");
}

// What the notify scripts and the FIFO hear: each transition with the effective priority at the
// time (STOP on a stop), and a change of effective priority in MASTER or BACKUP.
TEST(RouterDriver, NoticesFollowTransitionsAndPriorityChanges) {
    Driver d(instance(100));
    Mock::VerifyAndClearExpectations(&d.host);  // notices are this test's subject: each expected
    EXPECT_CALL(d.host, watch_master_down(_)).WillRepeatedly(::testing::Return(true));
    EXPECT_CALL(d.host, write_instance(_, _, _)).Times(::testing::AnyNumber());
    EXPECT_CALL(d.host, take_vips(_, _)).Times(::testing::AnyNumber());
    EXPECT_CALL(d.host, release_vips()).Times(::testing::AnyNumber());
    EXPECT_CALL(d.host, send_advert(_)).Times(::testing::AnyNumber());
    EXPECT_CALL(d.host, announce()).Times(::testing::AnyNumber());
    EXPECT_CALL(d.host, set_advert_silence(_)).Times(::testing::AnyNumber());
    {
        InSequence order;
        EXPECT_CALL(d.host, notice(Notice::Backup, 100));
        EXPECT_CALL(d.host, notice(Notice::BackupPriority, 80));
        EXPECT_CALL(d.host, notice(Notice::Master, 80));
        EXPECT_CALL(d.host, notice(Notice::MasterPriority, 100));
        EXPECT_CALL(d.host, notice(Notice::Backup, 100));
        EXPECT_CALL(d.host, notice(Notice::Fault, 100));
        EXPECT_CALL(d.host, notice(Notice::Backup, 100));
        EXPECT_CALL(d.host, notice(Notice::Stop, 100));
    }
    d.driver.start(true, kT0);
    d.driver.set_tracking(Tracking{.delta = -20}, kT0 + kMs);
    d.driver.set_tracking(Tracking{.delta = -20}, kT0 + 2 * kMs);  // the same: nothing
    d.driver.on_timer(*d.driver.next_deadline());
    ASSERT_EQ(d.driver.state(), State::Master);
    d.driver.set_tracking(Tracking{}, kT0 + kMasterDown + kMs);
    d.driver.on_advert(advert(200), kT0 + kMasterDown + 2 * kMs);
    d.driver.set_link(false, kT0 + kMasterDown + 3 * kMs);
    d.driver.set_link(true, kT0 + kMasterDown + 4 * kMs);
    d.driver.stop(kT0 + kMasterDown + 5 * kMs);
}

// keepalived's garp_master_delay (a second burst), garp_master_refresh_repeat and
// garp_lower_prio_repeat.
TEST(RouterDriver, SecondBurstRefreshRepeatAndTheLowerPriorityBurst) {
    auto in = instance(255);
    in.announce = config::Announce{.delay_ms = 0, .repeat = 2, .interval_ms = 50, .refresh_ms = 10'000,
                                   .refresh_repeat = 3, .second_burst_ms = 1000, .lower_prio_repeat = 1};
    Driver d(in);
    EXPECT_CALL(d.host, write_instance(_, _, _)).Times(::testing::AnyNumber());
    EXPECT_CALL(d.host, take_vips(_, _));
    EXPECT_CALL(d.host, send_advert(255)).Times(::testing::AnyNumber());
    std::vector<Nanos> at;
    EXPECT_CALL(d.host, announce()).WillRepeatedly([&] { at.push_back(0); });
    Nanos now = kT0;
    auto run_to = [&](Nanos until) {
        for (; now <= until; now += 10 * kMs) {
            const std::size_t before = at.size();
            d.driver.on_timer(now);
            for (std::size_t k = before; k < at.size(); ++k) at[k] = now - kT0;
        }
    };
    d.driver.start(true, kT0);
    at[0] = 0;
    run_to(kT0 + 10'500 * kMs);
    EXPECT_EQ(at, (std::vector<Nanos>{0, 50 * kMs, 1000 * kMs, 1050 * kMs, 10'000 * kMs, 10'050 * kMs, 10'100 * kMs}))
        << "the burst, the second burst 1 s later, a refresh of three";
    at.clear();
    const Nanos heard = now;
    d.driver.on_advert(advert(100), heard);  // a worse master: one announcement (lower_prio_repeat)
    run_to(heard + 500 * kMs);
    EXPECT_EQ(at.size(), 1u);
}

}  // namespace
}  // namespace xvrrp
