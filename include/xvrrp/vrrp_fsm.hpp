// The VRRP state machine of RFC 9568 section 6 (VRRPv3; RFC 3768 for v2):
// Initialize, Backup and Active (MASTER, as users see it), and keepalived's FAULT
// (the interface is down or a tracker says the router must not serve). Pure: events and
// the current time go in, actions come out; timers are deadlines the caller
// arms, so it is tested without a kernel or a clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "xvrrp/packet.hpp"

namespace xvrrp::fsm {

using Nanos = std::uint64_t;  // CLOCK_MONOTONIC nanoseconds

enum class State : std::uint8_t { Initialize, Backup, Master, Fault };
std::string_view to_string(State s);

constexpr std::uint8_t kOwnerPriority = 255;
constexpr Nanos kNsPerCs = 10'000'000;
// A master answers worse adverts at once (an advert and a re-announcement) at most this often.
constexpr Nanos kLowerAnswerSpacing = 1'000'000'000;

// A master's next advert after the one due at `due` went out at `now`: on the grid of the first
// advert (a loop that wakes 0.1 ms late each time would otherwise send 1% fewer at 10 ms), or,
// a whole interval behind, afresh from now instead of the missed ones in a burst.
[[nodiscard]] constexpr Nanos next_advert_at(Nanos due, std::uint16_t adver_int_cs, Nanos now) {
    const Nanos interval = Nanos{adver_int_cs} * kNsPerCs;
    return due + interval > now ? due + interval : now + interval;
}

struct Config {
    std::uint8_t version = 3;
    std::uint8_t priority = 100;          // 1..255; 255 owns the addresses
    std::uint16_t adver_int_cs = 100;     // Advertisement_Interval; v2 whole seconds (multiples of 100)
    bool preempt = true;                  // Preempt_Mode
    Nanos preempt_delay = 0;              // keepalived's preempt_delay: tolerate a worse master this long
    std::uint8_t down_timer_adverts = 3;  // the 3 in Master_Down_Interval
    IpAddress primary;                    // our primary address on the interface (tie-break)
    // keepalived's `state MASTER`: the first Master_Down_Interval after a startup is one interval
    // and the minimum skew (1/256 of it), so that it is MASTER at once unless a master answers.
    bool start_as_master = false;
};

struct Advert {
    std::uint8_t priority = 0;
    std::uint16_t adver_int_cs = 0;  // Max Adver Int of the sender
    IpAddress src;
};

// Actions, in the order the caller must carry them out.
struct Transition {
    State from, to;
    std::string_view reason;
};
struct TakeVips {};     // add the VIPs, flip XDP ownership on
struct ReleaseVips {};  // remove the VIPs, flip XDP ownership off
struct Announce {        // gratuitous ARP / unsolicited NA for the VIPs
    bool lower_heard = false;  // a MASTER answering a worse master (keepalived's MASTER_RX_LOWER_PRI)
};
struct SendAdvert {
    std::uint8_t priority;  // 0 when resigning
};
using Action = std::variant<Transition, TakeVips, ReleaseVips, Announce, SendAdvert>;
using Actions = std::vector<Action>;

class Machine {
public:
    explicit Machine(Config config);

    Actions startup(Nanos now);
    // Startup of a router the dataplane still has as MASTER, left serving by a daemon that died
    // moments ago (crash adopt): MASTER at once, advertising now, so that no backup sees a gap.
    // With advert_at (an upgrade: the daemon handing over has just advertised) it keeps that
    // schedule instead: the next advert at advert_at, no announcement (the host's are as they were).
    Actions resume(Nanos now, std::optional<Nanos> advert_at = std::nullopt);
    Actions shutdown(Nanos now);
    // FAULT: a master resigns (one priority-0 advert) and releases its VIPs; no adverts, no
    // timers, adverts heard are ignored until recover().
    Actions fault(Nanos now);
    // Out of FAULT as at startup: BACKUP, or MASTER at once for the address owner.
    Actions recover(Nanos now);
    Actions advert(const Advert& a, Nanos now);
    // Carries out every timer due at now (Adver_Timer, Master_Down_Timer).
    Actions tick(Nanos now);
    // Backup: adverts the caller did not pass one by one (the dataplane saw them) put off
    // Master_Down_Timer until `until`.
    void hold_master_down(Nanos until);
    // Sync groups (keepalived's vrrp_sync_group): a held BACKUP whose Master_Down_Timer runs out
    // does not become MASTER on its own but ready(); release() then makes it MASTER (when every
    // member of the group is ready, or the group is MASTER). An advert that resets the timer
    // makes it not ready again. Lifting the hold does not release: the caller does.
    void set_hold(bool hold);
    Actions release(Nanos now);
    // A MASTER follows its group to BACKUP: it resigns (priority 0, so that the other side's
    // members take over after Skew_Time) and releases its VIPs.
    Actions demote(Nanos now);
    // A new configuration for the same instance (reload, priority tracking):
    // the state is kept; timers are recomputed from the new values.
    void reconfigure(const Config& config, Nanos now);

    [[nodiscard]] State state() const { return state_; }
    [[nodiscard]] bool held() const { return hold_; }
    [[nodiscard]] bool ready() const { return ready_; }
    [[nodiscard]] const Config& config() const { return config_; }
    [[nodiscard]] std::optional<Nanos> next_deadline() const;
    [[nodiscard]] std::optional<Nanos> master_down_deadline() const { return master_down_at_; }
    [[nodiscard]] std::optional<Nanos> adver_deadline() const { return adver_at_; }
    [[nodiscard]] std::uint16_t master_adver_int_cs() const { return master_adver_int_cs_; }
    [[nodiscard]] Nanos skew_time() const;
    [[nodiscard]] Nanos master_down_interval() const;
    // Backup with Preempt_Mode, hearing a worse master: when preemption is allowed (the first
    // worse advert + preempt_delay); none otherwise.
    [[nodiscard]] std::optional<Nanos> preempt_allowed_at() const;
    // An upgrade: a preempt_delay the replaced daemon was already waiting out ends when it would
    // have (not later), while a worse master is still heard.
    void keep_preempt_wait(Nanos allowed_at);
    // The master we last heard (Backup), if any.
    [[nodiscard]] const std::optional<Advert>& master() const { return master_; }

private:
    Actions become_master(Nanos now, std::string_view reason);
    Actions become_backup(Nanos now, const Advert& from, std::string_view reason);
    Actions stand_down(State to, std::string_view reason);
    void learn_master(const Advert& a);
    bool beats_us(const Advert& a) const;
    bool preempt_now(Nanos now) const;

    Config config_;
    State state_ = State::Initialize;
    std::uint16_t master_adver_int_cs_;
    std::optional<Nanos> master_down_at_;
    std::optional<Nanos> adver_at_;
    std::optional<Nanos> lower_since_;  // when a worse master was first heard (preempt_delay)
    std::optional<Nanos> answered_lower_at_;  // when a master last answered a worse advert at once
    std::optional<Advert> master_;
    bool hold_ = false;   // a sync group member: MASTER only by release()
    bool ready_ = false;  // held, and its Master_Down_Timer ran out
};

}  // namespace xvrrp::fsm
