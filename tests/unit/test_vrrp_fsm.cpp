// The state machine line by line against RFC 9568 section 6 (and RFC 3768 for v2).
#include <gtest/gtest.h>

#include "xvrrp/vrrp_fsm.hpp"

using namespace xvrrp;
using namespace xvrrp::fsm;

namespace {

constexpr Nanos kMs = 1'000'000;
constexpr Nanos kSec = 1'000'000'000;
constexpr Nanos kT0 = 1000 * kSec;  // an arbitrary monotonic "now"

Config v3(std::uint8_t priority = 100, std::uint16_t interval_cs = 100) {
    return Config{.version = 3, .priority = priority, .adver_int_cs = interval_cs,
                  .primary = IpAddress::from("192.0.2.1")};
}

Advert from(std::uint8_t priority, const char* src = "192.0.2.2", std::uint16_t interval_cs = 100) {
    return Advert{.priority = priority, .adver_int_cs = interval_cs, .src = IpAddress::from(src)};
}

// The kinds of actions in order, for exact comparisons.
std::vector<std::size_t> kinds(const Actions& a) {
    std::vector<std::size_t> k;
    for (const auto& x : a) k.push_back(x.index());
    return k;
}
constexpr std::size_t kTransition = 0, kTake = 1, kRelease = 2, kAnnounce = 3, kSend = 4;

std::uint8_t sent_priority(const Actions& a) {
    for (const auto& x : a)
        if (auto s = std::get_if<SendAdvert>(&x)) return s->priority;
    ADD_FAILURE() << "no SendAdvert";
    return 0xff;
}

}  // namespace

TEST(VrrpFsm, TimerArithmeticFollowsRfc9568) {
    Machine m(v3(100, 100));
    // Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256 = 156 * 1 s / 256
    EXPECT_EQ(m.skew_time(), 156 * kSec / 256);
    // Master_Down_Interval = (3 * Master_Adver_Interval) + Skew_Time
    EXPECT_EQ(m.master_down_interval(), 3 * kSec + 156 * kSec / 256);
    Config c = v3(254, 1);  // 10 ms, the v3 minimum
    c.down_timer_adverts = 5;
    Machine fast(c);
    EXPECT_EQ(fast.skew_time(), 2 * 10 * kMs / 256);
    EXPECT_EQ(fast.master_down_interval(), 5 * 10 * kMs + 2 * 10 * kMs / 256);
}

TEST(VrrpFsm, V2SkewIsInSecondsWhateverTheInterval) {
    Config c = v3(200, 300);
    c.version = 2;
    Machine m(c);
    // RFC 3768 6.1: Skew_Time = (256 - Priority) / 256 seconds; Master_Down_Interval = 3 * interval + skew.
    EXPECT_EQ(m.skew_time(), 56 * kSec / 256);
    EXPECT_EQ(m.master_down_interval(), 9 * kSec + 56 * kSec / 256);
}

TEST(VrrpFsm, StartupAsBackupArmsMasterDownTimer) {
    Machine m(v3());
    const auto a = m.startup(kT0);
    EXPECT_EQ(kinds(a), std::vector<std::size_t>{kTransition});
    EXPECT_EQ(m.state(), State::Backup);
    EXPECT_EQ(m.master_down_deadline(), kT0 + m.master_down_interval());
    EXPECT_FALSE(m.adver_deadline());
    EXPECT_TRUE(m.startup(kT0).empty()) << "a second startup does nothing";
}

TEST(VrrpFsm, AddressOwnerStartsAsMaster) {
    Machine m(v3(255));
    const auto a = m.startup(kT0);
    EXPECT_EQ(m.state(), State::Master);
    EXPECT_EQ(kinds(a), (std::vector<std::size_t>{kTransition, kTake, kSend, kAnnounce}));
    EXPECT_EQ(sent_priority(a), 255);
    EXPECT_EQ(m.adver_deadline(), kT0 + kSec);
}

TEST(VrrpFsm, ResumeIsMasterAtOnceAdvertisingNow) {
    Machine m(v3(100));
    const auto a = m.resume(kT0);
    EXPECT_EQ(m.state(), State::Master);
    EXPECT_EQ(kinds(a), (std::vector<std::size_t>{kTransition, kTake, kSend, kAnnounce}));
    EXPECT_EQ(std::get<Transition>(a[0]).from, State::Initialize);
    EXPECT_EQ(std::get<Transition>(a[0]).reason, "resumed after a restart");
    EXPECT_EQ(sent_priority(a), 100);
    EXPECT_EQ(m.adver_deadline(), kT0 + kSec);
    EXPECT_TRUE(m.resume(kT0).empty()) << "only from INIT";
    Machine started(v3(100));
    started.startup(kT0);
    EXPECT_TRUE(started.resume(kT0).empty());
    EXPECT_EQ(started.state(), State::Backup);
}

// An upgrade: the daemon handing over has just advertised; its schedule goes on.
TEST(VrrpFsm, ResumeOnAScheduleKeepsItAndSendsNothingNow) {
    Machine m(v3(100));
    const auto a = m.resume(kT0, kT0 + 300 * kMs);
    EXPECT_EQ(m.state(), State::Master);
    EXPECT_EQ(kinds(a), (std::vector<std::size_t>{kTransition, kTake})) << "no advert, no announcement now";
    EXPECT_EQ(m.adver_deadline(), kT0 + 300 * kMs);
    const auto due = m.tick(kT0 + 300 * kMs);
    EXPECT_EQ(kinds(due), (std::vector<std::size_t>{kSend}));
    EXPECT_EQ(m.adver_deadline(), kT0 + 300 * kMs + kSec) << "then every interval";
}

TEST(VrrpFsm, BackupBecomesMasterWhenTheTimerRunsOut) {
    Machine m(v3());
    m.startup(kT0);
    const Nanos due = *m.master_down_deadline();
    EXPECT_TRUE(m.tick(due - 1).empty());
    EXPECT_EQ(m.state(), State::Backup);
    const auto a = m.tick(due);
    EXPECT_EQ(m.state(), State::Master);
    EXPECT_EQ(kinds(a), (std::vector<std::size_t>{kTransition, kTake, kSend, kAnnounce}));
    EXPECT_EQ(std::get<Transition>(a[0]).reason, "no master");
    EXPECT_FALSE(m.master_down_deadline());
    EXPECT_EQ(m.adver_deadline(), due + kSec);
}

TEST(VrrpFsm, BackupResetsTimerAndLearnsTheMastersInterval) {
    Machine m(v3(100, 100));
    m.startup(kT0);
    m.advert(from(200, "192.0.2.2", 50), kT0 + kSec);
    EXPECT_EQ(m.master_adver_int_cs(), 50);
    // Recomputed with the learned interval: 3 * 0.5 s + 156 * 0.5 s / 256.
    EXPECT_EQ(m.master_down_deadline(), kT0 + kSec + 3 * kSec / 2 + 156 * (kSec / 2) / 256);
    ASSERT_TRUE(m.master());
    EXPECT_EQ(m.master()->priority, 200);
}

TEST(VrrpFsm, V2BackupKeepsItsOwnInterval) {
    Config c = v3();
    c.version = 2;
    Machine m(c);
    m.startup(kT0);
    m.advert(from(200, "192.0.2.2", 300), kT0);
    EXPECT_EQ(m.master_adver_int_cs(), 100);
}

TEST(VrrpFsm, PriorityZeroLeavesOnlySkewTime) {
    Machine m(v3(100));
    m.startup(kT0);
    m.advert(from(200), kT0);
    EXPECT_TRUE(m.advert(from(0), kT0 + kSec).empty());
    EXPECT_EQ(m.master_down_deadline(), kT0 + kSec + m.skew_time());
    const auto a = m.tick(kT0 + kSec + m.skew_time());
    EXPECT_EQ(m.state(), State::Master);
    EXPECT_EQ(std::get<Transition>(a[0]).reason, "master down");
}

TEST(VrrpFsm, PreemptDiscardsWorseMaster) {
    Machine m(v3(150));
    m.startup(kT0);
    const Nanos first_deadline = *m.master_down_deadline();
    m.advert(from(100), kT0 + kSec);  // lower: discarded, the timer keeps running
    EXPECT_EQ(m.master_down_deadline(), first_deadline);
    m.tick(first_deadline);
    EXPECT_EQ(m.state(), State::Master);
}

TEST(VrrpFsm, WithoutPreemptAWorseMasterKeepsUsBackup) {
    Config c = v3(150);
    c.preempt = false;
    Machine m(c);
    m.startup(kT0);
    m.advert(from(100), kT0 + kSec);
    EXPECT_EQ(m.master_down_deadline(), kT0 + kSec + m.master_down_interval());
}

TEST(VrrpFsm, PreemptDelayToleratesAWorseMasterForAWhile) {
    Config c = v3(150);
    c.preempt_delay = 10 * kSec;
    Machine m(c);
    m.startup(kT0);
    for (Nanos t = kT0; t < kT0 + 10 * kSec; t += kSec) {
        m.advert(from(100), t);
        EXPECT_EQ(m.master_down_deadline(), t + m.master_down_interval()) << "still tolerated at " << (t - kT0) / kSec;
    }
    const Nanos last = *m.master_down_deadline();
    m.advert(from(100), kT0 + 10 * kSec);  // the delay is over: discarded
    EXPECT_EQ(m.master_down_deadline(), last);
    // A better master restarts the count.
    m.advert(from(200), kT0 + 11 * kSec);
    m.advert(from(100), kT0 + 12 * kSec);
    EXPECT_EQ(m.master_down_deadline(), kT0 + 12 * kSec + m.master_down_interval());
}

// An upgrade: the new daemon's router hears the worse master again (its wait would start over)
// and is told when the old one's wait ends: it preempts then, not 10 s later.
TEST(VrrpFsm, APreemptWaitHandedOverEndsWhenItWould) {
    Config c = v3(150);
    c.preempt_delay = 10 * kSec;
    Machine m(c);
    m.keep_preempt_wait(kT0);  // nothing to keep in INIT
    m.startup(kT0 + 7 * kSec);
    m.advert(from(100), kT0 + 7 * kSec);
    EXPECT_EQ(m.preempt_allowed_at(), kT0 + 17 * kSec) << "heard anew: a whole delay";
    m.keep_preempt_wait(kT0 + 10 * kSec);  // the old daemon's wait, begun at kT0
    EXPECT_EQ(m.preempt_allowed_at(), kT0 + 10 * kSec);
    m.keep_preempt_wait(kT0 + 20 * kSec);
    EXPECT_EQ(m.preempt_allowed_at(), kT0 + 10 * kSec) << "never later than it already is";
    const Nanos last = *m.master_down_deadline();
    m.advert(from(100), kT0 + 10 * kSec);  // the delay is over: discarded
    EXPECT_EQ(m.master_down_deadline(), last);
}

TEST(VrrpFsm, MasterSendsAdvertsOnItsTimer) {
    Machine m(v3(255, 100));
    m.startup(kT0);
    EXPECT_TRUE(m.tick(kT0 + kSec - 1).empty());
    const auto a = m.tick(kT0 + kSec);
    EXPECT_EQ(kinds(a), std::vector<std::size_t>{kSend});
    EXPECT_EQ(m.adver_deadline(), kT0 + 2 * kSec);
    EXPECT_EQ(m.next_deadline(), kT0 + 2 * kSec);
}

// A loop that always wakes a little late must not send fewer adverts than due: 100 a second at
// 10 ms, whatever the lateness below one interval; a whole interval behind, no catch-up burst.
TEST(VrrpFsm, MasterKeepsItsAdvertRateWhenWokenLate) {
    Machine m(v3(255, 1));  // 10 ms
    m.startup(kT0);
    constexpr Nanos kLate = 100'000;  // 0.1 ms
    int sent = 0;
    for (int i = 0; i < 1000 && *m.adver_deadline() < kT0 + kSec; ++i)
        sent += static_cast<int>(m.tick(*m.adver_deadline() + kLate).size());
    EXPECT_EQ(sent, 99) << "adverts in the first second after the one sent at start-up";
    const Nanos stalled = *m.adver_deadline() + 35'000'000;  // a 35 ms stall
    EXPECT_EQ(m.tick(stalled).size(), 1u);
    EXPECT_EQ(m.adver_deadline(), stalled + 10'000'000) << "one advert, then a fresh grid from now";
}

TEST(VrrpFsm, MasterAnswersPriorityZeroAtOnce) {
    Machine m(v3(255));
    m.startup(kT0);
    const auto a = m.advert(from(0), kT0 + kSec / 2);
    EXPECT_EQ(kinds(a), std::vector<std::size_t>{kSend});
    EXPECT_EQ(m.adver_deadline(), kT0 + kSec / 2 + kSec);
    EXPECT_EQ(m.state(), State::Master);
}

TEST(VrrpFsm, MasterYieldsToHigherPriority) {
    Machine m(v3(100));
    m.startup(kT0);
    m.tick(*m.master_down_deadline());
    ASSERT_EQ(m.state(), State::Master);
    const Nanos now = kT0 + 10 * kSec;
    const auto a = m.advert(from(200, "192.0.2.2", 20), now);
    EXPECT_EQ(m.state(), State::Backup);
    EXPECT_EQ(kinds(a), (std::vector<std::size_t>{kTransition, kRelease}));
    EXPECT_EQ(std::get<Transition>(a[0]).reason, "higher priority");
    EXPECT_FALSE(m.adver_deadline());
    EXPECT_EQ(m.master_adver_int_cs(), 20);
    EXPECT_EQ(m.master_down_deadline(), now + m.master_down_interval());
}

TEST(VrrpFsm, EqualPriorityTieBreaksOnPrimaryAddress) {
    auto master_at = [](const char* ours) {
        Config c = v3(100);
        c.primary = IpAddress::from(ours);
        Machine m(c);
        m.startup(kT0);
        m.tick(*m.master_down_deadline());
        return m;
    };
    Machine low = master_at("192.0.2.1");
    low.advert(from(100, "192.0.2.2"), kT0 + 5 * kSec);
    EXPECT_EQ(low.state(), State::Backup) << "192.0.2.2 > 192.0.2.1: yield";

    Machine high = master_at("192.0.2.3");
    EXPECT_EQ(kinds(high.advert(from(100, "192.0.2.2"), kT0 + 5 * kSec)), (std::vector<std::size_t>{kSend, kAnnounce}));
    EXPECT_EQ(high.state(), State::Master) << "192.0.2.2 < 192.0.2.3: keep";
}

TEST(VrrpFsm, MasterHearingALowerPriorityAdvertisesAndReannouncesAtOnce) {
    Machine m(v3(100));
    m.startup(kT0);
    m.tick(*m.master_down_deadline());
    ASSERT_EQ(m.state(), State::Master);
    const Nanos now = kT0 + 5 * kSec + 300 * kMs;
    const auto a = m.advert(from(99, "192.0.2.200"), now);
    EXPECT_EQ(m.state(), State::Master);
    EXPECT_EQ(kinds(a), (std::vector<std::size_t>{kSend, kAnnounce}));
    EXPECT_EQ(sent_priority(a), 100);
    EXPECT_EQ(m.adver_deadline(), now + kSec) << "the advert timer restarts from the one just sent";
}

TEST(VrrpFsm, TheAddressOwnerIgnoresOthersAdverts) {
    Machine m(v3(kOwnerPriority));
    m.startup(kT0);
    ASSERT_EQ(m.state(), State::Master);
    // Another router claiming 255 with a higher address, or any priority: the owner stays.
    const auto a = m.advert(from(kOwnerPriority, "192.0.2.200"), kT0 + kSec);
    EXPECT_EQ(m.state(), State::Master);
    EXPECT_EQ(kinds(a), (std::vector<std::size_t>{kSend, kAnnounce}));
}

TEST(VrrpFsm, ShutdownFromMasterResignsWithPriorityZero) {
    Machine m(v3(255));
    m.startup(kT0);
    const auto a = m.shutdown(kT0 + kSec);
    EXPECT_EQ(kinds(a), (std::vector<std::size_t>{kSend, kRelease, kTransition}));
    EXPECT_EQ(sent_priority(a), 0);
    EXPECT_EQ(m.state(), State::Initialize);
    EXPECT_FALSE(m.next_deadline());
}

TEST(VrrpFsm, ShutdownFromBackupIsQuiet) {
    Machine m(v3());
    m.startup(kT0);
    EXPECT_EQ(kinds(m.shutdown(kT0)), std::vector<std::size_t>{kTransition});
    EXPECT_FALSE(m.next_deadline());
    EXPECT_TRUE(m.shutdown(kT0).empty());
    EXPECT_TRUE(m.advert(from(200), kT0).empty()) << "Initialize ignores adverts";
    EXPECT_TRUE(m.tick(kT0 + 100 * kSec).empty());
}

TEST(VrrpFsm, SkewOnlyTakeoverAfterTheMasterResigns) {
    // The whole exchange of RFC 9568's priority-0 rule between two machines.
    Machine master(v3(200)), backup(v3(100));
    master.startup(kT0);
    backup.startup(kT0);
    master.tick(*master.master_down_deadline());
    backup.advert(from(200), kT0 + 4 * kSec);
    const auto resign = master.shutdown(kT0 + 5 * kSec);
    ASSERT_EQ(sent_priority(resign), 0);
    backup.advert(from(0), kT0 + 5 * kSec);
    EXPECT_EQ(backup.next_deadline(), kT0 + 5 * kSec + backup.skew_time());
    EXPECT_LT(backup.skew_time(), backup.master_down_interval() / 3);
}

TEST(VrrpFsm, ReconfigureKeepsStateAndRetimes) {
    Machine m(v3(100, 100));
    m.startup(kT0);
    m.tick(*m.master_down_deadline());
    Config faster = v3(100, 10);
    m.reconfigure(faster, kT0 + 5 * kSec);
    EXPECT_EQ(m.state(), State::Master);
    EXPECT_EQ(m.adver_deadline(), kT0 + 5 * kSec + 100 * kMs);

    Machine b(v3(100, 100));
    b.startup(kT0);
    b.reconfigure(v3(250, 100), kT0 + kSec);
    EXPECT_EQ(b.state(), State::Backup);
    EXPECT_LE(*b.master_down_deadline(), kT0 + kSec + b.master_down_interval());
}

namespace {

// A flood of worse adverts (a misconfigured or hostile sender) must not become a flood of ours:
// the immediate answer comes at most once per kLowerAnswerSpacing, and the schedule goes on.
TEST(VrrpFsm, AMasterAnswersWorseAdvertsAtOnceAtMostOncePerSecond) {
    Machine m(v3(100, 1));  // 10 ms adverts
    m.startup(kT0);
    m.tick(*m.master_down_deadline());
    ASSERT_EQ(m.state(), State::Master);
    const Nanos t = kT0 + 5 * kSec;
    EXPECT_EQ(kinds(m.advert(from(50, "192.0.2.200"), t)), (std::vector<std::size_t>{kSend, kAnnounce}));
    int answered = 0;
    for (Nanos dt = kMs; dt < kSec; dt += kMs) answered += !m.advert(from(dt % 2 ? 50 : 60, "192.0.2.200"), t + dt).empty();
    EXPECT_EQ(answered, 0) << "a thousand worse adverts in the next second: no answer";
    EXPECT_EQ(kinds(m.advert(from(50, "192.0.2.200"), t + kSec)), (std::vector<std::size_t>{kSend, kAnnounce}));
    EXPECT_EQ(m.state(), State::Master);
    // Priority 0 is always answered (RFC 9568 6.4.3): it is the resigning master's, not a flood's.
    EXPECT_EQ(kinds(m.advert(from(0, "192.0.2.200"), t + kSec + kMs)), (std::vector<std::size_t>{kSend}));
    // A new mastership answers at once again.
    m.advert(from(200, "192.0.2.9"), t + 2 * kSec);
    ASSERT_EQ(m.state(), State::Backup);
    m.tick(*m.master_down_deadline());
    ASSERT_EQ(m.state(), State::Master);
    EXPECT_EQ(kinds(m.advert(from(50, "192.0.2.200"), *m.adver_deadline() - kMs)), (std::vector<std::size_t>{kSend, kAnnounce}));
}

}  // namespace

namespace {

TEST(VrrpFsm, AMasterEnteringFaultResignsOnceAndReleases) {
    Machine m(v3());
    m.startup(kT0);
    m.tick(kT0 + m.master_down_interval());
    ASSERT_EQ(m.state(), State::Master);
    const Actions a = m.fault(kT0 + 5 * kSec);
    EXPECT_EQ(kinds(a), (std::vector<std::size_t>{kSend, kRelease, kTransition}));
    EXPECT_EQ(std::get<SendAdvert>(a[0]).priority, 0);
    EXPECT_EQ(std::get<Transition>(a[2]).to, State::Fault);
    EXPECT_EQ(m.state(), State::Fault);
    EXPECT_FALSE(m.next_deadline()) << "no adverts in FAULT";
    EXPECT_TRUE(m.fault(kT0 + 6 * kSec).empty()) << "already there";
    EXPECT_TRUE(m.advert(from(50), kT0 + 7 * kSec).empty()) << "adverts are ignored in FAULT";
    EXPECT_TRUE(m.tick(kT0 + 100 * kSec).empty());
}

TEST(VrrpFsm, LeavingFaultGoesToBackupAsAtStartup) {
    Machine m(v3());
    m.startup(kT0);
    const Actions in = m.fault(kT0 + kSec);
    EXPECT_EQ(kinds(in), std::vector<std::size_t>{kTransition}) << "a backup sends nothing";
    const Actions out = m.recover(kT0 + 2 * kSec);
    ASSERT_EQ(kinds(out), std::vector<std::size_t>{kTransition});
    EXPECT_EQ(std::get<Transition>(out[0]).from, State::Fault);
    EXPECT_EQ(std::get<Transition>(out[0]).to, State::Backup);
    EXPECT_EQ(m.master_down_deadline(), kT0 + 2 * kSec + m.master_down_interval());
    EXPECT_TRUE(m.recover(kT0 + 3 * kSec).empty()) << "not in FAULT";
}

TEST(VrrpFsm, TheOwnerLeavesFaultAsMaster) {
    Machine m(v3(255));
    m.startup(kT0);
    m.fault(kT0 + kSec);
    const Actions out = m.recover(kT0 + 2 * kSec);
    EXPECT_EQ(kinds(out), (std::vector<std::size_t>{kTransition, kTake, kSend, kAnnounce}));
    EXPECT_EQ(m.state(), State::Master);
}

TEST(VrrpFsm, FaultFromInitAndShutdownFromFault) {
    Machine m(v3());
    EXPECT_EQ(kinds(m.fault(kT0)), std::vector<std::size_t>{kTransition});
    const Actions out = m.shutdown(kT0 + kSec);
    ASSERT_EQ(kinds(out), std::vector<std::size_t>{kTransition}) << "nothing to resign";
    EXPECT_EQ(m.state(), State::Initialize);
}

// Sync groups: a held backup is ready when its timer runs out, MASTER only when released; an
// advert from a live master makes it not ready again; a MASTER demoted by its group resigns.
TEST(VrrpFsm, AHeldBackupIsReadyUntilReleased) {
    Machine m(v3(100));
    m.set_hold(true);
    m.startup(kT0);
    const Nanos down = *m.master_down_deadline();
    EXPECT_TRUE(m.tick(down).empty()) << "held: no transition of its own";
    EXPECT_EQ(m.state(), State::Backup);
    EXPECT_TRUE(m.ready());
    EXPECT_FALSE(m.next_deadline()) << "nothing left to time: the group decides";
    m.advert(from(0), down + kMs);  // a resignation keeps it ready
    EXPECT_TRUE(m.ready());
    m.advert(from(200), down + 2 * kMs);  // a live, better master: not ready, its timer again
    EXPECT_FALSE(m.ready());
    EXPECT_EQ(m.master_down_deadline(), down + 2 * kMs + m.master_down_interval());
    EXPECT_TRUE(m.release(down + 3 * kMs).empty()) << "not ready: nothing to release";
    m.tick(*m.master_down_deadline());
    ASSERT_TRUE(m.ready());
    const auto a = m.release(*m.master_down_deadline() + kSec);
    EXPECT_EQ(kinds(a), (std::vector<std::size_t>{kTransition, kTake, kSend, kAnnounce}));
    EXPECT_EQ(m.state(), State::Master);
    EXPECT_FALSE(m.ready());
}

TEST(VrrpFsm, ADemotedMasterResignsAndWaitsAsBackup) {
    Machine m(v3(100));
    m.startup(kT0);
    m.tick(*m.master_down_deadline());
    ASSERT_EQ(m.state(), State::Master);
    const Nanos now = kT0 + 10 * kSec;
    const auto a = m.demote(now);
    EXPECT_EQ(kinds(a), (std::vector<std::size_t>{kSend, kRelease, kTransition}));
    EXPECT_EQ(sent_priority(a), 0) << "the other side's members take over after Skew_Time";
    EXPECT_EQ(m.state(), State::Backup);
    EXPECT_EQ(m.master_down_deadline(), now + m.master_down_interval());
    EXPECT_TRUE(m.demote(now).empty()) << "only a MASTER is demoted";
}

// keepalived's state MASTER: the first Master_Down_Interval is one interval and 1/256 of it; a
// master heard meanwhile keeps it BACKUP as any other; later ones are the usual.
TEST(VrrpFsm, StartingAsMasterWaitsOneIntervalForAnAnswer) {
    Config c = v3(100);
    c.start_as_master = true;
    Machine m(c);
    m.startup(kT0);
    EXPECT_EQ(m.master_down_deadline(), kT0 + kSec + kSec / 256);
    Machine answered(c);
    answered.startup(kT0);
    answered.advert(from(200), kT0 + 500 * kMs);
    EXPECT_EQ(answered.master_down_deadline(), kT0 + 500 * kMs + answered.master_down_interval());
    EXPECT_TRUE(answered.tick(kT0 + kSec + kSec / 256).empty());
    m.tick(kT0 + kSec + kSec / 256);
    EXPECT_EQ(m.state(), State::Master);
}

}  // namespace
