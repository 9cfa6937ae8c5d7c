#include "xvrrp/router_driver.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "xvrrp/tracking.hpp"
#include <variant>

namespace xvrrp {

namespace {

constexpr Nanos kNsPerMs = 1'000'000;
constexpr Nanos kRetryPeriod = 1'000'000'000;

void earliest(std::optional<Nanos>& acc, std::optional<Nanos> t) {
    if (t && (!acc || *t < *acc)) acc = t;
}

Notice notice_of(fsm::State s) {
    switch (s) {
        case fsm::State::Master: return Notice::Master;
        case fsm::State::Backup: return Notice::Backup;
        case fsm::State::Fault: return Notice::Fault;
        case fsm::State::Initialize: break;
    }
    return Notice::Stop;  // only a shutdown leads back to INIT
}

}  // namespace

RouterSettings router_settings(const config::Instance& in, Family family, const IpAddress& primary) {
    return RouterSettings{
        .fsm = fsm::Config{.version = in.version,
                           .priority = in.priority,
                           .adver_int_cs = in.adver_int_cs(),
                           // keepalived: starting as MASTER, nopreempt and preempt_delay are ignored
                           .preempt = in.preempt || in.start_as_master,
                           .preempt_delay = in.start_as_master ? 0 : Nanos{in.preempt_delay_ms} * kNsPerMs,
                           .down_timer_adverts = in.down_timer_adverts,
                           .primary = primary,
                           .start_as_master = in.start_as_master},
        .announce = in.announce,
        .label = "(" + in.name + (family == Family::V6 ? "/v6" : "") + ")",
        .interface = in.interface,
        .journal = {{"XVRRP_INSTANCE", in.name},
                    {"XVRRP_VRID", std::to_string(in.vrid)},
                    {"XVRRP_FAMILY", family == Family::V6 ? "IPv6" : "IPv4"}},
        .track_primary = in.track_primary,
        .sync_member = false};
}

RouterDriver::RouterDriver(RouterSettings settings, RouterHost& host)
    : settings_(std::move(settings)), host_(host), machine_(settings_.fsm), kernel_preempt_(preempts_in_kernel()) {
    machine_.set_hold(settings_.sync_member);
}

void RouterDriver::release(Nanos now) { apply(machine_.release(now), now); }

void RouterDriver::demote(Nanos now) { apply(machine_.demote(now), now); }

fsm::Config RouterDriver::machine_config() const {
    fsm::Config c = settings_.fsm;
    c.priority = track::effective_priority(settings_.fsm.priority, tracking_.delta);
    return c;
}

std::vector<std::string> RouterDriver::fault_reasons() const {
    std::vector<std::string> out;
    if (link_down_ && settings_.track_primary) out.push_back(settings_.interface + " is down");
    if (no_source_)
        out.push_back(settings_.interface + " has no " +
                      (settings_.fsm.primary.family == Family::V4 ? "IPv4 address" : "IPv6 link-local address"));
    out.insert(out.end(), tracking_.faults.begin(), tracking_.faults.end());
    return out;
}

// Into FAULT while there is a reason, out of it (as at startup) once none is left.
void RouterDriver::update_fault(Nanos now) {
    if (!started_) return;
    const auto reasons = fault_reasons();
    if (!reasons.empty() && machine_.state() != fsm::State::Fault) apply(machine_.fault(now), now);
    else if (reasons.empty() && machine_.state() == fsm::State::Fault) apply(machine_.recover(now), now);
}

void RouterDriver::set_tracking(Tracking tracking, Nanos now) {
    if (tracking == tracking_) return;
    const std::uint8_t before = priority();
    tracking_ = std::move(tracking);
    const fsm::Config next = machine_config();
    if (next.priority != before) {
        const JournalFields fields(settings_.journal);
        if (started_)
            spdlog::info("{} effective priority {} -> {} (base {}, trackers {:+})", settings_.label, before, next.priority,
                         settings_.fsm.priority, tracking_.delta);
        else  // nothing was advertised at the base priority: no change to speak of
            spdlog::info("{} starts at effective priority {} (base {}, trackers {:+})", settings_.label, next.priority,
                         settings_.fsm.priority, tracking_.delta);
        machine_.reconfigure(next, now);
        guarded([&] { publish(); }, now);
        if (const auto st = machine_.state(); st == fsm::State::Master || st == fsm::State::Backup)
            guarded([&] { host_.notice(st == fsm::State::Master ? Notice::MasterPriority : Notice::BackupPriority, next.priority); }, now);
    }
    update_fault(now);
}

// Without preempt_delay the dataplane may preempt a worse master on its own.
bool RouterDriver::preempts_in_kernel() const { return settings_.fsm.preempt && settings_.fsm.preempt_delay == 0; }

Nanos RouterDriver::advert_silence() const {
    // down_timer_adverts x interval is the earliest a backup can take over; less a margin for the
    // coarse clock XDP reads and a late advert (half an interval, 5 ms at most).
    const Nanos interval = Nanos{settings_.fsm.adver_int_cs} * fsm::kNsPerCs;
    return Nanos{settings_.fsm.down_timer_adverts} * interval - std::min(interval / 2, Nanos{5 * kNsPerMs});
}

RouterFacts RouterDriver::facts() const {
    return RouterFacts{.state = machine_.state(), .kernel_watching = kernel_watching_, .processed = processed_,
                       .state_since = last_transition_};
}

// A host call that throws puts this router alone in its error state; the caller carries on.
template <typename Work>
void RouterDriver::guarded(Work&& work, Nanos now) {
    try {
        work();
    } catch (const std::exception& e) {
        fail(e.what(), now);
    }
}

void RouterDriver::fail(const std::string& what, Nanos now) {
    if (what != error_) {
        const JournalFields fields(settings_.journal);
        spdlog::error("{} {} (retrying every second)", settings_.label, what);
    }
    error_ = what;
    retry_at_ = now + kRetryPeriod;
    confirm_at_.reset();  // a retry whose deferred part failed has not recovered
}

void RouterDriver::publish() { host_.write_instance(machine_.state(), priority(), kernel_preempt_); }

void RouterDriver::start(bool link_up, Nanos now, bool resume_master, const Schedule* schedule) {
    link_down_ = !link_up;
    started_ = true;
    if (!fault_reasons().empty()) return update_fault(now);
    if (!resume_master) return apply(machine_.startup(now), now);
    apply(machine_.resume(now, schedule ? std::optional(schedule->advert_at) : std::nullopt), now);
    if (!schedule || machine_.state() != fsm::State::Master) return;
    announce_left_ = schedule->announce_left;
    next_announce_ = schedule->next_announce;
    second_burst_at_ = schedule->second_burst_at;
    next_refresh_ = schedule->next_refresh;
}

std::optional<RouterDriver::Schedule> RouterDriver::schedule() const {
    if (machine_.state() != fsm::State::Master || !machine_.adver_deadline()) return std::nullopt;
    return Schedule{.advert_at = *machine_.adver_deadline(), .announce_left = announce_left_,
                    .next_announce = next_announce_, .second_burst_at = second_burst_at_, .next_refresh = next_refresh_};
}

void RouterDriver::stop(Nanos now) {
    started_ = false;
    apply(machine_.shutdown(now), now);
}

void RouterDriver::set_link(bool up, Nanos now) {
    if (up != link_down_) return;  // no change
    link_down_ = !up;
    const JournalFields fields(settings_.journal);
    if (settings_.track_primary)
        spdlog::log(up ? spdlog::level::info : spdlog::level::warn, "{} {} is {}", settings_.label, settings_.interface,
                    up ? "up again" : "down");
    update_fault(now);
}

void RouterDriver::set_source(const std::optional<IpAddress>& primary, Nanos now) {
    const JournalFields fields(settings_.journal);
    if (!primary) {
        if (!no_source_) spdlog::warn("{} {} has no address to advertise from", settings_.label, settings_.interface);
        no_source_ = true;
        update_fault(now);
        return;
    }
    const bool returned = std::exchange(no_source_, false);
    if (*primary != settings_.fsm.primary) {
        spdlog::info("{} adverts leave from {} now (was {})", settings_.label, primary->to_string(),
                     settings_.fsm.primary.to_string());
        settings_.fsm.primary = *primary;
        machine_.reconfigure(machine_config(), now);  // the tie-break compares it
        guarded([&] {
            host_.set_primary(*primary);
            publish();
        }, now);
    } else if (returned) {
        spdlog::info("{} {} has its address {} again", settings_.label, settings_.interface, primary->to_string());
    }
    update_fault(now);
}

void RouterDriver::on_advert(const fsm::Advert& a, Nanos now) {
    processed_ = ProcessedAdvert{.priority = a.priority, .adver_int_cs = a.adver_int_cs, .src = a.src};
    spdlog::debug("{} advert from {} priority {} interval {} cs", settings_.label, a.src.to_string(), a.priority,
                  a.adver_int_cs);
    const auto deadline_before = machine_.master_down_deadline();
    const auto actions = machine_.advert(a, now);
    // An advert that fed Master_Down_Timer feeds the dataplane's too, which watches from now on;
    // one the state machine discarded (a worse master we preempt) leaves our own deadline.
    if (machine_.state() == fsm::State::Backup && machine_.master_down_deadline() != deadline_before)
        kernel_watching_ = watch_master_down(now);
    apply(actions, now);
}

bool RouterDriver::watch_master_down(Nanos now) {
    try {
        return host_.watch_master_down(now);
    } catch (const std::exception& e) {
        fail(e.what(), now);
        return false;  // our own deadline then, which is always safe
    }
}

// Our own Master_Down_Timer ran out. If a master was heard, the dataplane has seen every advert
// since (only changes are reported): it says whether the master really went silent.
void RouterDriver::master_down_due(Nanos now) {
    const Nanos deadline = machine_.master_down_deadline().value_or(now);
    if (machine_.state() == fsm::State::Backup && machine_.master()) {
        std::optional<Nanos> kernel_deadline;
        try {
            kernel_deadline = host_.kernel_master_down_at();
        } catch (const std::exception& e) {
            fail(e.what(), now);
        }
        if (kernel_deadline && *kernel_deadline > std::max(now, deadline)) {
            machine_.hold_master_down(*kernel_deadline);
            kernel_watching_ = watch_master_down(now);  // the entry may hold a master again
            return;
        }
    }
    apply(machine_.tick(now), now);
}

void RouterDriver::on_master_down(Nanos now) {
    kernel_watching_ = false;
    // The kernel's timer may run out a moment before ours: the state machine acts at its own deadline.
    const Nanos due = std::max(now, machine_.master_down_deadline().value_or(now));
    apply(machine_.tick(due), now);
}

// The state machine's deadline, unless the dataplane's timer watches the master for us.
std::optional<Nanos> RouterDriver::own_master_down_or_advert() const {
    if (machine_.state() == fsm::State::Backup && kernel_watching_) return std::nullopt;
    return machine_.next_deadline();
}

std::optional<Nanos> RouterDriver::next_deadline() const {
    std::optional<Nanos> next = own_master_down_or_advert();
    if (!kernel_preempt_) earliest(next, machine_.preempt_allowed_at());
    if (announce_left_) earliest(next, next_announce_);
    earliest(next, next_refresh_);
    earliest(next, second_burst_at_);
    earliest(next, retry_at_);
    earliest(next, confirm_at_);
    return next;
}

void RouterDriver::on_timer(Nanos now) {
    if (confirm_at_ && now >= *confirm_at_) {
        confirm_at_.reset();
        spdlog::info("{} recovered from: {}", settings_.label, error_);
        error_.clear();
    }
    if (retry_at_ && now >= *retry_at_) reconcile(now);
    if (const auto due = own_master_down_or_advert(); due && now >= *due) {
        if (machine_.master_down_deadline() && now >= *machine_.master_down_deadline()) master_down_due(now);
        else apply(machine_.tick(now), now);
    }
    if (const auto at = machine_.preempt_allowed_at(); !kernel_preempt_ && at && now >= *at) {
        kernel_preempt_ = true;  // from now on a worse master no longer holds the kernel timer
        guarded([&] { publish(); }, now);
    }
    if (announce_left_ && now >= next_announce_) {
        guarded([&] { host_.announce(); }, now);
        --announce_left_;
        next_announce_ = now + Nanos{settings_.announce.interval_ms} * kNsPerMs;
    }
    if (second_burst_at_ && now >= *second_burst_at_) {
        second_burst_at_.reset();
        burst(settings_.announce.repeat, now);
    }
    if (next_refresh_ && now >= *next_refresh_) {
        next_refresh_ = now + Nanos{settings_.announce.refresh_ms} * kNsPerMs;
        burst(settings_.announce.refresh_repeat, now);
    }
}

void RouterDriver::reconfigure(RouterSettings settings, Nanos now) {
    settings_ = std::move(settings);
    machine_.reconfigure(machine_config(), now);
    machine_.set_hold(settings_.sync_member);
    if (!settings_.sync_member) apply(machine_.release(now), now);  // out of a group: ready is MASTER
    kernel_preempt_ = preempts_in_kernel();
    const bool master = machine_.state() == fsm::State::Master;
    if (master)
        next_refresh_ = settings_.announce.refresh_ms ? std::optional(now + Nanos{settings_.announce.refresh_ms} * kNsPerMs)
                                                      : std::nullopt;
    guarded([&] {
        host_.set_advert_silence(master ? advert_silence() : 0);
        publish();
    }, now);
    update_fault(now);  // track_primary may have changed
}

// Puts the VIPs where the state says they belong (idempotent): the retry after an error. Part of
// it may be carried out after this returns (the host's address changes wait until every router
// has had its turn) and fail then: recovery is confirmed at the next call, if no failure came.
void RouterDriver::reconcile(Nanos now) {
    retry_at_.reset();
    try {
        if (machine_.state() == fsm::State::Master) host_.take_vips(now, advert_silence());
        else host_.release_vips();
        confirm_at_ = now;
    } catch (const std::exception& e) {
        fail(e.what(), now);
    }
}

// Each action is carried out on its own: one that fails leaves the rest to run.
void RouterDriver::apply(const fsm::Actions& actions, Nanos now) {
    for (const auto& a : actions)
        guarded([&] { std::visit([&](const auto& act_on) { act(act_on, now); }, a); }, now);
}

void RouterDriver::act(const fsm::Transition& t, Nanos now) {
    std::string why;
    if (t.to == fsm::State::Fault)
        for (const auto& r : fault_reasons()) why += (why.empty() ? "" : ", ") + r;
    else
        why = t.reason;
    std::vector<JournalField> fields = settings_.journal;
    fields.emplace_back("XVRRP_STATE", std::string(fsm::to_string(t.to)));
    fields.emplace_back("XVRRP_REASON", why);
    {
        const JournalFields scope(std::move(fields));
        if (t.to == fsm::State::Fault) spdlog::warn("{} Entering FAULT STATE ({})", settings_.label, why);
        else spdlog::info("{} Entering {} STATE ({})", settings_.label, fsm::to_string(t.to), why);
    }
    ++transitions_;
    if (t.to == fsm::State::Master) ++counters_.become_master;
    if (t.from == fsm::State::Master) ++counters_.release_master;
    last_transition_ = now;
    kernel_watching_ = false;
    kernel_preempt_ = preempts_in_kernel();
    if (t.to != fsm::State::Master) {
        announce_left_ = 0;
        next_refresh_.reset();
        second_burst_at_.reset();
    }
    publish();
    host_.notice(notice_of(t.to), priority());
}

void RouterDriver::act(const fsm::TakeVips&, Nanos now) { host_.take_vips(now, advert_silence()); }

void RouterDriver::act(const fsm::ReleaseVips&, Nanos) { host_.release_vips(); }

void RouterDriver::act(const fsm::Announce& a, Nanos now) {
    const config::Announce& cfg = settings_.announce;
    if (cfg.refresh_ms) next_refresh_ = now + Nanos{cfg.refresh_ms} * kNsPerMs;
    if (a.lower_heard) {
        burst(cfg.lower_prio_repeat.value_or(cfg.repeat), now);
        host_.notice(Notice::MasterRxLowerPri, priority());
        return;
    }
    if (cfg.second_burst_ms) second_burst_at_ = now + Nanos{cfg.delay_ms + cfg.second_burst_ms} * kNsPerMs;
    announce_left_ = cfg.repeat;
    next_announce_ = now + Nanos{cfg.delay_ms} * kNsPerMs;
    // Without a delay the first goes at once, with the advert: before the notify scripts hear.
    if (cfg.delay_ms == 0) burst(cfg.repeat, now);
}

// `count` announcements from now, interval_ms apart (replacing a burst under way).
void RouterDriver::burst(std::uint32_t count, Nanos now) {
    announce_left_ = count;
    if (!count) return;
    guarded([&] { host_.announce(); }, now);
    --announce_left_;
    next_announce_ = now + Nanos{settings_.announce.interval_ms} * kNsPerMs;
}

void RouterDriver::advertise_now(Nanos now) {
    if (machine_.state() == fsm::State::Master) act(fsm::SendAdvert{priority()}, now);
}

void RouterDriver::reannounce(Nanos now) {
    if (machine_.state() == fsm::State::Master) burst(settings_.announce.repeat, now);
}

void RouterDriver::act(const fsm::SendAdvert& s, Nanos) {
    host_.send_advert(s.priority);  // counted once queued: a refusal by the kernel is a tx error
    ++counters_.adverts_sent;
    if (s.priority == 0) ++counters_.priority_zero_sent;
}

}  // namespace xvrrp
