#include "xvrrp/daemon.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string_view>
#include <set>
#include <thread>
#include <unordered_map>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "xvrrp/control.hpp"
#include "xvrrp/daemon_lock.hpp"
#include "xvrrp/dataplane.hpp"
#include "xvrrp/error.hpp"
#include "xvrrp/event_loop.hpp"
#include "xvrrp/event_ring.hpp"
#include "xvrrp/keepalived_status.hpp"
#include "xvrrp/kernel_clock.hpp"
#include "xvrrp/metrics.hpp"
#include "xvrrp/upgrade.hpp"
#include "xvrrp/link_multicast.hpp"
#include "xvrrp/netlink.hpp"
#include "xvrrp/resync.hpp"
#include "xvrrp/router_driver.hpp"
#include "xvrrp/router_host.hpp"
#include "xvrrp/sd_notify.hpp"
#include "xvrrp/sender.hpp"
#include "xvrrp/timer_queue.hpp"
#include "xvrrp/notify.hpp"
#include "xvrrp/script_security.hpp"
#include "xvrrp/tracker_set.hpp"
#include "xvrrp/tracking.hpp"
#include "xvrrp/process_runner.hpp"
#include "xvrrp/vrrp_fsm.hpp"

namespace xvrrp {

namespace {

using fsm::Nanos;
using json = nlohmann::json;


const char* family_name(Family f) { return f == Family::V4 ? "IPv4" : "IPv6"; }

// One VRRP router: one configured instance on one address family. The driver decides, the host
// carries it out (router_driver.hpp, router_host.hpp).
struct Router {
    KernelRouterHost host;
    RouterDriver driver;

    Router(HostPorts ports, RouterIdentity identity, RouterSettings settings)
        : host(ports, std::move(identity)), driver(std::move(settings), host) {}
    Router(const Router&) = delete;
    Router& operator=(const Router&) = delete;

    [[nodiscard]] const config::Instance& cfg() const { return host.cfg(); }
    [[nodiscard]] const RouterIdentity& identity() const { return host.identity(); }
    [[nodiscard]] std::uint32_t id() const { return host.identity().id; }
    [[nodiscard]] unsigned ifindex() const { return host.identity().ifindex; }
    [[nodiscard]] const std::string& label() const { return host.identity().label; }
};

// The dataplane's instance key as one number, for the event lookup.
std::uint64_t packed(const xvrrp_inst_key& k) {
    return std::uint64_t{k.ifindex} << 32 | std::uint64_t{k.vlan} << 16 | std::uint64_t{k.vrid} << 8 | k.family;
}

// The dataplane's key of an instance's router of family f on the interface ifindex.
xvrrp_inst_key instance_key(unsigned ifindex, const config::Instance& in, Family f) {
    return xvrrp_inst_key{.ifindex = ifindex, .vlan = 0, .vrid = in.vrid, .family = static_cast<std::uint8_t>(f)};
}

// Blocks the signals the loop takes through a signalfd.
UniqueFd signal_fd() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR2}) sigaddset(&set, s);
    check_sys(::sigprocmask(SIG_BLOCK, &set, nullptr), "sigprocmask");
    return UniqueFd(check_sys(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC), "signalfd"));
}


}  // namespace

struct Daemon::Impl {
    DaemonOptions options;
    config::Config cfg;
    // First: a second daemon stops here, before touching anything. Taken later by a daemon an
    // upgrade started, once the one it replaces has let go (take_over()).
    std::optional<DaemonLock> lock;
    EventLoop loop;
    Dataplane dp;
    // The kernel's tick for XDP's fail-safe clock, measured beside the loop (about 24 ticks):
    // XDP calls the clock helper until it is in (kClockTimer).
    std::optional<TickMeasurement> tick_measurement{std::in_place};
    Rtnl rtnl;
    int exit_status = 0;  // 1 when the shutdown could not do all it should
    SdNotify sd;                // systemd (Type=notify): READY, RELOADING, STOPPING, STATUS, WATCHDOG
    std::string sd_status;      // the STATUS= line last sent
    // Set for the length of one pass over many instances (AddressTablePass): the host's addresses
    // by interface, and interface indexes by name as they are looked up.
    mutable std::optional<std::map<unsigned, std::vector<InterfaceAddress>>> address_table;
    mutable std::map<std::string, std::optional<unsigned>> ifindex_memo;
    FrameSender frames;
    UnicastSender unicast;
    MasterDownSweep sweep{[this](std::uint32_t slot) { return dp.peer_at(slot); }};
    ProcessRunner runner{loop};
    TrackerSet trackers{TrackerSet::Ports{.loop = loop,
                                          .runner = runner,
                                          .link_up = [this](const std::string& ifname) {
                                              const auto i = rtnl.ifindex(ifname);
                                              return i && rtnl.link_up(*i);
                                          }},
                        [this](const std::string& name, Nanos now) { tracker_changed(name, now); }};
    AddressQueue addresses;
    NoticeQueue notices;  // posted to the notifier at the end of each wake-up
    Notifier notifier{Notifier::Ports{.loop = loop, .runner = runner}};
    NetlinkWatch netlink_watch;
    TimerFd timer;
    UniqueFd signals;
    std::unique_ptr<ControlServer> control;
    std::unique_ptr<metrics::Server> metrics_server;
    std::optional<Successor> upgrading;  // O: the daemon an upgrade started, until it takes over
    std::string last_upgrade_error;
    std::uint64_t upgrade_failures = 0;
    static constexpr Nanos kUpgradePrepareLimit = 10'000'000'000;  // N loads its programs meanwhile
    // O is frozen meanwhile (it handles nothing; its masters only advertise, see await_commit):
    // N resumes and commits within it, or O takes everything back.
    static constexpr std::chrono::milliseconds kUpgradeCommitLimit{1000};
    std::uint64_t reloads_ok = 0, reloads_failed = 0;
    // What routers counted in earlier lives (a reload that restarted one, a deleted interface),
    // by instance and family: counters go on from there and never go back.
    struct EarlierLives {
        RouterCounters sent;
        xvrrp_inst_stats received{};
    };
    std::map<std::pair<std::string, Family>, EarlierLives> earlier_lives;
    std::unique_ptr<EventRing> ring;
    std::map<std::string, XdpAttachment> attachments;   // by interface name
    std::map<std::string, std::pair<TcAttachment, TcAttachment>> tc_attachments;  // ingress, egress
    // By interface name: exactly the interfaces in `attachments` (added and erased with them).
    std::map<std::string, LinkMulticastMacs> multicast_macs;
    // Routers by id (creation order, as the status lists them), and their ids by instance key.
    std::map<std::uint32_t, std::unique_ptr<Router>> routers;
    std::unordered_map<std::uint64_t, std::uint32_t> router_by_key;
    // Keys below kFirstRouterTimer are the daemon's own timers; a router's key is its id.
    enum : TimerQueue::Key {
        kHeartbeatTimer = 1, kResyncTimer, kPendingTimer, kSweepTimer, kControlTimer, kTrackerTimer, kProcessTimer,
        kStopTimer, kMetricsTimer, kUpgradeTimer, kClockTimer, kAddressTimer,
        kFirstRouterTimer = 16
    };
    std::uint32_t next_router_id = kFirstRouterTimer;
    TimerQueue timers;
    // Routers something happened to since the timer was last armed: their deadlines are renewed.
    std::vector<std::uint32_t> touched;
    std::set<std::string> maintenance;  // instances an operator took out of service (xvrrpctl)
    // Sync groups: each member instance's group (an index into cfg.sync_groups), each router's
    // state as the last group pass saw it, and each group's state as last notified.
    std::unordered_map<std::string, std::size_t> group_index;
    std::unordered_map<std::uint32_t, fsm::State> group_seen;
    std::map<std::string, Notice> group_state;
    std::string running_config;  // the text of the configuration applied last (handed over on upgrade)
    bool adopting = false;  // at start: resuming what a daemon that died moments ago left
    std::map<std::string, bool> group_resume_memo;  // while adopting: each sync group resumes whole or not
    std::map<std::pair<std::string, Family>, const HandoverRouter*> handover_routers;  // while an upgrade's routers start
    bool stopping = false;  // shut down, waiting for the STOP notify scripts (bounded by kStopTimer)
    // Instances configured but not running (their interface is gone or not ready): retried.
    bool instances_pending = false;
    // Lost events: a full resync from the peer entries when the ring's drop counter moves
    // (checked with every heartbeat) and every kResyncPeriod whatever happens.
    std::uint64_t events_dropped_seen = 0;
    LogLimit resync_log{10, kResyncPeriod};  // a lost burst can touch every router
    static constexpr Nanos kResyncPeriod = 5'000'000'000;
    static constexpr Nanos kPendingRetry = 1'000'000'000;
    static constexpr Nanos kClockPoll = 25'000'000;  // a tick measurement takes 24-240 ms
    static constexpr std::size_t kEventsPerWakeup = 64;  // timers and adverts keep their schedule
    static constexpr std::size_t kAddressSlice = 64;  // netlink changes at a time: about 2 ms here

    Impl(DaemonOptions o, config::Config c)
        : options(std::move(o)), cfg(std::move(c)),
          lock(options.upgrade_fd < 0 ? std::make_optional<DaemonLock>(cfg.global.pin_root, cfg.global.control_socket)
                                      : std::nullopt),
          dp(DataplaneOptions{.pin_root = cfg.global.pin_root, .refuse_other_layouts = options.upgrade_fd >= 0}),
          signals(signal_fd()) {
        // A daemon that died moments ago (its heartbeat still fresh) left the dataplane serving:
        // if it ran the same instances, its routers are resumed (crash adopt), so a quick restart
        // never moves a VIP. Anything else an earlier daemon left describes a world that is gone.
        running_config = options.config_text;
        std::optional<UpgradeChannel> predecessor;
        std::optional<Handover> handover;
        if (options.upgrade_fd >= 0) {
            predecessor.emplace(UniqueFd(options.upgrade_fd));
            // Before the old daemon freezes: its adverts go on while ours are being set up. Our
            // programs take its XDP links and TC filters over (the same pinned maps behind them).
            attach_interfaces(cfg, false);
            handover = take_over(*predecessor);
        }
        // An upgrade resumes what O runs, then applies the file on disk as a reload would: an
        // instance added or changed there meanwhile does not make every other one start afresh.
        std::optional<config::Config> on_disk;
        if (handover) on_disk = resume_config(handover->config);
        else check_runtime(cfg);  // what this host cannot run fails the start before anything moved
        // Handed over, the dataplane is live whatever the heartbeat timeout (0 included).
        adopting = handover ? runs_configured_instances() : adoptable(monotonic_ns());
        if (handover) {  // trackers as the old daemon found them, before any router asks them
            refuse_insecure_scripts(cfg);
            trackers.configure(cfg.trackers, monotonic_ns());
            trackers.restore(handover->trackers);
        }
        if (handover && adopting) spdlog::info("upgrade: resuming the {} routers handed over", handover->routers.size());
        if (handover && !adopting)
            spdlog::warn("upgrade: the instances differ from those of the daemon replaced: they start afresh (VIPs may move)");
        if (!adopting) dp.clear();
        if (handover)
            for (const auto& x : handover->routers) handover_routers[{x.name, x.family}] = &x;
        heartbeat(monotonic_ns());
        if (cfg.global.notify_fifo) check_fifo_path(*cfg.global.notify_fifo);
        notifier.configure(cfg.global.notify_fifo, cfg.global.notify_fifo_script,
                           std::chrono::milliseconds{cfg.global.notify_timeout_ms}, monotonic_ns(), cfg.global.script_user);
        apply_config(cfg, monotonic_ns());
        adopting = false;
        group_resume_memo.clear();
        if (handover) {
            carry_over(monotonic_ns());
            notifier.run_waiting(handover->notify_waiting, monotonic_ns());
        }
        handover_routers.clear();
        if (on_disk) {
            spdlog::info("upgrade: applying the configuration on disk, which differs from the one handed over");
            apply_config(*on_disk, monotonic_ns());
            running_config = options.config_text;
        }
        ring = std::make_unique<EventRing>(dp.events_fd(), [this](const xvrrp_event& e) { on_event(e); });
        loop.add(ring->fd(), guarded("ring buffer", [this] { ring->consume(kEventsPerWakeup); }));
        timers.set(kResyncTimer, monotonic_ns() + kResyncPeriod);
        timers.set(kClockTimer, monotonic_ns() + kClockPoll);
        loop.add(timer.fd(), guarded("timer", [this] {
            timer.ack();
            on_timer(monotonic_ns());
        }));
        loop.add(signals.get(), guarded("signal", [this] { on_signal(); }));
        loop.add(netlink_watch.fd(), guarded("netlink", [this] { on_netlink(); }));
        control = std::make_unique<ControlServer>(loop, cfg.global.control_socket, cfg.global.control_group,
                                                  [this](const json& request) { return command(request); });
        if (cfg.global.metrics) {
            metrics_server = std::make_unique<metrics::Server>(*cfg.global.metrics, dp.counter_reader());
            publish_metrics(monotonic_ns());
        }
        loop.set_after_each([this] { after_each_handler(); });
        after_work();
        // Every interface attached and every router running (a start that failed has thrown).
        sd.send("READY=1\nMAINPID=" + std::to_string(::getpid()) + "\nSTATUS=" + state_summary());
        sd_status = state_summary();
        if (predecessor) {
            // For the lab: the worst moment to die or hang, everything resumed and nothing committed.
            if (const char* at = std::getenv("XVRRP_FAILPOINT")) {
                if (std::string_view(at) == "upgrade-commit") ::raise(SIGKILL);
                if (std::string_view(at) == "upgrade-hang") std::this_thread::sleep_for(std::chrono::seconds(3));
            }
            try {
                predecessor->send({{"committed", true}});
            } catch (const std::exception& e) {
                // The old daemon died after handing over (killed, crashed): this one runs all the
                // same, as it would have after the commit.
                spdlog::warn("upgrade: the old daemon is gone ({}); carrying on", e.what());
            }
            // How long the handover took (O's masters advertised meanwhile, nothing else ran).
            if (handover->frozen_at_ns)
                spdlog::info("upgrade: took over (pid {}), {:.1f} ms after the old daemon froze", ::getpid(),
                             static_cast<double>(monotonic_ns() - handover->frozen_at_ns) / 1e6);
            else
                spdlog::info("upgrade: took over (pid {})", ::getpid());
        }
    }

    // ---- upgrade (upgrade.hpp) ----

    // N: the daemon being replaced is told we are ready to take over; it answers with its state
    // once it has let go of the lock, the control socket and the metrics port.
    Handover take_over(UpgradeChannel& predecessor) {
        predecessor.send({{"prepared", true}, {"config_digest", config_digest(options.config_text)}});
        const auto state = predecessor.receive(std::chrono::seconds(5));
        if (!state) throw std::runtime_error("upgrade: the running daemon sent no state");
        Handover h = handover_from_json(*state);
        if (h.config.empty())
            spdlog::debug("upgrade: the state of {} routers received; the old daemon runs the file this one read", h.routers.size());
        else
            spdlog::debug("upgrade: the state of {} routers received, with the configuration the old daemon runs ({} bytes)",
                          h.routers.size(), h.config.size());
        for (int attempt = 0;; ++attempt) {  // it lets go of the lock just before it sends the state
            try {
                lock.emplace(cfg.global.pin_root, cfg.global.control_socket);
                break;
            } catch (const std::runtime_error&) {
                if (attempt == 1000) throw;
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
        }
        for (const auto& m : h.maintenance) maintenance.insert(m);
        for (const auto& e : h.earlier) earlier_lives[{e.name, e.family}] = EarlierLives{.sent = e.sent, .received = e.received};
        reloads_ok = h.reloads_ok;
        reloads_failed = h.reloads_failed;
        for (const auto& [name, notice] : h.groups)  // a group resumed as it was says nothing
            if (notice >= 0 && is_state(static_cast<Notice>(notice))) group_state[name] = static_cast<Notice>(notice);
        return h;
    }

    // N: runs what O ran (its configuration with our "global", which an upgrade may change) and
    // returns the configuration on disk when it differs, to be applied once that runs. Checked
    // first, so that a file this host cannot run fails the upgrade before anything moved.
    std::optional<config::Config> resume_config(const std::string& running) {
        if (running.empty() || running == options.config_text) return std::nullopt;  // the same file, or not said
        config::Config was;
        try {
            was = config::parse(running);
        } catch (const config::ConfigError& e) {
            spdlog::warn("upgrade: the configuration handed over does not parse here ({}): starting from the one on disk",
                         e.what());
            return std::nullopt;
        }
        was.global = cfg.global;
        if (was == cfg) return std::nullopt;
        check_runtime(cfg);
        check_runtime(was);
        refuse_insecure_scripts(cfg);
        std::optional<config::Config> disk = std::move(cfg);
        cfg = std::move(was);
        running_config = running;
        return disk;
    }

    // N, once its routers run: the history O kept, and none of the notices our start queued for
    // routers that resumed as they were (an upgrade runs no notify script, writes no FIFO line).
    void carry_over(Nanos now) {
        std::set<std::string> unchanged;  // routers resumed as they were: their start notices go
        for (auto& [id, r] : routers) {
            const HandoverRouter* was = handed_over(*r);
            if (!was) continue;
            const HandoverRouter& x = *was;
            RouterDriver& d = r->driver;
            if (x.state == d.state()) {  // resumed as it was: the start leaves no trace
                d.carry_over(x.transitions, now > x.since_transition_ns ? now - x.since_transition_ns : 0, x.sent);
                unchanged.insert(r->identity().notify_name);
            } else {  // it did change (a better master was heard): counted on top of the old history
                d.carry_over(x.transitions + d.transitions(), d.last_transition(), x.sent + d.counters());
            }
        }
        std::erase_if(notices, [&](const PendingNotice& n) { return !n.source.group && unchanged.count(n.source.name); });
    }

    // O: xvrrpctl upgrade or SIGUSR2. The new daemon prepares while this one runs on.
    json start_upgrade(Nanos now) {
        if (stopping) throw std::runtime_error("upgrade: shutting down");
        if (upgrading) throw std::runtime_error("upgrade: already under way (pid " + std::to_string(upgrading->pid) + ")");
        Successor next = start_successor(options.argv);
        const pid_t pid = next.pid;
        loop.add(next.channel.fd(), guarded("upgrade", [this] { on_successor_message(); }));
        loop.add(next.pidfd.get(), guarded("upgrade", [this] { upgrade_failed("the new daemon exited before taking over"); }));
        upgrading.emplace(std::move(next));
        timers.set(kUpgradeTimer, now + kUpgradePrepareLimit);
        spdlog::info("upgrade: started {} as pid {}", options.argv.front(), pid);
        return {{"upgrade", "started"}, {"pid", pid}};
    }

    void on_successor_message() {
        const auto message = upgrading->channel.receive(std::chrono::milliseconds(0));
        if (!message) return upgrade_failed("the new daemon closed the channel");
        // Compared before the freeze: hashing a large configuration takes a while.
        if (message->value("prepared", false))
            hand_over(message->value("config_digest", std::string()) == config_digest(running_config));
    }

    // O: the masters advertise now (N has a whole interval), the heartbeat is fresh, and what
    // N needs to bind is let go; then the state, and nothing more from this process until N
    // commits (this process exits) or fails (it carries on).
    void hand_over(bool successor_runs_our_config) {
        const Nanos now = monotonic_ns();
        for (auto& [id, r] : routers) r->driver.advertise_now(now);
        flush_frames();
        heartbeat(now);
        Handover h;
        for (const auto& [id, r] : routers)
            h.routers.push_back(HandoverRouter{.name = r->cfg().name,
                                               .family = r->identity().family,
                                               .state = r->driver.state(),
                                               .transitions = r->driver.transitions(),
                                               .since_transition_ns = now - r->driver.last_transition(),
                                               .sent = r->driver.counters(),
                                               .schedule = r->driver.schedule(),
                                               .preempt_at = r->driver.preempt_allowed_at()});
        for (const auto& [key, lives] : earlier_lives)
            h.earlier.push_back(HandoverEarlier{.name = key.first, .family = key.second, .sent = lives.sent, .received = lives.received});
        h.trackers = trackers.views();
        h.reloads_ok = reloads_ok;
        h.reloads_failed = reloads_failed;
        h.maintenance.assign(maintenance.begin(), maintenance.end());
        for (const auto& [name, notice] : group_state) h.groups.emplace(name, static_cast<int>(notice));
        if (!successor_runs_our_config) h.config = running_config;  // else N takes an empty one as its own
        h.notify_waiting = notifier.waiting();
        h.frozen_at_ns = monotonic_ns();
        notifier.stop_fifo_reader(now);  // N starts its own: one reader, whatever happens
        metrics_server.reset();
        control.reset();
        lock.reset();
        try {
            upgrading->channel.send(to_json(h));
        } catch (const std::exception& e) {
            return upgrade_failed(e.what());
        }
        // For the lab: the old daemon killed once the new one has its state.
        if (const char* at = std::getenv("XVRRP_FAILPOINT"); at && std::string_view(at) == "upgrade-handed-over") ::raise(SIGKILL);
        const auto answer = await_commit();
        if (answer && answer->value("committed", false)) {
            spdlog::info("upgrade: pid {} took over; pid {} exits without resigning", upgrading->pid, ::getpid());
            spdlog::default_logger()->flush();
            ::_exit(0);  // no destructor: they would remove what N now runs
        }
        upgrade_failed(!answer           ? "the new daemon did not take over within 1 s"
                       : answer->is_null() ? "the new daemon exited or closed the channel before taking over"
                                           : "the new daemon answered " + answer->dump());
    }

    // O, frozen until N commits: no event, timer or command is handled here (N runs the routers
    // from the state it was sent), but the masters' adverts go on at the schedule N resumes on, so
    // neither a slow resume (thousands of routers) nor a hung N lets the backups take over; the
    // worst overlap is an advert sent by both. N's answer; null when N closed the channel or sent
    // no JSON, none when the limit passed.
    std::optional<json> await_commit() {
        const Nanos until = monotonic_ns() + static_cast<Nanos>(std::chrono::nanoseconds(kUpgradeCommitLimit).count());
        std::vector<std::pair<Nanos, Router*>> adverts;  // each master's next advert
        for (auto& [id, r] : routers)
            if (const auto s = r->driver.schedule()) adverts.emplace_back(s->advert_at, r.get());
        for (;;) {
            Nanos now = monotonic_ns();
            Nanos wake = until;
            for (const auto& [at, r] : adverts) wake = std::min(wake, at);
            if (upgrading->channel.wait(std::chrono::nanoseconds(wake > now ? wake - now : 0))) {
                auto answer = upgrading->channel.receive(std::chrono::milliseconds(0));
                return answer ? std::move(answer) : std::optional<json>(json(nullptr));
            }
            now = monotonic_ns();
            if (now >= until) return std::nullopt;
            // Whatever a send does, the wait goes on: leaving it here would leave this process
            // running without its lock and control socket beside the new one.
            try {
                bool sent = false;
                for (auto& [at, r] : adverts) {
                    if (at > now) continue;
                    at = fsm::next_advert_at(at, r->driver.settings().fsm.adver_int_cs, now);
                    r->driver.advertise_now(now);
                    sent = true;
                }
                if (sent) flush_frames();
            } catch (const std::exception& e) {
                spdlog::warn("upgrade: an advert while frozen: {}", e.what());
            }
        }
    }

    // O carries on as before: the new daemon is stopped, what was let go is taken back, and the
    // dataplane entries are rewritten (N may have written its own).
    void upgrade_failed(const std::string& why) {
        if (!upgrading) return;
        const pid_t pid = upgrading->pid;
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        loop.remove(upgrading->channel.fd());
        loop.remove(upgrading->pidfd.get());
        upgrading.reset();
        timers.cancel(kUpgradeTimer);
        last_upgrade_error = why;
        ++upgrade_failures;
        spdlog::error("upgrade failed: {}; pid {} carries on", why, ::getpid());
        const Nanos now = monotonic_ns();
        heartbeat(now);
        // Each taken back on its own: one that fails is logged, the rest and the routers go on.
        auto take_back = [](const char* what, const auto& work) {
            try {
                work();
            } catch (const std::exception& e) {
                spdlog::error("upgrade failed: taking back the {}: {}", what, e.what());
            }
        };
        take_back("lock", [&] {
            if (!lock) lock.emplace(cfg.global.pin_root, cfg.global.control_socket);
        });
        take_back("control socket", [&] {
            if (!control)
                control = std::make_unique<ControlServer>(loop, cfg.global.control_socket, cfg.global.control_group,
                                                          [this](const json& request) { return command(request); });
        });
        take_back("metrics port", [&] {
            if (cfg.global.metrics && !metrics_server) {
                metrics_server = std::make_unique<metrics::Server>(*cfg.global.metrics, dp.counter_reader());
                publish_metrics(now);
            }
        });
        take_back("notify fifo script", [&] { notifier.start_fifo_reader(now); });
        for (auto& [id, r] : routers) {
            take_back("dataplane entry", [&] { r->driver.publish(); });
            touched.push_back(id);
        }
        // The new daemon's programs may have taken the XDP links and TC filters: ours again.
        for (auto& [name, a] : attachments)
            take_back(name.c_str(), [&] {
                a = XdpAttachment::attach_pinned(dp.prog_fd(), a.ifindex(), cfg.interface_options(name).xdp_mode,
                                                 cfg.global.pin_root + "/link_" + name);
                tc_attachments.erase(name);  // first: a TcAttachment destroyed detaches the filter of its handle
                tc_attachments[name] = {TcAttachment::attach(dp.tc_prog_fd(), a.ifindex(), TcAttachment::Hook::Ingress),
                                        TcAttachment::attach(dp.tc_egress_prog_fd(), a.ifindex(), TcAttachment::Hook::Egress)};
            });
    }

    void send_state_summary() {
        if (!sd.enabled()) return;
        if (std::string now_status = state_summary(); now_status != sd_status) {
            sd.send("STATUS=" + now_status);
            sd_status = std::move(now_status);
        }
    }

    // "2 MASTER, 1 BACKUP, 0 FAULT": systemctl status shows it.
    std::string state_summary() const {
        int master = 0, backup = 0, fault = 0;
        for (const auto& [id, r] : routers) {
            master += r->driver.state() == fsm::State::Master;
            backup += r->driver.state() == fsm::State::Backup;
            fault += r->driver.state() == fsm::State::Fault;
        }
        return std::to_string(master) + " MASTER, " + std::to_string(backup) + " BACKUP, " + std::to_string(fault) + " FAULT";
    }

    // Runtime errors never end the daemon: a handler that throws is logged, and the loop's
    // bookkeeping (frames, timer) runs all the same; if even that fails, the timer retries soon.
    EventLoop::Handler guarded(const char* what, std::function<void()> work) {
        return [what, work = std::move(work)] {
            try {
                work();
            } catch (const std::exception& e) {
                spdlog::error("{}: {} (carrying on)", what, e.what());
            }
        };
    }

    // After every handler of the loop, the daemon's own and the trackers' and processes'.
    void after_each_handler() {
        try {
            // A deadline that came while this handler ran is met now, not after the rest of the
            // wake-up's events: a burst of check completions must not make a master's advert late.
            if (const auto next = timers.next(); next && *next <= monotonic_ns()) on_timer(monotonic_ns());
            after_work();
        } catch (const std::exception& e) {
            spdlog::error("after a wake-up: {} (retrying in 100 ms)", e.what());
            timer.arm_at(monotonic_ns() + 100'000'000);  // and every router is looked at again
            for (const auto& [id, r] : routers) touched.push_back(id);
        }
    }

    // ---- configuration ----

    // Strict (start-up, reload): a missing interface is an error. Tolerant (an interface came
    // back at run time): what cannot be attached yet waits, and is retried.
    void attach_interfaces(const config::Config& c, bool tolerant) {
        for (const auto& in : c.instances) {
            if (attachments.count(in.interface)) continue;
            if (tolerant && !rtnl.ifindex(in.interface)) continue;
            const unsigned ifindex = require_ifindex(in);
            const auto opts = c.interface_options(in.interface);
            attachments[in.interface] = XdpAttachment::attach_pinned(dp.prog_fd(), ifindex, opts.xdp_mode,
                                                                     c.global.pin_root + "/link_" + in.interface);
            tc_attachments[in.interface] = {TcAttachment::attach(dp.tc_prog_fd(), ifindex, TcAttachment::Hook::Ingress),
                                            TcAttachment::attach(dp.tc_egress_prog_fd(), ifindex, TcAttachment::Hook::Egress)};
            multicast_macs.try_emplace(in.interface, in.interface);
            announce_from_primary(in.interface);
            spdlog::info("XDP attached to {} ({} mode)", in.interface, to_string(attachments[in.interface].mode()));
        }
    }

    // The kernel's own ARP requests must not announce a VIP from the interface's MAC (a client would
    // learn it over the virtual MAC): arp_announce=2 makes them use the interface's primary address.
    static void announce_from_primary(const std::string& ifname) {
        const std::string path = "/proc/sys/net/ipv4/conf/" + ifname + "/arp_announce";
        std::ofstream f(path);
        f << "2\n";
        if (!f) spdlog::warn("could not set {} to 2: the kernel may announce VIPs from the interface MAC", path);
    }

    void detach_unused(const config::Config& c) {
        for (auto it = attachments.begin(); it != attachments.end();) {
            const bool used = std::any_of(c.instances.begin(), c.instances.end(),
                                          [&](const config::Instance& in) { return in.interface == it->first; });
            if (used) {
                ++it;
                continue;
            }
            it->second.detach();
            tc_attachments.erase(it->first);
            multicast_macs.erase(it->first);
            spdlog::info("XDP detached from {}", it->first);
            it = attachments.erase(it);
        }
    }

    // Each attached link's multicast list: the IPv6 VIPs XDP answers for there (those without a
    // dev) and the other advert groups its instances use.
    void multicast_lists(const config::Config& c) {
        std::map<std::string, std::vector<IpAddress>> vips, groups;
        for (const auto& in : c.instances) {
            for (const auto& v : in.vips)
                if (v.dev.empty()) vips[in.interface].push_back(v.address);
            groups[in.interface].insert(groups[in.interface].end(), in.multicast_groups.begin(), in.multicast_groups.end());
        }
        for (auto& [name, list] : multicast_macs) list.set_needs(vips[name], groups[name]);
    }

    unsigned require_ifindex(const config::Instance& in) const {
        std::optional<unsigned> ifindex;
        if (!address_table) {
            ifindex = rtnl.ifindex(in.interface);
        } else {
            auto [it, fresh] = ifindex_memo.try_emplace(in.interface);
            if (fresh) it->second = rtnl.ifindex(in.interface);
            ifindex = it->second;
        }
        if (!ifindex) throw std::runtime_error("interface " + in.interface + " (instance " + in.name + ") does not exist");
        return *ifindex;
    }

    // The address adverts of family f go out from (never one of the instance's own VIPs), from the
    // pass's address table when one is open (AddressTablePass), else from a fresh dump.
    IpAddress require_primary(unsigned ifindex, const config::Instance& in, Family f) const {
        std::optional<IpAddress> primary;
        if (!address_table) {
            primary = primary_address(rtnl.address_table(), ifindex, f, vip_addresses(in));
        } else if (const auto it = address_table->find(ifindex); it != address_table->end()) {
            primary = primary_address(it->second, ifindex, f, vip_addresses(in));
        }
        if (!primary)
            throw std::runtime_error("interface " + in.interface + " has no " +
                                     (f == Family::V4 ? "IPv4 address" : "IPv6 link-local address") +
                                     " to send adverts from (instance " + in.name + ")");
        return *primary;
    }

    static std::vector<IpAddress> vip_addresses(const config::Instance& in) {
        std::vector<IpAddress> out;
        for (const auto& v : in.vips) out.push_back(v.address);
        return out;
    }

    // unicast_source, where it is of the family: adverts leave from it, whatever the interface has.
    static std::optional<IpAddress> configured_source(const config::Instance& in, Family f) {
        return in.unicast_source && in.unicast_source->family == f ? in.unicast_source : std::nullopt;
    }

    HostPorts ports() { return HostPorts{.dp = dp, .rtnl = rtnl, .frames = frames, .unicast = unicast, .sweep = sweep,
                         .addresses = addresses, .notices = notices}; }

    std::unique_ptr<Router> make_router(const config::Instance& in, Family f) {
        if (in.start_as_master && (!in.preempt || in.preempt_delay_ms))
            spdlog::warn("({}) start_as master: preempt is always on and preempt_delay_ms is ignored, as keepalived's "
                         "nopreempt and preempt_delay with state MASTER", in.name);
        const unsigned ifindex = attachments.at(in.interface).ifindex();
        // The tie-break compares the address adverts really leave from (RFC 9568 6.4.3).
        const auto source = configured_source(in, f);
        const IpAddress primary = source ? *source : require_primary(ifindex, in, f);
        RouterSettings settings = settings_of(in, f, primary);
        RouterIdentity identity{.cfg = in,
                                .family = f,
                                .ifindex = ifindex,
                                .primary = primary,
                                .mac = in.mac == config::MacMode::Virtual ? virtual_mac(in.vrid, f) : rtnl.mac(ifindex),
                                .id = next_router_id++,
                                .label = settings.label,
                                .pass_adverts = cfg.interface_options(in.interface).pass_adverts,
                                .notify_name = notify_name(in, f),
                                .journal = settings.journal};
        return std::make_unique<Router>(ports(), std::move(identity), std::move(settings));
    }

    RouterSettings settings_of(const config::Instance& in, Family f, const IpAddress& primary) const {
        RouterSettings s = router_settings(in, f, primary);
        s.sync_member = group_index.count(in.name) != 0;
        return s;
    }

    // keepalived's instances are of one family; ours may be of two, and then the IPv6 router's
    // notifications say "name/v6".
    static std::string notify_name(const config::Instance& in, Family f) {
        return f == Family::V6 && in.has_family(Family::V4) ? in.name + "/v6" : in.name;
    }

    // Adds a made router to the tables and starts it; if that throws, it is not running.
    void start_router(std::unique_ptr<Router> rp, Nanos now) {
        Router& r = *rp;
        const bool link_up = rtnl.link_up(r.ifindex());
        // Read before publish() rewrites the dataplane's state. A sync group member resumes only
        // with its whole group: a group half MASTER would be split across the routers.
        const config::SyncGroup* g = group_of(r.cfg().name);
        const bool resume = adopting && (g ? group_resumes(*g, now) : resumes_as_master(r, now));
        try {
            r.driver.publish();
            r.host.install(resume);
        } catch (...) {
            try {
                r.host.forget();
            } catch (const std::exception&) {
            }  // what is left is overwritten by the next router with this key
            throw;
        }
        router_by_key[packed(r.host.key())] = r.id();
        routers.emplace(r.id(), std::move(rp));
        r.driver.set_tracking(tracking_for(r.cfg()), now);
        // What the daemon an upgrade replaced had of this router: a MASTER's schedule if it resumes,
        // a BACKUP's preempt_delay wait whatever it resumes as.
        const HandoverRouter* was = adopting ? handed_over(r) : nullptr;
        const bool on_schedule = resume && was && was->state == fsm::State::Master && was->schedule;
        r.driver.start(link_up, now, resume, on_schedule ? &*was->schedule : nullptr);
        if (adopting) hear_left_master(r, now);
        if (resume && address_table)  // the VIPs it held are there still: no netlink call each
            addresses.drop_present_adds(r.id(), [&](unsigned ifindex, const IpAddress& a) {
                const auto it = address_table->find(ifindex);
                return it != address_table->end() &&
                       std::any_of(it->second.begin(), it->second.end(), [&](const InterfaceAddress& x) { return x.ip == a; });
            });
        if (was && was->preempt_at) r.driver.keep_preempt_wait(*was->preempt_at);
        touched.push_back(r.id());
    }

    // A BACKUP resumed over a kept peer entry hears the master it holds: the dataplane reports
    // changes only, so that master's steady adverts would never reach the state machine, whose
    // Master_Down_Timer would then make this router MASTER beside the live one.
    void hear_left_master(Router& r, Nanos now) {
        if (r.driver.state() != fsm::State::Backup) return;
        const auto peer = dp.peer(r.host.key());
        if (!peer || !peer->adver_int_cs || !heard_lately(*peer, r.cfg(), now)) return;  // silent: our own timer (or the kernel's) decides
        IpAddress src;
        src.family = r.identity().family;
        std::memcpy(src.bytes.data(), peer->addr, src.size());
        r.driver.on_advert(fsm::Advert{.priority = peer->priority, .adver_int_cs = peer->adver_int_cs, .src = src}, now);
    }

    // The peer entry holds a master (not a resignation) heard within its Master_Down_Interval.
    static bool heard_lately(const xvrrp_peer& peer, const config::Instance& in, Nanos now) {
        const Nanos down = Nanos{in.down_timer_adverts} * peer.adver_int_cs * fsm::kNsPerCs;
        return peer.last_advert_ns && peer.priority && peer.last_advert_ns + down > now;
    }

    // While an upgrade's routers start: what the daemon replaced had of this one.
    const HandoverRouter* handed_over(const Router& r) const {
        const auto it = handover_routers.find({r.cfg().name, r.identity().family});
        return it == handover_routers.end() ? nullptr : it->second;
    }

    // Crash adopt: the pinned maps hold a heartbeat younger than its timeout and exactly the
    // instances configured (by interface, VRID and family). A stale heartbeat (the kernel has
    // already silenced the VIPs), none at all, or other instances: start afresh.
    bool adoptable(Nanos now) const {
        const xvrrp_ctl ctl = dp.control();
        if (!ctl.heartbeat_ns || !ctl.heartbeat_timeout_ns) return false;  // none, or no fail-safe to judge by
        const std::vector<xvrrp_inst_key> left = dp.instance_keys();
        if (left.empty()) return false;
        const Nanos age = now > ctl.heartbeat_ns ? now - ctl.heartbeat_ns : 0;
        if (age >= ctl.heartbeat_timeout_ns) {
            spdlog::info("an earlier daemon's state is {} ms old (past its heartbeat timeout): starting afresh", age / 1'000'000);
            return false;
        }
        if (!runs_configured_instances()) return false;
        spdlog::info("resuming the {} routers a daemon left {} ms ago (heartbeat fresh, same instances)", left.size(),
                     age / 1'000'000);
        return true;
    }

    // The dataplane holds exactly the configured instances (by interface, VRID and family).
    bool runs_configured_instances() const {
        std::set<std::uint64_t> wanted, found;
        for (const auto& k : dp.instance_keys()) found.insert(packed(k));
        std::map<std::string, std::optional<unsigned>> ifindexes;  // a netlink query per interface, not per instance
        for (const auto& in : cfg.instances) {
            const auto known = ifindexes.find(in.interface);
            const auto ifindex = known != ifindexes.end() ? known->second : (ifindexes[in.interface] = rtnl.ifindex(in.interface));
            if (!ifindex) return false;
            for (Family f : {Family::V4, Family::V6})
                if (in.has_family(f)) wanted.insert(packed(instance_key(*ifindex, in, f)));
        }
        if (wanted != found) {
            spdlog::info("an earlier daemon left other instances than configured: starting afresh");
            return false;
        }
        return true;
    }

    // A router the dataplane has as MASTER resumes as MASTER, unless the peer entry holds a better
    // master heard within its Master_Down_Interval: then it starts as BACKUP like any other.
    bool resumes_as_master(const Router& r, Nanos now) const {
        return left_serving(r.host.key(), r.cfg(), r.identity().primary, r.label(), now);
    }

    bool left_serving(const xvrrp_inst_key& key, const config::Instance& in, const IpAddress& ours,
                      const std::string& label, Nanos now) const {
        const auto left = dp.instance(key);
        if (!left || left->state != XVRRP_STATE_MASTER) return false;
        if (const auto peer = dp.peer(key); peer && heard_lately(*peer, in, now)) {
            const int by_address = std::memcmp(peer->addr, ours.bytes.data(), ours.size());
            const bool better = peer->priority > in.priority || (peer->priority == in.priority && by_address > 0);
            if (better) {
                spdlog::info("{} not resumed as MASTER: a better master ({}) was heard", label, int{peer->priority});
                return false;
            }
        }
        return true;
    }

    // Every member (each of its families) was left serving as MASTER: the group resumes whole.
    // Anything less and every member starts as BACKUP, and the group decides as at any start.
    // Asked once per member while adopting, answered once per group.
    bool group_resumes(const config::SyncGroup& g, Nanos now) {
        if (const auto it = group_resume_memo.find(g.name); it != group_resume_memo.end()) return it->second;
        bool whole = true;
        for (const auto& name : g.instances) {
            const auto in = std::find_if(cfg.instances.begin(), cfg.instances.end(), [&](const auto& i) { return i.name == name; });
            if (in == cfg.instances.end()) continue;  // named by the group, not configured: not a member
            for (Family f : {Family::V4, Family::V6}) {
                if (!whole || !in->has_family(f)) continue;
                try {
                    const unsigned ifindex = attachments.at(in->interface).ifindex();
                    const auto primary = in->unicast_source && in->unicast_source->family == f
                                             ? *in->unicast_source
                                             : require_primary(ifindex, *in, f);
                    whole = left_serving(instance_key(ifindex, *in, f), *in, primary, "(" + notify_name(*in, f) + ")", now);
                } catch (const std::exception&) {
                    whole = false;  // not startable: the group cannot resume whole
                }
            }
        }
        if (!whole) spdlog::info("(group {}) not resumed as MASTER: not every member was left serving as MASTER", g.name);
        group_resume_memo.emplace(g.name, whole);
        return whole;
    }

    // Stops a router and takes it out of the dataplane and the tables (the caller erases it).
    void stop_router(Router& r, Nanos now) {
        r.driver.stop(now);
        retire(r);
    }

    void retire(Router& r) {
        EarlierLives lives{.sent = sent_total(r), .received = received_total(r)};  // before the slot is freed
        earlier_lives[{r.cfg().name, r.identity().family}] = lives;
        r.host.forget();
        router_by_key.erase(packed(r.host.key()));
        timers.cancel(r.id());
    }

    // ---- trackers ----

    // What the instance's trackers say now.
    Tracking tracking_for(const config::Instance& in) const {
        Tracking t;
        if (maintenance.count(in.name)) t.faults.emplace_back("maintenance (xvrrpctl)");
        auto add = [&](const config::TrackUse& use) {
            const track::Effect e = trackers.effect(use);
            t.delta += e.delta;
            if (e.fault) t.faults.push_back(trackers.fault_reason(use));
        };
        for (const auto& use : in.track) add(use);
        if (const config::SyncGroup* g = group_of(in.name)) {
            for (const auto& use : g->track) add(use);
            // A member in FAULT for a reason of its own takes the group with it.
            std::set<std::string> faulty;
            for (const auto& [id, r] : routers)
                if (r->cfg().name != in.name && group_of(r->cfg().name) == g && own_fault(*r)) faulty.insert(r->cfg().name);
            for (const auto& name : faulty) t.faults.push_back(std::string(kGroupFault) + g->name + ": " + name + " is in FAULT");
        }
        return t;
    }

    // ---- sync groups ----

    static constexpr std::string_view kGroupFault = "sync group ";

    const config::SyncGroup* group_of(const std::string& instance) const {
        const auto it = group_index.find(instance);
        return it == group_index.end() ? nullptr : &cfg.sync_groups[it->second];
    }

    // In FAULT for a reason other than its group's.
    static bool own_fault(const Router& r) {
        if (r.driver.state() != fsm::State::Fault) return false;
        const auto reasons = r.driver.fault_reasons();
        return std::any_of(reasons.begin(), reasons.end(), [](const std::string& why) { return !why.starts_with(kGroupFault); });
    }

    // After every wake-up: each group follows its members (keepalived's vrrp_sync). A member's own
    // FAULT is the others' (through their tracking); a MASTER that fell to BACKUP takes the other
    // MASTERs with it; held members become MASTER together once each is ready (or the group is
    // MASTER already); the group's notify runs when its state changes. Repeated until nothing
    // moves (a FAULT ending can free another member in the next round), a few rounds at most.
    void sync_pass(Nanos now) {
        if (cfg.sync_groups.empty()) return;
        std::vector<std::vector<Router*>> members(cfg.sync_groups.size());
        for (const auto& [id, r] : routers)
            if (const auto it = group_index.find(r->cfg().name); it != group_index.end()) members[it->second].push_back(r.get());
        for (int round = 0; round < 4; ++round) {
            bool moved = false;
            for (std::size_t g = 0; g < members.size(); ++g)
                if (!members[g].empty()) moved |= sync_group_pass(cfg.sync_groups[g], members[g], now);
            if (!moved) break;
        }
    }

    bool sync_group_pass(const config::SyncGroup& g, const std::vector<Router*>& members, Nanos now) {
        bool moved = false;
        auto touch = [&](Router& r) {
            touched.push_back(r.id());
            moved = true;
        };
        for (Router* r : members) {
            Tracking want = tracking_for(r->cfg());
            if (want != r->driver.tracking()) {
                r->driver.set_tracking(std::move(want), now);
                touch(*r);
            }
        }
        const bool fell = std::any_of(members.begin(), members.end(), [&](Router* r) {
            const auto seen = group_seen.find(r->id());
            return seen != group_seen.end() && seen->second == fsm::State::Master && r->driver.state() == fsm::State::Backup;
        });
        if (fell)
            for (Router* r : members)
                if (r->driver.state() == fsm::State::Master) {
                    r->driver.demote(now);
                    touch(*r);
                }
        const bool all_ready = std::all_of(members.begin(), members.end(), [](Router* r) {
            return r->driver.state() == fsm::State::Master || r->driver.ready();
        });
        if (all_ready)
            for (Router* r : members)
                if (r->driver.ready()) {
                    r->driver.release(now);
                    touch(*r);
                }
        for (Router* r : members) group_seen[r->id()] = r->driver.state();
        notify_group(g, members);
        return moved;
    }

    // FAULT if a member is; MASTER or BACKUP once all are; unchanged while they move.
    void notify_group(const config::SyncGroup& g, const std::vector<Router*>& members) {
        auto all = [&](fsm::State s) {
            return std::all_of(members.begin(), members.end(), [s](Router* r) { return r->driver.state() == s; });
        };
        std::optional<Notice> now_state;
        if (std::any_of(members.begin(), members.end(), [](Router* r) { return r->driver.state() == fsm::State::Fault; }))
            now_state = Notice::Fault;
        else if (all(fsm::State::Master)) now_state = Notice::Master;
        else if (all(fsm::State::Backup)) now_state = Notice::Backup;
        if (!now_state) return;
        const auto [it, fresh] = group_state.try_emplace(g.name, *now_state);
        if (!fresh && it->second == *now_state) return;
        it->second = *now_state;
        spdlog::info("(group {}) Entering {} STATE", g.name, notice_word(*now_state));
        notices.push_back(PendingNotice{.source = NoticeSource{.group = true, .name = g.name}, .scripts = g.notify,
                                        .notice = *now_state, .priority = 0});
    }

    // At shutdown: STOP for every group that said anything.
    void notify_groups_stopped() {
        for (const config::SyncGroup& g : cfg.sync_groups)
            if (group_state.erase(g.name))
                notices.push_back(PendingNotice{.source = NoticeSource{.group = true, .name = g.name}, .scripts = g.notify,
                                                .notice = Notice::Stop, .priority = 0});
    }

    // The routers `which` picks hear what their trackers (and maintenance) say now. One router's
    // failure is its own: the others still hear.
    void retrack(const std::function<bool(const config::Instance&)>& which, Nanos now) {
        for (auto& [id, r] : routers) {
            if (!which(r->cfg())) continue;
            try {
                r->driver.set_tracking(tracking_for(r->cfg()), now);
            } catch (const std::exception& e) {
                spdlog::error("{} tracking: {}", r->label(), e.what());
            }
            touched.push_back(id);
        }
    }

    void tracker_changed(const std::string& name, Nanos now) {
        retrack([&](const config::Instance& in) {
            return std::any_of(in.track.begin(), in.track.end(), [&](const config::TrackUse& u) { return u.tracker == name; });
        }, now);
    }

    // A root daemon runs no script that someone else could replace (keepalived's script_security).
    static void refuse_insecure_scripts(const config::Config& c) {
        if (const auto problems = insecure_scripts(c); !problems.empty()) throw std::runtime_error(problems.front());
    }

    // Applies a (new) configuration: unchanged instances are left alone.
    void apply_config(const config::Config& next, Nanos now, bool tolerant = false) {
        if (!tolerant) refuse_insecure_scripts(next);
        AddressTablePass pass(*this);
        // Trackers first: routers start (or are reconfigured) with what they say. Unchanged
        // trackers keep their state; a router whose uses did not change sees no difference.
        trackers.configure(next.trackers, now);
        // By name, not by a search per router: thousands of instances made that O(N^2).
        std::unordered_map<std::string_view, const config::Instance*> by_name;
        for (const auto& in : next.instances) by_name.emplace(in.name, &in);
        for (auto it = routers.begin(); it != routers.end();) {
            Router& r = *it->second;
            const auto found = by_name.find(r.cfg().name);
            const config::Instance* in = found == by_name.end() ? nullptr : found->second;
            const bool same_interface_options =
                in && next.interface_options(in->interface) == cfg.interface_options(in->interface);
            if (same_interface_options && *in == r.cfg()) {
                ++it;
                continue;
            }
            if (same_interface_options && timing_change_only(r.cfg(), *in)) {
                reconfigure(r, *in, now);
                ++it;
                continue;
            }
            spdlog::info("{} {}", r.label(), in ? "changed: restarting it" : "removed");
            stop_router(r, now);
            it = routers.erase(it);
        }
        attach_interfaces(next, tolerant);
        cfg = next;
        group_index.clear();  // indexes cfg.sync_groups: rebuilt with it
        for (std::size_t g = 0; g < cfg.sync_groups.size(); ++g)
            for (const auto& name : cfg.sync_groups[g].instances) group_index[name] = g;
        instances_pending = false;
        std::set<std::pair<std::string, Family>> running;
        for (const auto& [id, r] : routers) running.emplace(r->cfg().name, r->identity().family);
        for (const auto& in : next.instances) {
            for (Family f : {Family::V4, Family::V6}) {
                if (!in.has_family(f) || running.count({in.name, f})) continue;
                try {
                    if (!attachments.count(in.interface)) throw std::runtime_error("interface " + in.interface + " is not there");
                    auto r = make_router(in, f);
                    if (tolerant) spdlog::info("{} running again on {}", r->label(), in.interface);
                    start_router(std::move(r), now);
                } catch (const std::exception& e) {
                    if (!tolerant) throw;
                    spdlog::debug("({}) waiting: {}", in.name, e.what());
                    instances_pending = true;
                }
            }
        }
        if (instances_pending) timers.set(kPendingTimer, now + kPendingRetry);
        for (auto& [id, r] : routers)  // joined or left a group without another change
            if (r->driver.settings().sync_member != (group_index.count(r->cfg().name) != 0)) {
                r->driver.reconfigure(settings_of(r->cfg(), r->identity().family, r->identity().primary), now);
                touched.push_back(id);
            }
        std::erase_if(group_seen, [&](const auto& e) { return !routers.count(e.first); });
        std::erase_if(group_state, [&](const auto& e) {
            return std::none_of(next.sync_groups.begin(), next.sync_groups.end(), [&](const auto& g) { return g.name == e.first; });
        });
        detach_unused(next);
        multicast_lists(next);
        // A changed tracker definition (reset state) or changed uses: each router re-evaluated.
        retrack([](const config::Instance&) { return true; }, now);
    }

    // Priority, timers, preemption and announcements change through the state machine; what
    // changes the router's identity (interface, VRID, VIPs, version, MAC...) restarts it. The
    // owner's 255 is identity too: it changes the state machine's start and the addresses held.
    static bool timing_change_only(const config::Instance& old, const config::Instance& next) {
        if ((old.priority == fsm::kOwnerPriority) != (next.priority == fsm::kOwnerPriority)) return false;
        config::Instance same = next;
        same.priority = old.priority;
        same.advert_interval_ms = old.advert_interval_ms;
        same.preempt = old.preempt;
        same.preempt_delay_ms = old.preempt_delay_ms;
        same.down_timer_adverts = old.down_timer_adverts;
        same.announce = old.announce;
        same.track = old.track;
        same.track_primary = old.track_primary;
        same.notify = old.notify;
        same.notify_priority_changes = old.notify_priority_changes;
        return same == old;
    }

    void reconfigure(Router& r, const config::Instance& next, Nanos now) {
        spdlog::info("{} changed: priority {}, interval {} ms, preempt {} (no restart)", r.label(), next.priority,
                     next.advert_interval_ms, next.preempt);
        r.host.reconfigured(next);
        r.driver.reconfigure(settings_of(next, r.identity().family, r.identity().primary), now);
        touched.push_back(r.id());
    }

    // One address dump for a pass over every instance (check, start, reload), instead of one per
    // instance: with thousands of VIPs on the interfaces, a dump each held a reload of 1,000
    // instances for 0.8 s, past the heartbeat timeout at 4,000. Addresses the pass itself
    // changes are VIPs, which primary selection excludes anyway. Links likewise: one read each
    // (Rtnl::remember_links), not one per instance.
    class AddressTablePass {
    public:
        explicit AddressTablePass(const Impl& d) : d_(d), outer_(d.address_table.has_value()) {
            if (outer_) return;
            auto& table = d_.address_table.emplace();
            for (auto& a : d_.rtnl.address_table()) table[a.ifindex].push_back(std::move(a));
            d_.rtnl.remember_links(true);
        }
        ~AddressTablePass() {
            if (outer_) return;
            d_.address_table.reset();
            d_.ifindex_memo.clear();
            d_.rtnl.remember_links(false);
        }
        AddressTablePass(const AddressTablePass&) = delete;
        AddressTablePass& operator=(const AddressTablePass&) = delete;

    private:
        const Impl& d_;
        bool outer_;
    };

    // Everything the new configuration needs from the host, checked before anything is stopped:
    // a reload either applies whole or leaves what runs as it is.
    void check_runtime(const config::Config& next) const {
        AddressTablePass pass(*this);
        std::set<unsigned> takes_virtual_macs;  // asked once per interface: a link refuses all or none
        for (const auto& in : next.instances) {
            const unsigned ifindex = require_ifindex(in);
            for (Family f : {Family::V4, Family::V6}) {
                if (!in.has_family(f)) continue;
                require_primary(ifindex, in, f);
                // A MASTER that cannot receive its virtual MAC would advertise and serve nothing.
                if (in.mac != config::MacMode::Virtual || !in.vmac_interface.empty() || takes_virtual_macs.count(ifindex))
                    continue;
                const Mac mac = virtual_mac(in.vrid, f);
                if (!rtnl.unicast_filter_takes(ifindex, mac))
                    throw std::runtime_error("instance " + in.name + ": " + in.interface +
                                             " receives no other MAC than its own (its unicast filter refuses " + to_string(mac) +
                                             ", as a macvlan's or ipvlan's does): use \"mac\": \"interface\" there");
                takes_virtual_macs.insert(ifindex);
            }
        }
    }

    // ---- links ----

    // The interface is gone (its XDP link with it): its routers stop without a word (nothing can
    // be sent there) and wait, in the configuration, for an interface of that name to return.
    void interface_deleted(unsigned ifindex) {
        const auto it = std::find_if(attachments.begin(), attachments.end(),
                                     [&](const auto& a) { return a.second.ifindex() == ifindex; });
        if (it == attachments.end()) return;
        const std::string name = it->first;
        spdlog::warn("interface {} was deleted: its instances wait for it to return", name);
        std::erase_if(routers, [&](const auto& entry) {
            if (entry.second->ifindex() != ifindex) return false;
            retire(*entry.second);
            return true;
        });
        tc_attachments.erase(name);
        multicast_macs.erase(name);
        it->second.detach();
        attachments.erase(it);
        instances_pending = true;
    }

    void set_link(Router& r, bool up, Nanos now) {
        r.driver.set_link(up, now);
        touched.push_back(r.id());
    }

    // An attached interface's MAC, as the kernel says it is now (unchanged, mostly: every link
    // message carries it). A change (a bond's active slave with fail_over_mac, an address set after
    // the start) is followed by the virtual-MAC rewrite and by the routers answering from it, and
    // their MASTERs announce it: else XDP would go on sending every client to the old MAC. Never
    // throws: the rest of the netlink messages (a link down among them) must still be handled.
    void follow_mac(unsigned ifindex, const Mac& mac, Nanos now) {
        if (std::none_of(attachments.begin(), attachments.end(), [&](const auto& a) { return a.second.ifindex() == ifindex; }))
            return;
        try {
            dp.set_interface_mac(ifindex, mac);  // two system calls, on a link message of an attached interface
        } catch (const std::exception& e) {
            spdlog::warn("interface {}: {}", ifindex, e.what());
        }
        for (auto& [id, r] : routers) {
            if (r->ifindex() != ifindex) continue;
            try {
                if (!r->host.follow_interface_mac(mac)) continue;
            } catch (const std::exception& e) {
                spdlog::warn("{} following the new MAC {}: {}", r->label(), to_string(mac), e.what());
            }
            spdlog::warn("{} {} has a new MAC, {}: answering from it{}", r->label(), r->cfg().interface, to_string(mac),
                         r->driver.state() == fsm::State::Master ? " and announcing it" : "");
            r->driver.reannounce(now);
            touched.push_back(id);
        }
    }

    void on_netlink() {
        const NetlinkChanges changes = netlink_watch.drain();
        const Nanos now = monotonic_ns();
        for (const LinkChange& c : changes.links) {
            if (!c.name.empty()) trackers.on_link(c.name, c.up && !c.deleted, now);
            if (c.deleted) {
                interface_deleted(c.ifindex);
                continue;
            }
            for (auto& [id, r] : routers)
                if (r->ifindex() == c.ifindex) set_link(*r, c.up, now);
            if (c.mac) follow_mac(c.ifindex, *c.mac, now);
            if (!c.name.empty() && !attachments.count(c.name)) instances_pending = true;
        }
        if (changes.overflowed) {
            spdlog::warn("netlink: events were lost; re-reading every link");
            std::map<unsigned, bool> up;  // one query per interface, not per router
            for (auto& [id, r] : routers) {
                if (!up.count(r->ifindex())) up[r->ifindex()] = rtnl.link_up(r->ifindex());
                set_link(*r, up[r->ifindex()], now);
            }
            for (const auto& [name, a] : attachments) {
                Mac mac{};
                try {
                    mac = rtnl.mac(a.ifindex());
                } catch (const std::exception&) {
                    continue;  // gone: the pass below finds out
                }
                follow_mac(a.ifindex(), mac, now);
            }
            instances_pending = true;
        }
        follow_sources(changes.addresses, changes.overflowed, now);
        if (instances_pending) start_pending(now);
        restore_lost_addresses(changes.lost_address);
    }

    // Adverts leave from the interface's address as keepalived follows it: a router keeps its
    // source while the interface has it, takes the next one when it is removed (a renumbering),
    // and is in FAULT while the interface has none of the family (a lease that ran out), until one
    // comes. Only routers an address change concerns look, with one dump between them; after an
    // overflow every router does. Never throws (see follow_mac).
    void follow_sources(const std::vector<AddressChange>& changes, bool every_router, Nanos now) {
        // Indexed: a takeover of thousands of VIPs is thousands of changes, for thousands of routers.
        std::set<std::pair<unsigned, IpAddress>> removed;
        std::set<std::pair<unsigned, Family>> added;
        for (const AddressChange& c : changes) {
            if (c.added) added.emplace(c.ifindex, c.address.family);
            else removed.emplace(c.ifindex, c.address);
        }
        if (!every_router && removed.empty() && added.empty()) return;
        std::optional<std::vector<InterfaceAddress>> table;
        for (auto& [id, r] : routers) {
            const Family f = r->identity().family;
            if (configured_source(r->cfg(), f)) continue;
            const bool concerned = every_router || (r->driver.has_source() ? removed.count({r->ifindex(), r->identity().primary}) != 0
                                                                           : added.count({r->ifindex(), f}) != 0);
            if (!concerned) continue;
            try {
                if (!table) table = rtnl.address_table();
                const bool kept = r->driver.has_source() &&
                                  std::any_of(table->begin(), table->end(), [&](const InterfaceAddress& a) {
                                      return a.ifindex == r->ifindex() && a.ip == r->identity().primary;
                                  });
                r->driver.set_source(kept ? r->identity().primary
                                          : primary_address(*table, r->ifindex(), f, vip_addresses(r->cfg())),
                                     now);
            } catch (const std::exception& e) {
                spdlog::warn("{} its address to advertise from: {}", r->label(), e.what());
            }
            touched.push_back(id);
        }
    }

    // Instances whose interface came back (or was not ready) start again.
    void start_pending(Nanos now) {
        timers.cancel(kPendingTimer);
        if (stopping) return;
        apply_config(cfg, now, true);
    }

    // ---- frames ----

    // Sends what is queued; each router hears what became of its frames.
    void flush_frames() {
        FlushReport report = frames.flush();
        const Nanos now = monotonic_ns();
        std::unordered_map<std::uint32_t, std::vector<int>> refused;
        for (const SendFailure& f : report.failed) refused[f.tag].push_back(f.error);
        static const std::vector<int> none;
        for (const std::uint32_t id : report.tags) {
            const auto it = routers.find(id);
            if (it == routers.end()) continue;  // stopped meanwhile (a resignation)
            const auto r = refused.find(id);
            it->second->host.frames_flushed(r == refused.end() ? none : r->second, now);
        }
    }

    // Carries out the routers' address changes; a router whose change failed is in its error
    // state (retried every second, like any failed action). Only after every router's ownership
    // and frames: see AddressQueue. A slice at a time, the rest at once after the loop has looked
    // at its events again: a takeover of a thousand VIPs is a thousand netlink round trips (13-39
    // ms in one go here), and a master's silence noticed meanwhile would wait for all of them.
    void apply_addresses() {
        if (addresses.empty()) return;
        const auto failed = addresses.apply(rtnl, kAddressSlice);
        const Nanos now = monotonic_ns();
        if (!addresses.empty()) timers.set(kAddressTimer, now);
        for (const auto& f : failed) {
            const auto it = routers.find(f.router);
            if (it == routers.end()) {
                spdlog::warn("{} (for a router that stopped meanwhile)", f.what);
                continue;
            }
            it->second->driver.fail(f.what, now);
            touched.push_back(f.router);
        }
    }

    // ---- inputs ----

    Router* find(const xvrrp_inst_key& k) {
        const auto it = router_by_key.find(packed(k));
        return it == router_by_key.end() ? nullptr : routers.at(it->second).get();
    }

    void on_event(const xvrrp_event& e) {
        Router* r = find(e.inst);
        if (!r) return;
        const Nanos now = monotonic_ns();
        touched.push_back(r->id());
        if (e.type == XVRRP_EV_MASTER_DOWN) {
            r->driver.on_master_down(now);
            return;
        }
        IpAddress src;
        src.family = r->identity().family;
        std::memcpy(src.bytes.data(), e.addr, src.size());
        r->driver.on_advert(fsm::Advert{.priority = e.priority, .adver_int_cs = e.adver_int_cs, .src = src}, now);
    }

    // Makes up every event the ring lost (see resync.hpp).
    void resync(Nanos now) {
        timers.set(kResyncTimer, now + kResyncPeriod);
        for (auto& [id, rp] : routers) {
            Router& r = *rp;
            const auto peer = dp.peer(r.host.key());
            if (!peer) continue;
            if (const auto e = missed_event(r.host.key(), *peer, r.driver.facts(), r.identity().family, now)) {
                if (const auto held = resync_log.allow(now)) {
                    const JournalFields fields(r.identity().journal);
                    spdlog::warn("{} resync: acting on a missed {} event{}", r.label(),
                                 e->type == XVRRP_EV_MASTER_DOWN ? "MASTER_DOWN" : "advert",
                                 *held ? " (" + std::to_string(*held) + " more not logged)" : "");
                }
                on_event(*e);
            }
        }
    }

    // Only what is due: the routers whose deadline has come, and the daemon's own timers.
    void on_timer(Nanos now) {
        for (const TimerQueue::Key key : timers.pop_due(now)) {
            switch (key) {
                case kHeartbeatTimer: {
                    heartbeat(now);
                    const std::uint64_t dropped = dp.stat(XVRRP_STAT_EVENTS_DROPPED).packets;
                    if (dropped != events_dropped_seen) {
                        spdlog::warn("the ring buffer dropped {} events: resyncing from the peer entries",
                                     dropped - events_dropped_seen);
                        events_dropped_seen = dropped;
                        resync(now);
                    }
                    break;
                }
                case kResyncTimer: resync(now); break;
                case kPendingTimer:
                    if (instances_pending) start_pending(now);
                    break;
                case kControlTimer: control->expire(now); break;
                case kTrackerTimer: trackers.on_timer(now); break;
                case kProcessTimer: runner.on_timer(now); break;
                case kMetricsTimer: publish_metrics(now); break;
                case kUpgradeTimer: upgrade_failed("the new daemon was not ready within 10 s"); break;
                case kClockTimer: measure_tick(now); break;
                case kAddressTimer: break;  // after_work applies the next slice
                case kStopTimer:
                    spdlog::warn("shutting down: STOP notify scripts still running; leaving them to be killed");
                    loop.stop();
                    break;
                case kSweepTimer:
                    for (const std::uint32_t id : sweep.due(now)) {
                        const auto it = routers.find(id);
                        if (it == routers.end() || !it->second->driver.kernel_watching()) continue;
                        it->second->driver.on_master_down(now);  // as if the kernel's timer had run out
                        touched.push_back(id);
                    }
                    break;
                default:
                    if (const auto it = routers.find(static_cast<std::uint32_t>(key)); it != routers.end()) {
                        it->second->driver.on_timer(now);
                        touched.push_back(it->second->id());
                    }
            }
        }
    }

    // Polls the tick measurement until it has an answer, which XDP's fail-safe clock then uses.
    void measure_tick(Nanos now) {
        if (!tick_measurement) return;
        const auto choice = tick_measurement->poll();
        if (!choice) {
            timers.set(kClockTimer, now + kClockPoll);
            return;
        }
        log_tick_choice(*choice);
        dp.set_fail_safe_tick(choice->tick_ns);
        tick_measurement.reset();  // its BPF program too
    }

    // The loop is alive: XDP's fail-safe and systemd's watchdog hear it from the same tick, so a
    // wedged loop is silenced by the one and restarted by the other.
    void heartbeat(Nanos now) {
        const Nanos timeout = Nanos{cfg.global.heartbeat_timeout_ms} * 1'000'000;
        dp.set_heartbeat(now, timeout);
        Nanos period = timeout ? timeout / 4 : 1'000'000'000;
        if (const auto wd = sd.watchdog_ns()) {
            sd.send("WATCHDOG=1");
            period = std::min<Nanos>(period, static_cast<Nanos>(*wd / 4));
        }
        timers.set(kHeartbeatTimer, now + period);
    }

    // After every handler: frames out, then addresses, then the timer armed once, at the earliest
    // deadline.
    void after_work() {
        sync_pass(monotonic_ns());
        flush_frames();
        apply_addresses();
        // Every transition queues a notice: only then can the counts have moved (not a pass
        // over every router after every event).
        if (!notices.empty() && !stopping) {
            send_state_summary();
            publish_metrics(monotonic_ns());
        }
        post_notices();
        for (const std::uint32_t id : touched) {
            const auto it = routers.find(id);
            if (it != routers.end())
                timers.set(id, it->second->driver.next_deadline());
        }
        touched.clear();
        timers.set(kSweepTimer, sweep.next());
        if (control) timers.set(kControlTimer, control->next_expiry());
        timers.set(kTrackerTimer, trackers.next_deadline());
        timers.set(kProcessTimer, runner.next_deadline());
        if (stopping && notifier.idle()) loop.stop();
        if (const auto next = timers.next()) timer.arm_at(*next);
    }

    // What the routers told during this wake-up, now that its VIPs and announcements are out.
    void post_notices() {
        if (notices.empty()) return;
        const Nanos now = monotonic_ns();
        for (const PendingNotice& n : notices) {
            try {
                notifier.post(n.scripts, n.source, n.notice, n.priority, now);
            } catch (const std::exception& e) {
                spdlog::error("notify ({}): {}", n.source.name, e.what());
            }
        }
        notices.clear();
    }

    void on_signal() {
        signalfd_siginfo si{};
        while (::read(signals.get(), &si, sizeof(si)) == sizeof(si)) {
            if (si.ssi_signo == SIGHUP) {
                if (!stopping) reload();
            } else if (si.ssi_signo == SIGUSR2) {
                try {
                    start_upgrade(monotonic_ns());
                } catch (const std::exception& e) {
                    spdlog::error("SIGUSR2: {}", e.what());
                }
            } else if (stopping) {
                spdlog::warn("shutting down at once: STOP notify scripts are left to be killed");
                loop.stop();
            } else {
                shutdown();
            }
        }
        after_work();
    }

    void reload() {
        spdlog::info("SIGHUP: reloading {}", options.config_path);
        sd.send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_ns() / 1000));
        struct Ready {  // whatever the reload did, systemd hears it is over (and what runs now)
            Impl& d;
            ~Ready() {
                d.sd.send("READY=1");
                d.send_state_summary();
            }
        } ready{*this};
        const auto t0 = std::chrono::steady_clock::now();
        try {
            const std::string text = config::read_file(options.config_path);
            const config::Config next = config::parse(text);
            if (next.global != cfg.global) spdlog::warn("reload: changes under \"global\" take effect on restart");
            config::Config applied = next;
            applied.global = cfg.global;
            check_runtime(applied);
            apply_config(applied, monotonic_ns());
            running_config = text;
            // How long the loop was held (adverts and the heartbeat wait meanwhile).
            spdlog::info("reload: {} routers running (checked and applied in {} ms)", routers.size(),
                         std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
            ++reloads_ok;
        } catch (const config::ConfigError& e) {
            spdlog::error("reload: {}: {} (keeping the running configuration)", options.config_path, e.what());
            ++reloads_failed;
        } catch (const std::exception& e) {
            spdlog::error("reload: {} (keeping what runs)", e.what());
            ++reloads_failed;
        }
        publish_metrics(monotonic_ns());
    }

    // Every step is tried whatever the one before did, and the loop always stops: a failure
    // must not leave a daemon half shut and still running. It makes the exit status 1.
    void shutdown() {
        if (upgrading) upgrade_failed("the daemon is shutting down");
        spdlog::info("shutting down: resigning with priority 0");
        sd.send("STOPPING=1");
        const Nanos now = monotonic_ns();
        auto step = [&](const std::string& what, const auto& work) {
            try {
                work();
            } catch (const std::exception& e) {
                spdlog::error("shutting down: {}: {}", what, e.what());
                exit_status = 1;
            }
        };
        const auto tx_errors_before = total_tx_errors();
        for (auto& [id, r] : routers) step(r->label() + " stop", [&] { stop_router(*r, now); });
        step("resign", [&] { flush_frames(); });
        // Not through the drivers: nothing will retry, so each failure is said here.
        step("remove the VIPs", [&] {
            for (const auto& f : addresses.apply(rtnl)) {
                spdlog::error("shutting down: {}", f.what);
                exit_status = 1;
            }
        });
        step("notify", [&] {
            notify_groups_stopped();
            post_notices();
            notifier.close_fifo();
        });
        if (total_tx_errors() != tx_errors_before) {
            spdlog::error("shutting down: some resignations were refused by the kernel: backups wait for Master_Down_Interval");
            exit_status = 1;
        }
        routers.clear();
        for (auto& [name, a] : attachments) step("detach XDP from " + name, [&] { a.detach(); });
        attachments.clear();
        tc_attachments.clear();
        multicast_macs.clear();
        step("unpin the maps", [&] { dp.unpin(); });
        ::unlink(cfg.global.control_socket.c_str());
        // STOP scripts are awaited, one at a time per instance, each within notify_timeout_ms;
        // the whole wait is bounded too.
        stopping = true;
        if (notifier.idle()) loop.stop();
        else timers.set(kStopTimer, now + Nanos{cfg.global.notify_timeout_ms} * 1'000'000 + 2'000'000'000);
    }

    std::uint64_t total_tx_errors() const {
        std::uint64_t n = 0;
        for (const auto& [id, r] : routers) n += r->host.tx_errors();
        return n;
    }

    // One address dump per interface that lost an address, whatever the number of VIPs: a check
    // per VIP read the whole table each time, and with thousands of VIPs a burst of deletions
    // (our own, on a transition) stalled the loop for seconds, adverts included.
    void restore_lost_addresses(const std::vector<unsigned>& lost) {
        std::map<unsigned, std::vector<IpAddress>> present;
        for (auto& [id, r] : routers) {
            if (r->driver.state() != fsm::State::Master || !r->host.holds_addresses() ||
                std::find(lost.begin(), lost.end(), r->ifindex()) == lost.end())
                continue;
            try {
                if (!present.count(r->ifindex())) present[r->ifindex()] = rtnl.addresses(r->ifindex());
                r->host.restore_addresses(present[r->ifindex()]);
            } catch (const std::exception& e) {
                r->driver.fail(e.what(), monotonic_ns());
                touched.push_back(id);
            }
        }
    }

    // ---- control ----

    json command(const json& request) {
        const std::string name = request["command"];
        if (name == "status") return request.value("format", "") == "keepalived" ? keepalived_status() : status();
        if (name == "maintenance") return set_maintenance(request);
        if (name == "upgrade") return start_upgrade(monotonic_ns());
        throw std::invalid_argument("unknown command \"" + name + "\" (known: status, maintenance, upgrade)");
    }

    // {"command": "maintenance", "on": true, "instance": "gateway"} (no instance: all of them).
    // An instance in maintenance is in FAULT: a master resigns with priority 0 and releases its
    // VIPs, and none takes over until it is off again. Kept across reloads, not across restarts.
    json set_maintenance(const json& request) {
        if (!request.contains("on") || !request["on"].is_boolean())
            throw std::invalid_argument("maintenance: \"on\" must be true or false");
        const bool on = request["on"].get<bool>();
        std::vector<std::string> names;
        if (request.contains("instance")) {
            const std::string in = request["instance"].get<std::string>();
            if (std::none_of(cfg.instances.begin(), cfg.instances.end(), [&](const auto& i) { return i.name == in; }))
                throw std::invalid_argument("maintenance: no instance named \"" + in + "\"");
            names.push_back(in);
        } else {
            for (const auto& i : cfg.instances) names.push_back(i.name);
        }
        const Nanos now = monotonic_ns();
        for (const auto& n : names) {
            if (on ? maintenance.insert(n).second : maintenance.erase(n) > 0)
                spdlog::info("({}) maintenance {} (xvrrpctl)", n, on ? "on: resigning" : "off");
        }
        retrack([&](const config::Instance& in) { return std::find(names.begin(), names.end(), in.name) != names.end(); },
                now);
        return {{"maintenance", on}, {"instances", names}};
    }

    // ---- status ----

    // A router's counters with those of its earlier lives (status and metrics show the same).
    const EarlierLives* earlier(const Router& r) const {
        const auto it = earlier_lives.find({r.cfg().name, r.identity().family});
        return it == earlier_lives.end() ? nullptr : &it->second;
    }
    RouterCounters sent_total(const Router& r) const {
        const EarlierLives* e = earlier(r);
        return e ? r.driver.counters() + e->sent : r.driver.counters();
    }
    xvrrp_inst_stats received_total(const Router& r) const {
        const EarlierLives* e = earlier(r);
        const xvrrp_inst_stats before = e ? e->received : xvrrp_inst_stats{};
        const auto live = r.host.slot() ? dp.instance_stats(r.host.key()) : std::nullopt;
        return live ? *live + before : before;
    }

    // What the metrics server renders: published on transitions, after a reload, and once a
    // second for the counters; kernel counters it reads itself. Built here, rendered there.
    void publish_metrics(Nanos now) {
        if (!metrics_server) return;
        timers.set(kMetricsTimer, now + 1'000'000'000);
        const double wall_now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
        auto s = std::make_shared<metrics::Snapshot>();
        s->routers.reserve(routers.size());
        for (const auto& [id, rp] : routers) {
            const Router& r = *rp;
            const RouterDriver& d = r.driver;
            const auto slot = r.host.slot();
            if (!slot) continue;  // not in the dataplane yet: nothing to count
            const EarlierLives* e = earlier(r);
            metrics::Router m{.iname = r.identity().notify_name,
                              .family = r.identity().family,
                              .interface = r.cfg().interface,
                              .vrid = r.cfg().vrid,
                              .state = d.state(),
                              .priority = d.priority(),
                              .base_priority = d.base_priority(),
                              .sent = sent_total(r),
                              .slot = *slot,
                              .received_before = e ? e->received : xvrrp_inst_stats{}};
            if (d.transitions())
                m.last_transition_unix_seconds = wall_now - static_cast<double>(now - d.last_transition()) / 1e9;
            s->routers.push_back(std::move(m));
        }
        for (const TrackerView& v : trackers.views())
            s->trackers.push_back(metrics::Tracker{.name = v.name, .up = v.up, .durations = v.durations});
        s->reloads_ok = reloads_ok;
        s->reloads_failed = reloads_failed;
        metrics_server->publish(std::move(s));
    }

    // Each tracker an instance uses, and what it does to it now.
    json track_status(const config::Instance& in) const {
        json out = json::array();
        for (const auto& use : in.track) {
            const track::Effect e = trackers.effect(use);
            out.push_back({{"tracker", use.tracker}, {"weight", use.weight}, {"reverse", use.reverse},
                           {"delta", e.delta}, {"fault", e.fault}});
        }
        return out;
    }

    // keepalived's SIGJSON document (keepalived_status.hpp).
    json keepalived_status() const {
        json out = json::array();
        const Nanos mono_now = monotonic_ns();
        const double wall_now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
        for (const auto& [id, rp] : routers) {
            const Router& r = *rp;
            const RouterDriver& d = r.driver;
            keepalived::RouterView v{.cfg = r.cfg(), .iname = r.identity().notify_name, .family = r.identity().family};
            v.state = d.state();
            v.effective_priority = d.priority();
            if (d.state() == fsm::State::Master) {
                v.master_priority = d.priority();
            } else if (d.master()) {
                v.master_priority = d.master()->priority;
                v.master_adver_int_cs = d.master()->adver_int_cs;
            }
            if (d.transitions()) v.last_transition = wall_now - static_cast<double>(mono_now - d.last_transition()) / 1e9;
            v.sent = sent_total(r);
            const xvrrp_inst_stats received = received_total(r);
            v.adverts_received = received.adverts_valid;
            v.priority_zero_received = received.adverts_prio_zero;
            out.push_back(keepalived::instance_json(v, cfg.trackers));
        }
        return out;
    }

    json status() const {
        json out = json::object();
        json list = json::array();
        const Nanos now = monotonic_ns();
        for (const auto& [id, rp] : routers) {
            const Router& r = *rp;
            const config::Instance& in = r.cfg();
            const RouterDriver& d = r.driver;
            json vips = json::array();
            for (const auto& v : r.host.vips()) vips.push_back(v.address.to_string() + "/" + std::to_string(v.prefix_len));
            json master = nullptr;
            if (d.state() == fsm::State::Master)
                master = {{"address", r.identity().primary.to_string()}, {"priority", d.priority()}, {"self", true}};
            else if (d.master())
                master = {{"address", d.master()->src.to_string()},
                          {"priority", d.master()->priority},
                          {"advert_interval_ms", d.master()->adver_int_cs * 10},
                          {"self", false}};
            json counters = json::object();
            for_each_instance_counter(received_total(r), [&](const CounterInfo& c, std::uint64_t v) { counters[std::string(c.name)] = v; });
            for_each_router_counter(sent_total(r), [&](const CounterInfo& c, std::uint64_t v) { counters[std::string(c.name)] = v; });
            list.push_back({{"name", in.name},
                            {"family", family_name(r.identity().family)},
                            {"interface", in.interface},
                            {"vrid", in.vrid},
                            {"version", in.version},
                            {"state", d.state_name()},
                            {"error", d.error()},
                            {"priority", d.priority()},  // effective
                            {"base_priority", d.base_priority()},
                            {"fault_reasons", d.fault_reasons()},
                            {"track", track_status(in)},
                            {"advert_interval_ms", in.advert_interval_ms},
                            {"master", master},
                            {"vips", vips},
                            // BACKUP: who watches the master's silence: XDP's kernel timer, the
                            // daemon's sweep of the peer entries where the kernel gave no timer, or
                            // the router's own deadline ("controller") before either could.
                            {"master_down_timer", d.state() != fsm::State::Backup ? "none"
                                                  : !d.kernel_watching()     ? "controller"
                                                  : r.host.kernel_timer_armed() ? "kernel"
                                                                                : "sweep"},
                            {"transitions", d.transitions()},
                            {"seconds_since_transition", d.transitions() ? (now - d.last_transition()) / 1e9 : 0.0},
                            {"tx_errors", r.host.tx_errors()},
                            {"last_tx_error", r.host.last_tx_error() ? std::strerror(r.host.last_tx_error()) : ""},
                            {"counters", counters}});
        }
        out["instances"] = list;
        json tracker_list = json::array();
        for (const TrackerView& v : trackers.views())
            tracker_list.push_back({{"name", v.name},
                                    {"type", config::to_string(v.kind)},
                                    {"up", v.up},
                                    {"value", v.value},
                                    {"detail", v.detail},
                                    {"checks", v.checks},
                                    {"failures", v.failures},
                                    {"duration_ms", static_cast<double>(v.duration_ns) / 1e6}});
        out["trackers"] = tracker_list;
        const auto& ns = notifier.stats();
        json notify = {{"scripts_run", ns.scripts_run}, {"scripts_failed", ns.scripts_failed},
                       {"scripts_timed_out", ns.scripts_timed_out}, {"running", !notifier.idle()}};
        if (const NotifyFifo* f = notifier.fifo())
            notify["fifo"] = {{"path", f->path()}, {"written", f->written()}, {"queued", f->queued()}, {"dropped", f->dropped()}};
        out["notify"] = notify;
        json dataplane = json::object();
        const auto stats = dp.stats();
        for (std::uint32_t i = 0; i < XVRRP_STAT_MAX; ++i)
            dataplane[std::string(stat_name(static_cast<xvrrp_stat>(i)))] = stats[i].packets;
        out["dataplane"] = dataplane;
        out["pid"] = ::getpid();
        out["upgrade"] = {{"pid", upgrading ? json(upgrading->pid) : json(nullptr)}, {"last_error", last_upgrade_error},
                          {"failures", upgrade_failures}};
        return out;
    }
};

Daemon::Daemon(DaemonOptions options, config::Config config)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(config))) {}

Daemon::~Daemon() = default;

int Daemon::run() {
    impl_->loop.run();  // until SIGTERM/SIGINT, which clean up before stopping it
    return impl_->exit_status;
}

}  // namespace xvrrp
