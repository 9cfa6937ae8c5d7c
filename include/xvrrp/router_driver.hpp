// One virtual router's driver: the state machine (vrrp_fsm.hpp) and everything timed around it
// that the daemon used to do inline: announcement bursts and refreshes, the retry after a failed
// action, the link (FAULT), and the hand-over between the dataplane's master-down timer and the
// state machine's. Pure: events and the time go in, effects go out through a RouterHost, so every
// path is unit-tested against a fake host (tests/unit/test_router_driver.cpp).
//
// Master down has one authority at a time, and this class decides which:
// - MASTER, or BACKUP before any advert was heard: the state machine's own deadline (none in INIT
//   and FAULT).
// - BACKUP after an advert reset Master_Down_Timer: the dataplane's deadline for the peer, which
//   XDP pushes on with every advert without waking us (kernel_watching). Its per-peer bpf_timer
//   reports the silence as a MASTER_DOWN event; where the kernel gave no timer (bpf_timer_init
//   fails for lack of memory past a few hundred on 6.18), the daemon's sweep of the peer entries
//   reports it at the same deadline (master_down_sweep.hpp). Either, or a resync that finds one
//   missed, is delivered with on_master_down(); the state machine's own deadline is then not
//   armed, so nothing fires twice.
// - BACKUP after an advert when neither can watch (the host failed): the state machine's own
//   deadline, and when it runs out the dataplane's deadline is read: adverts that came meanwhile
//   (which XDP counts without reporting) hold it off until then.
// - Preemption of a worse master: XDP preempts by itself (the PREEMPT flag: it ignores a
//   lower-priority advert, so its timer runs out) unless preempt_delay is set. Then the worse
//   master holds the kernel timer like any other until the state machine allows preemption
//   (Machine::preempt_allowed_at, the one place the delay is counted), and the driver writes the
//   flag at that moment.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "xvrrp/config.hpp"
#include "xvrrp/counters.hpp"
#include "xvrrp/notify.hpp"
#include "xvrrp/resync.hpp"
#include "xvrrp/journal.hpp"
#include "xvrrp/vrrp_fsm.hpp"

namespace xvrrp {

using fsm::Nanos;

struct RouterSettings {
    fsm::Config fsm;  // with the base priority; the state machine runs on the effective one
    config::Announce announce;
    std::string label;      // "(name)" or "(name/v6)", as logs show the router
    std::string interface;  // for the logs
    // XVRRP_INSTANCE, XVRRP_VRID, XVRRP_FAMILY on its log lines in the journal.
    std::vector<JournalField> journal;
    bool track_primary = true;  // the interface down is FAULT
    bool sync_member = false;   // in a sync group: MASTER only when the group says (fsm::Machine::set_hold)
};

// What the router's trackers say (tracking.hpp): the sum of their priority deltas, and why it
// must be in FAULT (none: it may serve).
struct Tracking {
    int delta = 0;
    std::vector<std::string> faults;
    bool operator==(const Tracking&) const = default;
};

// The effects of one router's decisions. Any call may throw: the driver then puts the router in
// its error state (logged, in the status) and reconciles the VIPs every second until it works.
class RouterHost {
public:
    virtual ~RouterHost() = default;
    // The dataplane's entry for the instance: its state, effective priority and whether XDP
    // preempts worse masters.
    virtual void write_instance(fsm::State state, std::uint8_t priority, bool kernel_preempt) = 0;
    // Ownership on (idempotent): XDP answers for the VIPs, whose fail-safe silences them once no
    // advert has left for `silence`, counted from `now`; the addresses where the instance holds them.
    virtual void take_vips(Nanos now, Nanos silence) = 0;
    virtual void release_vips() = 0;  // ownership off (idempotent)
    virtual void set_advert_silence(Nanos silence) = 0;  // 0: not master, no fail-safe window
    virtual void send_advert(std::uint8_t priority) = 0;
    virtual void announce() = 0;  // gratuitous ARP / unsolicited NA for every VIP
    // The address adverts leave from from now on (the next advert, the dataplane's next entry).
    virtual void set_primary(const IpAddress& primary) = 0;
    // The dataplane's view of the master: when it declares it down (the last advert that counts
    // + Master_Down_Interval). Read, not written.
    virtual std::optional<Nanos> kernel_master_down_at() = 0;
    // Asks that the master's silence be reported (on_master_down) as the dataplane sees it: by
    // its kernel timer, or where it has none by the daemon's sweep of the peer entries. False
    // when neither can (no master in the entry): the driver's own deadline then.
    virtual bool watch_master_down(Nanos now) = 0;
    // Something the notify scripts and FIFO hear of: a transition (after the effects it queued
    // here), a change of effective priority, a worse master heard.
    virtual void notice(Notice n, std::uint8_t priority) = 0;
};

class RouterDriver {
public:
    RouterDriver(RouterSettings settings, RouterHost& host);

    // Writes the dataplane entry as the router stands (before its VIPs and peers are added).
    void publish();
    // A MASTER's schedule (absolute CLOCK_MONOTONIC): its next advert and where its
    // announcements stand. An upgrade hands it over, and the new daemon's router keeps it.
    struct Schedule {
        Nanos advert_at = 0;
        std::uint32_t announce_left = 0;
        Nanos next_announce = 0;
        std::optional<Nanos> second_burst_at, next_refresh;
        bool operator==(const Schedule&) const = default;
    };
    [[nodiscard]] std::optional<Schedule> schedule() const;
    // Starts the state machine, or waits in FAULT while the link is down. resume_master: the
    // dataplane was left serving as MASTER by a daemon that died moments ago (Machine::resume);
    // for a sync group member the caller asks it only when the whole group resumes. schedule
    // (an upgrade): resumed on the one the predecessor handed over, not advertising at once.
    void start(bool link_up, Nanos now, bool resume_master = false, const Schedule* schedule = nullptr);
    // A BACKUP waiting out preempt_delay: when it may preempt. keep_preempt_wait: the wait its
    // predecessor had under way ends then, not later (fsm::Machine::keep_preempt_wait).
    [[nodiscard]] std::optional<Nanos> preempt_allowed_at() const { return machine_.preempt_allowed_at(); }
    void keep_preempt_wait(Nanos allowed_at) { machine_.keep_preempt_wait(allowed_at); }
    // A MASTER advertises now, outside its schedule (which stays), counted like any advert: an
    // upgrading daemon's last, so its successor has a whole interval. Others: nothing.
    void advertise_now(Nanos now);
    // A MASTER announces its VIPs again, a burst as on taking them (what answers for them
    // changed: the interface's MAC). Others: nothing.
    void reannounce(Nanos now);
    // Stops it: a master resigns (priority 0) and releases its VIPs.
    void stop(Nanos now);
    // Carrier or admin state of the interface: down is FAULT (no adverts, VIPs released) unless
    // track_primary is off; up again starts over as BACKUP.
    void set_link(bool up, Nanos now);
    // The interface's address adverts leave from (RFC 9568 5.1.2.1), as keepalived follows it: a
    // new one replaces the old in place, without a transition; none (the interface has no address
    // of the family left) is FAULT until one comes.
    void set_source(const std::optional<IpAddress>& primary, Nanos now);
    [[nodiscard]] bool has_source() const { return !no_source_; }
    // The trackers' verdict: a new effective priority goes to the state machine, the dataplane
    // entry and the next advert, without a transition; a fault reason is FAULT until none is left.
    void set_tracking(Tracking tracking, Nanos now);
    void on_advert(const fsm::Advert& advert, Nanos now);
    // The dataplane's master-down timer ran out (an event, or a resync that found one missed).
    void on_master_down(Nanos now);
    // Carries out everything due at now.
    void on_timer(Nanos now);
    // Priority, timers, preemption and announcements, without a restart.
    void reconfigure(RouterSettings settings, Nanos now);
    // Sync groups (the daemon is the group): a held router ready to be MASTER becomes it; a MASTER
    // follows its group to BACKUP.
    void release(Nanos now);
    void demote(Nanos now);
    // An effect outside the driver failed for this router (for example restoring a lost VIP).
    void fail(const std::string& what, Nanos now);

    // The earliest time on_timer has work; none when only an event can move the router.
    [[nodiscard]] std::optional<Nanos> next_deadline() const;

    [[nodiscard]] fsm::State state() const { return machine_.state(); }
    [[nodiscard]] bool fault() const { return machine_.state() == fsm::State::Fault; }
    [[nodiscard]] bool ready() const { return machine_.ready(); }
    [[nodiscard]] std::string_view state_name() const { return fsm::to_string(machine_.state()); }
    // Why it is in FAULT, or would be once started (the interface, the trackers).
    [[nodiscard]] std::vector<std::string> fault_reasons() const;
    [[nodiscard]] std::uint8_t base_priority() const { return settings_.fsm.priority; }
    [[nodiscard]] std::uint8_t priority() const { return machine_.config().priority; }
    [[nodiscard]] const Tracking& tracking() const { return tracking_; }
    [[nodiscard]] const std::string& error() const { return error_; }
    [[nodiscard]] std::uint64_t transitions() const { return transitions_; }
    [[nodiscard]] const RouterCounters& counters() const { return counters_; }
    [[nodiscard]] Nanos last_transition() const { return last_transition_; }
    // An upgrade: the history the previous process kept (its transition count and time, its
    // counters) replaces what this one's start added, so the upgrade leaves no trace in them.
    void carry_over(std::uint64_t transitions, Nanos last_transition, const RouterCounters& counters) {
        transitions_ = transitions;
        last_transition_ = last_transition;
        counters_ = counters;
    }
    [[nodiscard]] const std::optional<fsm::Advert>& master() const { return machine_.master(); }
    [[nodiscard]] bool kernel_watching() const { return kernel_watching_; }
    [[nodiscard]] bool kernel_preempt() const { return kernel_preempt_; }
    [[nodiscard]] RouterFacts facts() const;
    [[nodiscard]] const RouterSettings& settings() const { return settings_; }
    // How long XDP answers for a master's VIPs after its last advert left.
    [[nodiscard]] Nanos advert_silence() const;

private:
    void apply(const fsm::Actions& actions, Nanos now);
    void act(const fsm::Transition& t, Nanos now);
    void act(const fsm::TakeVips&, Nanos now);
    void act(const fsm::ReleaseVips&, Nanos now);
    void act(const fsm::Announce&, Nanos now);
    void act(const fsm::SendAdvert& s, Nanos now);
    template <typename Work>
    void guarded(Work&& work, Nanos now);
    void reconcile(Nanos now);
    void master_down_due(Nanos now);
    bool watch_master_down(Nanos now);
    [[nodiscard]] std::optional<Nanos> own_master_down_or_advert() const;
    [[nodiscard]] bool preempts_in_kernel() const;
    [[nodiscard]] fsm::Config machine_config() const;  // the settings at the effective priority
    void update_fault(Nanos now);
    void burst(std::uint32_t count, Nanos now);

    RouterSettings settings_;
    RouterHost& host_;
    fsm::Machine machine_;
    bool kernel_watching_ = false;  // BACKUP: the dataplane's timer runs for us
    bool kernel_preempt_;           // the PREEMPT flag as written to the dataplane
    std::uint32_t announce_left_ = 0;
    Nanos next_announce_ = 0;
    std::optional<Nanos> next_refresh_;
    std::optional<Nanos> second_burst_at_;
    std::uint64_t transitions_ = 0;
    RouterCounters counters_;
    Nanos last_transition_ = 0;
    bool started_ = false;
    bool link_down_ = false;
    bool no_source_ = false;  // the interface has no address of the family to advertise from
    Tracking tracking_;
    std::string error_;               // the last action that failed, until a retry works
    std::optional<Nanos> retry_at_;
    std::optional<Nanos> confirm_at_;  // a retry went through: recovered unless a failure comes first
    std::optional<ProcessedAdvert> processed_;  // the last advert acted on, for the resync
};

// The settings of an instance's router on one address family.
RouterSettings router_settings(const config::Instance& in, Family family, const IpAddress& primary);

}  // namespace xvrrp
