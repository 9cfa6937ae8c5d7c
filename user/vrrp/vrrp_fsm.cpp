#include "xvrrp/vrrp_fsm.hpp"

#include <algorithm>

namespace xvrrp::fsm {

std::string_view to_string(State s) {
    switch (s) {
        case State::Initialize: return "INIT";
        case State::Backup: return "BACKUP";
        case State::Master: return "MASTER";
        case State::Fault: return "FAULT";
    }
    return "?";
}

Machine::Machine(Config config) : config_(std::move(config)), master_adver_int_cs_(config_.adver_int_cs) {}

Nanos Machine::skew_time() const {
    const Nanos unit = config_.version == 2 ? Nanos{1'000'000'000}  // RFC 3768: in seconds
                                            : Nanos{master_adver_int_cs_} * kNsPerCs;
    return (256 - config_.priority) * unit / 256;
}

Nanos Machine::master_down_interval() const {
    return Nanos{config_.down_timer_adverts} * master_adver_int_cs_ * kNsPerCs + skew_time();
}

std::optional<Nanos> Machine::next_deadline() const {
    if (master_down_at_ && adver_at_) return std::min(*master_down_at_, *adver_at_);
    return master_down_at_ ? master_down_at_ : adver_at_;
}

bool Machine::beats_us(const Advert& a) const {
    if (a.priority != config_.priority) return a.priority > config_.priority;
    return a.src > config_.primary;  // RFC 9568 6.4.3: the higher primary address wins a tie
}

bool Machine::preempt_now(Nanos now) const {
    return config_.preempt && (!lower_since_ || now >= *lower_since_ + config_.preempt_delay);
}

std::optional<Nanos> Machine::preempt_allowed_at() const {
    if (state_ != State::Backup || !config_.preempt || !lower_since_) return std::nullopt;
    return *lower_since_ + config_.preempt_delay;
}

void Machine::keep_preempt_wait(Nanos allowed_at) {
    if (state_ != State::Backup || !lower_since_) return;
    const Nanos since = allowed_at > config_.preempt_delay ? allowed_at - config_.preempt_delay : 0;
    lower_since_ = std::min(*lower_since_, since);
}

void Machine::learn_master(const Advert& a) {
    // RFC 9568: a v3 backup adopts the master's interval; v2 requires them equal (checked on receipt).
    if (config_.version == 3 && a.adver_int_cs) master_adver_int_cs_ = a.adver_int_cs;
    master_ = a;
}

Actions Machine::become_master(Nanos now, std::string_view reason) {
    const State from = state_;
    state_ = State::Master;
    ready_ = false;
    master_down_at_.reset();
    master_.reset();
    lower_since_.reset();
    answered_lower_at_.reset();
    master_adver_int_cs_ = config_.adver_int_cs;
    adver_at_ = now + Nanos{config_.adver_int_cs} * kNsPerCs;
    return {Transition{from, State::Master, reason}, TakeVips{}, SendAdvert{config_.priority}, Announce{}};
}

Actions Machine::become_backup(Nanos now, const Advert& from_master, std::string_view reason) {
    const State from = state_;
    state_ = State::Backup;
    ready_ = false;
    adver_at_.reset();
    learn_master(from_master);
    master_down_at_ = now + master_down_interval();
    Actions out{Transition{from, State::Backup, reason}};
    if (from == State::Master) out.emplace_back(ReleaseVips{});
    return out;
}

Actions Machine::startup(Nanos now) {
    if (state_ != State::Initialize) return {};
    if (config_.priority == kOwnerPriority) return become_master(now, "address owner");
    state_ = State::Backup;
    master_adver_int_cs_ = config_.adver_int_cs;
    const Nanos interval = Nanos{master_adver_int_cs_} * kNsPerCs;
    master_down_at_ = now + (config_.start_as_master ? interval + interval / 256 : master_down_interval());
    return {Transition{State::Initialize, State::Backup, "startup"}};
}

Actions Machine::resume(Nanos now, std::optional<Nanos> advert_at) {
    if (state_ != State::Initialize) return {};
    Actions out = become_master(now, "resumed after a restart");
    if (!advert_at) return out;
    adver_at_ = *advert_at;
    std::erase_if(out, [](const Action& a) { return std::holds_alternative<SendAdvert>(a) || std::holds_alternative<Announce>(a); });
    return out;
}

// Leaves BACKUP or MASTER for a state without timers; a master resigns, so that backups take
// over after Skew_Time only.
Actions Machine::stand_down(State to, std::string_view reason) {
    const State from = state_;
    state_ = to;
    ready_ = false;
    master_down_at_.reset();
    adver_at_.reset();
    master_.reset();
    lower_since_.reset();
    if (from == State::Master) return {SendAdvert{0}, ReleaseVips{}, Transition{from, to, reason}};
    return {Transition{from, to, reason}};
}

Actions Machine::shutdown(Nanos) {
    if (state_ == State::Initialize) return {};
    return stand_down(State::Initialize, "shutdown");
}

Actions Machine::fault(Nanos) {
    if (state_ == State::Fault) return {};
    return stand_down(State::Fault, "fault");
}

Actions Machine::recover(Nanos now) {
    if (state_ != State::Fault) return {};
    state_ = State::Initialize;
    Actions out = startup(now);
    // One transition, FAULT to where startup went.
    for (auto& a : out)
        if (auto* t = std::get_if<Transition>(&a)) {
            t->from = State::Fault;
            t->reason = "fault cleared";
        }
    return out;
}

Actions Machine::advert(const Advert& a, Nanos now) {
    switch (state_) {
        case State::Initialize:
        case State::Fault:
            return {};
        case State::Backup:
            if (a.priority == 0) {
                if (!ready_) master_down_at_ = now + skew_time();
                return {};
            }
            if (a.priority >= config_.priority) lower_since_.reset();
            else if (config_.preempt && !lower_since_) lower_since_ = now;
            if (!preempt_now(now) || a.priority >= config_.priority) {
                learn_master(a);
                ready_ = false;
                master_down_at_ = now + master_down_interval();
            }
            // else: discard; Master_Down_Timer runs out and we preempt
            return {};
        case State::Master:
            if (a.priority == 0) {
                adver_at_ = now + Nanos{config_.adver_int_cs} * kNsPerCs;
                return {SendAdvert{config_.priority}};
            }
            // The address owner never yields (RFC 9568: it is always Active while it runs).
            if (config_.priority != kOwnerPriority && beats_us(a))
                return become_backup(now, a, a.priority > config_.priority ? "higher priority" : "higher address");
            // A worse router thinks it is master (a partition healed, a late starter): tell it at
            // once, and re-announce, since clients may have learnt its MAC meanwhile. Once per
            // kLowerAnswerSpacing: a flood of worse adverts must not turn into a flood of ours
            // (the scheduled advert tells it again within an interval anyway).
            if (answered_lower_at_ && now < *answered_lower_at_ + kLowerAnswerSpacing) return {};
            answered_lower_at_ = now;
            adver_at_ = now + Nanos{config_.adver_int_cs} * kNsPerCs;
            return {SendAdvert{config_.priority}, Announce{.lower_heard = true}};
    }
    return {};
}

Actions Machine::tick(Nanos now) {
    if (state_ == State::Backup && master_down_at_ && now >= *master_down_at_) {
        if (hold_) {  // its group decides
            ready_ = true;
            master_down_at_.reset();
            return {};
        }
        return become_master(now, master_ ? "master down" : "no master");
    }
    if (state_ == State::Master && adver_at_ && now >= *adver_at_) {
        adver_at_ = next_advert_at(*adver_at_, config_.adver_int_cs, now);
        return {SendAdvert{config_.priority}};
    }
    return {};
}

void Machine::set_hold(bool hold) { hold_ = hold; }

Actions Machine::release(Nanos now) {
    if (state_ != State::Backup || !ready_) return {};
    return become_master(now, "sync group");
}

Actions Machine::demote(Nanos now) {
    if (state_ != State::Master) return {};
    Actions out = stand_down(State::Backup, "sync group");
    master_adver_int_cs_ = config_.adver_int_cs;
    master_down_at_ = now + master_down_interval();
    return out;
}

void Machine::hold_master_down(Nanos until) {
    if (state_ == State::Backup && master_down_at_ && until > *master_down_at_) master_down_at_ = until;
}

void Machine::reconfigure(const Config& config, Nanos now) {
    const bool interval_changed = config.adver_int_cs != config_.adver_int_cs;
    config_ = config;
    if (state_ == State::Master) {
        master_adver_int_cs_ = config_.adver_int_cs;
        if (interval_changed) adver_at_ = now + Nanos{config_.adver_int_cs} * kNsPerCs;
    } else if (state_ == State::Backup) {
        if (!master_ || config_.version == 2) master_adver_int_cs_ = config_.adver_int_cs;
        // The skew follows our priority: keep the running timer no later than the new interval allows.
        if (master_down_at_) master_down_at_ = std::min(*master_down_at_, now + master_down_interval());
    }
}

}  // namespace xvrrp::fsm
