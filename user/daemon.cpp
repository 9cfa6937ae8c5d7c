#include "xvrrp/daemon.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <chrono>
#include <string_view>
#include <set>
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
#include "xvrrp/netlink.hpp"
#include "xvrrp/resync.hpp"
#include "xvrrp/sender.hpp"
#include "xvrrp/vrrp_fsm.hpp"

namespace xvrrp {

namespace {

using fsm::Nanos;
using json = nlohmann::json;


const char* family_name(Family f) { return f == Family::V4 ? "IPv4" : "IPv6"; }

xvrrp_state dataplane_state(fsm::State s) {
    switch (s) {
        case fsm::State::Initialize: return XVRRP_STATE_INIT;
        case fsm::State::Backup: return XVRRP_STATE_BACKUP;
        case fsm::State::Master: return XVRRP_STATE_MASTER;
    }
    return XVRRP_STATE_INIT;
}

xvrrp_vip_key vip_key(unsigned ifindex, const IpAddress& a) {
    xvrrp_vip_key k{.ifindex = ifindex, .vlan = 0, .family = static_cast<std::uint8_t>(a.family)};
    std::memcpy(k.addr, a.bytes.data(), 16);
    return k;
}

// One VRRP router: one configured instance on one address family.
struct Router {
    config::Instance cfg;
    Family family;
    unsigned ifindex = 0;
    IpAddress primary;       // advert source: IPv4 primary, IPv6 link-local
    Mac mac{};               // source of adverts and answers: virtual or interface MAC
    std::vector<config::Vip> vips;
    xvrrp_inst_key key{};
    fsm::Machine machine;
    std::uint32_t generation = 0;
    bool kernel_watching = false;  // the dataplane's master-down timer runs for us
    bool kernel_preempt = false;   // the PREEMPT flag as written to the dataplane
    std::optional<Nanos> preempt_flag_at;  // preempt_delay: when to let the kernel preempt
    std::uint32_t announce_left = 0;
    Nanos next_announce = 0;
    std::optional<Nanos> next_refresh;
    std::uint64_t transitions = 0;
    Nanos last_transition = 0;
    Bytes advert_cache;               // the last multicast advert frame built, and its priority:
    int advert_cache_priority = -1;   // a master sends the same bytes every interval
    std::uint32_t id = 0;             // names its frames in the sender's failure reports
    std::uint64_t tx_errors = 0;      // frames (adverts, announcements) the kernel refused
    int last_tx_error = 0;
    // The interface is down (admin or carrier): no adverts, no VIPs, reported as FAULT.
    bool link_down = false;
    // The last action that failed (netlink ENODEV, an address that cannot be added...): the
    // instance stays in that error state, logged once, and its VIPs are reconciled at retry_at.
    std::string error;
    std::optional<Nanos> retry_at;
    std::optional<ProcessedAdvert> processed;  // the last advert acted on, for the resync
    std::uint32_t slot = 0;                    // in the dataplane's per-instance arrays
    bool advert_queued = false;                // an advert waits in the frame sender

    Router(config::Instance c, Family f, fsm::Config fc) : cfg(std::move(c)), family(f), machine(fc) {}

    [[nodiscard]] std::string label() const { return "(" + cfg.name + (family == Family::V6 ? "/v6" : "") + ")"; }
};

fsm::Config fsm_config(const config::Instance& in, const IpAddress& primary) {
    return fsm::Config{.version = in.version,
                       .priority = in.priority,
                       .adver_int_cs = in.adver_int_cs(),
                       .preempt = in.preempt,
                       .preempt_delay = Nanos{in.preempt_delay_ms} * 1'000'000,
                       .down_timer_adverts = in.down_timer_adverts,
                       .primary = primary};
}

// Blocks the signals the loop takes through a signalfd.
UniqueFd signal_fd() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
    check_sys(::sigprocmask(SIG_BLOCK, &set, nullptr), "sigprocmask");
    return UniqueFd(check_sys(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC), "signalfd"));
}


}  // namespace

struct Daemon::Impl {
    DaemonOptions options;
    config::Config cfg;
    DaemonLock lock;  // first: a second daemon stops here, before touching anything
    EventLoop loop;
    Dataplane dp;
    Rtnl rtnl;
    int exit_status = 0;  // 1 when the shutdown could not do all it should
    // Set for the length of one pass over many instances (AddressTablePass): the host's addresses
    // by interface, and interface indexes by name as they are looked up.
    mutable std::optional<std::map<unsigned, std::vector<InterfaceAddress>>> address_table;
    mutable std::map<std::string, std::optional<unsigned>> ifindex_memo;
    FrameSender frames;
    UnicastSender unicast;
    NetlinkWatch netlink_watch;
    TimerFd timer;
    UniqueFd signals;
    std::unique_ptr<ControlServer> control;
    std::unique_ptr<EventRing> ring;
    std::map<std::string, XdpAttachment> attachments;   // by interface name
    std::map<std::string, std::pair<TcAttachment, TcAttachment>> tc_attachments;  // ingress, egress
    std::vector<std::unique_ptr<Router>> routers;
    std::uint32_t next_router_id = 1;
    // Instances configured but not running (their interface is gone or not ready): retried.
    bool instances_pending = false;
    Nanos next_pending_retry = 0;
    Nanos next_heartbeat = 0;
    // Lost events: a full resync from the peer entries when the ring's drop counter moves
    // (checked with every heartbeat) and every kResyncPeriod whatever happens.
    std::uint64_t events_dropped_seen = 0;
    Nanos next_resync = 0;
    static constexpr Nanos kResyncPeriod = 5'000'000'000;
    static constexpr std::size_t kEventsPerWakeup = 64;  // timers and adverts keep their schedule

    Impl(DaemonOptions o, config::Config c)
        : options(std::move(o)), cfg(std::move(c)), lock(cfg.global.pin_root, cfg.global.control_socket),
          dp(DataplaneOptions{.pin_root = cfg.global.pin_root}),
          signals(signal_fd()) {
        // Whatever an earlier daemon left in the pinned maps describes a world that is gone.
        dp.clear();
        heartbeat(monotonic_ns());
        apply_config(cfg, monotonic_ns());
        ring = std::make_unique<EventRing>(dp.events_fd(), [this](const xvrrp_event& e) { on_event(e); });
        loop.add(ring->fd(), guarded("ring buffer", [this] { ring->consume(kEventsPerWakeup); }));
        next_resync = monotonic_ns() + kResyncPeriod;
        loop.add(timer.fd(), guarded("timer", [this] {
            timer.ack();
            on_timer(monotonic_ns());
        }));
        loop.add(signals.get(), guarded("signal", [this] { on_signal(); }));
        loop.add(netlink_watch.fd(), guarded("netlink", [this] { on_netlink(); }));
        control = std::make_unique<ControlServer>(loop, cfg.global.control_socket, cfg.global.control_group,
                                                  [this](const json& request) { return command(request); });
        after_work();
    }

    // Runtime errors never end the daemon: a handler that throws is logged, and the loop's
    // bookkeeping (frames, timer) runs all the same; if even that fails, the timer retries soon.
    EventLoop::Handler guarded(const char* what, std::function<void()> work) {
        return [this, what, work = std::move(work)] {
            try {
                work();
            } catch (const std::exception& e) {
                spdlog::error("{}: {} (carrying on)", what, e.what());
            }
            try {
                after_work();
            } catch (const std::exception& e) {
                spdlog::error("after {}: {} (retrying in 100 ms)", what, e.what());
                timer.arm_at(monotonic_ns() + 100'000'000);
            }
        };
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
            spdlog::info("XDP detached from {}", it->first);
            it = attachments.erase(it);
        }
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
        std::vector<IpAddress> vip_addrs;
        for (const auto& v : in.vips) vip_addrs.push_back(v.address);
        std::optional<IpAddress> primary;
        if (!address_table) {
            primary = primary_address(rtnl.address_table(), ifindex, f, vip_addrs);
        } else if (const auto it = address_table->find(ifindex); it != address_table->end()) {
            primary = primary_address(it->second, ifindex, f, vip_addrs);
        }
        if (!primary)
            throw std::runtime_error("interface " + in.interface + " has no " +
                                     (f == Family::V4 ? "IPv4 address" : "IPv6 link-local address") +
                                     " to send adverts from (instance " + in.name + ")");
        return *primary;
    }

    std::unique_ptr<Router> make_router(const config::Instance& in, Family f) {
        const unsigned ifindex = attachments.at(in.interface).ifindex();
        // The tie-break compares the address adverts really leave from (RFC 9568 6.4.3).
        const auto primary = in.unicast_source && in.unicast_source->family == f ? *in.unicast_source
                                                                                 : require_primary(ifindex, in, f);
        auto r = std::make_unique<Router>(in, f, fsm_config(in, primary));
        r->id = next_router_id++;
        r->ifindex = ifindex;
        r->primary = primary;
        r->mac = in.mac == config::MacMode::Virtual ? virtual_mac(in.vrid, f) : rtnl.mac(ifindex);
        for (const auto& v : in.vips)
            if (v.address.family == f) r->vips.push_back(v);
        r->key = xvrrp_inst_key{.ifindex = ifindex, .vlan = 0, .vrid = in.vrid, .family = static_cast<std::uint8_t>(f)};
        r->kernel_preempt = in.preempt && in.preempt_delay_ms == 0;
        return r;
    }

    void start_router(Router& r, Nanos now) {
        r.link_down = !rtnl.link_up(r.ifindex);
        dp.set_interface_mac(r.ifindex, rtnl.mac(r.ifindex));
        sync_dataplane(r);
        for (const auto& p : unicast_peers(r)) dp.add_unicast_peer(r.key, p.bytes);
        for (const auto& v : r.vips) {
            dp.set_vip(vip_key(r.ifindex, v.address), vip_entry(r, false), r.key);
            rtnl.remove_address(r.ifindex, v.address, v.prefix_len);  // left by a daemon that died
        }
        if (r.link_down) spdlog::warn("{} Entering FAULT STATE ({} is down)", r.label(), r.cfg.interface);
        else apply(r, r.machine.startup(now), now);
    }

    void stop_router(Router& r, Nanos now) {
        apply(r, r.machine.shutdown(now), now);
        forget(r);
    }

    // Takes the router out of the dataplane: its VIPs, unicast peers and instance entry.
    void forget(const Router& r) {
        for (const auto& v : r.vips) dp.remove_vip(vip_key(r.ifindex, v.address));
        for (const auto& p : unicast_peers(r)) dp.remove_unicast_peer(r.key, p.bytes);
        dp.remove_instance(r.key);
    }

    static std::vector<IpAddress> unicast_peers(const Router& r) {
        std::vector<IpAddress> out;
        for (const auto& p : r.cfg.unicast_peers)
            if (p.family == r.family) out.push_back(p);
        return out;
    }

    // Applies a (new) configuration: unchanged instances are left alone.
    void apply_config(const config::Config& next, Nanos now, bool tolerant = false) {
        AddressTablePass pass(*this);
        // By name, not by a search per router: thousands of instances made that O(N^2).
        std::unordered_map<std::string_view, const config::Instance*> by_name;
        for (const auto& in : next.instances) by_name.emplace(in.name, &in);
        std::vector<std::unique_ptr<Router>> kept;
        for (auto& r : routers) {
            const auto found = by_name.find(r->cfg.name);
            const config::Instance* it = found == by_name.end() ? nullptr : found->second;
            const bool same_interface_options =
                it && next.interface_options(it->interface) == cfg.interface_options(it->interface);
            if (same_interface_options && *it == r->cfg) {
                kept.push_back(std::move(r));
                continue;
            }
            if (same_interface_options && timing_change_only(r->cfg, *it)) {
                reconfigure(*r, *it, now);
                kept.push_back(std::move(r));
                continue;
            }
            spdlog::info("{} {}", r->label(), it ? "changed: restarting it" : "removed");
            stop_router(*r, now);
        }
        routers = std::move(kept);
        attach_interfaces(next, tolerant);
        cfg = next;
        instances_pending = false;
        std::set<std::pair<std::string, Family>> running;
        for (const auto& r : routers) running.emplace(r->cfg.name, r->family);
        for (const auto& in : next.instances) {
            for (Family f : {Family::V4, Family::V6}) {
                if (!in.has_family(f) || running.count({in.name, f})) continue;
                try {
                    if (!attachments.count(in.interface)) throw std::runtime_error("interface " + in.interface + " is not there");
                    auto r = make_router(in, f);
                    start_router(*r, now);
                    if (tolerant) spdlog::info("{} running again on {}", r->label(), in.interface);
                    routers.push_back(std::move(r));
                } catch (const std::exception& e) {
                    if (!tolerant) throw;
                    spdlog::debug("({}) waiting: {}", in.name, e.what());
                    instances_pending = true;
                }
            }
        }
        detach_unused(next);
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
        return same == old;
    }

    void reconfigure(Router& r, const config::Instance& next, Nanos now) {
        spdlog::info("{} changed: priority {}, interval {} ms, preempt {} (no restart)", r.label(), next.priority,
                     next.advert_interval_ms, next.preempt);
        r.cfg = next;
        r.machine.reconfigure(fsm_config(next, r.primary), now);
        r.kernel_preempt = next.preempt && next.preempt_delay_ms == 0;
        r.preempt_flag_at.reset();
        r.advert_cache_priority = -1;  // the next advert is built anew
        dp.set_advert_silence(r.slot, r.machine.state() == fsm::State::Master ? advert_silence(r) : 0);
        if (r.machine.state() == fsm::State::Master)
            r.next_refresh = next.announce.refresh_ms ? std::optional(now + Nanos{next.announce.refresh_ms} * 1'000'000) : std::nullopt;
        sync_dataplane(r);
    }

    // One address dump for a pass over every instance (check, start, reload), instead of one per
    // instance: with thousands of VIPs on the interfaces, a dump each held a reload of 1,000
    // instances for 0.8 s, past the heartbeat timeout at 4,000. Addresses the pass itself
    // changes are VIPs, which primary selection excludes anyway.
    class AddressTablePass {
    public:
        explicit AddressTablePass(const Impl& d) : d_(d), outer_(d.address_table.has_value()) {
            if (outer_) return;
            auto& table = d_.address_table.emplace();
            for (auto& a : d_.rtnl.address_table()) table[a.ifindex].push_back(std::move(a));
        }
        ~AddressTablePass() {
            if (outer_) return;
            d_.address_table.reset();
            d_.ifindex_memo.clear();
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
        for (const auto& in : next.instances) {
            const unsigned ifindex = require_ifindex(in);
            for (Family f : {Family::V4, Family::V6})
                if (in.has_family(f)) require_primary(ifindex, in, f);
        }
    }

    // ---- links ----

    // Carrier or admin down: no adverts, VIPs released; FAULT until the link returns, then BACKUP.
    void set_link(Router& r, bool up, Nanos now) {
        if (up != r.link_down) return;  // no change
        r.link_down = !up;
        if (up) {
            spdlog::info("{} {} is up again: leaving FAULT", r.label(), r.cfg.interface);
            apply(r, r.machine.startup(now), now);
        } else {
            spdlog::warn("{} Entering FAULT STATE ({} is down)", r.label(), r.cfg.interface);
            apply(r, r.machine.shutdown(now), now);
        }
    }

    // The interface is gone (its XDP link with it): its routers stop without a word (nothing can
    // be sent there) and wait, in the configuration, for an interface of that name to return.
    void interface_deleted(unsigned ifindex) {
        const auto it = std::find_if(attachments.begin(), attachments.end(),
                                     [&](const auto& a) { return a.second.ifindex() == ifindex; });
        if (it == attachments.end()) return;
        const std::string name = it->first;
        spdlog::warn("interface {} was deleted: its instances wait for it to return", name);
        std::erase_if(routers, [&](const std::unique_ptr<Router>& r) {
            if (r->ifindex != ifindex) return false;
            forget(*r);
            return true;
        });
        tc_attachments.erase(name);
        it->second.detach();
        attachments.erase(it);
        instances_pending = true;
    }

    void on_netlink() {
        const NetlinkChanges changes = netlink_watch.drain();
        const Nanos now = monotonic_ns();
        for (const LinkChange& c : changes.links) {
            if (c.deleted) {
                interface_deleted(c.ifindex);
                continue;
            }
            for (auto& r : routers)
                if (r->ifindex == c.ifindex) set_link(*r, c.up, now);
            if (!c.name.empty() && !attachments.count(c.name)) instances_pending = true;
        }
        if (changes.overflowed) {
            spdlog::warn("netlink: events were lost; re-reading every link");
            std::map<unsigned, bool> up;  // one query per interface, not per router
            for (auto& r : routers) {
                if (!up.count(r->ifindex)) up[r->ifindex] = rtnl.link_up(r->ifindex);
                set_link(*r, up[r->ifindex], now);
            }
            instances_pending = true;
        }
        if (instances_pending) start_pending(now);
        restore_lost_addresses(changes.lost_address);
    }

    // Instances whose interface came back (or was not ready) start again.
    void start_pending(Nanos now) {
        next_pending_retry = now + 1'000'000'000;
        apply_config(cfg, now, true);
    }

    // ---- the dataplane's view of a router ----

    xvrrp_vip vip_entry(const Router& r, bool owned) const {
        xvrrp_vip v{};
        std::memcpy(v.mac, r.mac.data(), 6);
        v.flags = static_cast<std::uint8_t>((owned ? XVRRP_VIP_F_OWNED : 0) | (r.family == Family::V6 ? XVRRP_VIP_F_ROUTER : 0));
        return v;
    }

    void sync_dataplane(Router& r) {
        const auto& in = r.cfg;
        xvrrp_inst i{};
        i.version = in.version;
        i.priority = in.priority;
        i.state = static_cast<std::uint8_t>(dataplane_state(r.machine.state()));
        i.flags = static_cast<std::uint8_t>(
            (cfg.interface_options(in.interface).pass_adverts ? XVRRP_INST_F_PASS_ADVERTS : 0) |
            (in.v3_checksum_as_v2 ? XVRRP_INST_F_V3_CSUM_AS_V2 : 0) | (in.auth_pass ? XVRRP_INST_F_V2_AUTH_PASS : 0) |
            (r.kernel_preempt ? XVRRP_INST_F_PREEMPT : 0) |
            (!unicast_peers(r).empty() && in.unicast_check_source ? XVRRP_INST_F_UNICAST_CHECK : 0) |
            (!unicast_peers(r).empty() && in.unicast_routed ? XVRRP_INST_F_ANY_TTL : 0));
        i.adver_int_cs = in.adver_int_cs();
        i.down_timer_adverts = in.down_timer_adverts;
        i.generation = ++r.generation;
        std::memcpy(i.primary_addr, r.primary.bytes.data(), 16);
        if (in.auth_pass) std::memcpy(i.auth_data, in.auth_pass->data(), in.auth_pass->size());
        r.slot = dp.set_instance(r.key, i);
    }

    // ---- actions ----

    // Each action is carried out on its own: one that fails leaves the rest to run and puts the
    // instance in its error state, retried, while every other instance runs on.
    void apply(Router& r, const fsm::Actions& actions, Nanos now) {
        for (const auto& a : actions) {
            try {
                std::visit([&](const auto& act) { act_on(r, act, now); }, a);
            } catch (const std::exception& e) {
                router_error(r, e.what(), now);
            }
        }
    }

    void router_error(Router& r, const std::string& what, Nanos now) {
        if (what != r.error) spdlog::error("{} {} (retrying every second)", r.label(), what);
        r.error = what;
        r.retry_at = now + 1'000'000'000;
    }

    // Puts the VIPs where the state says they belong (idempotent): the retry after an error.
    void reconcile(Router& r, Nanos now) {
        r.retry_at.reset();
        try {
            if (r.machine.state() == fsm::State::Master && !r.link_down) act_on(r, fsm::TakeVips{}, now);
            else act_on(r, fsm::ReleaseVips{}, now);
            spdlog::info("{} recovered from: {}", r.label(), r.error);
            r.error.clear();
        } catch (const std::exception& e) {
            router_error(r, e.what(), now);
        }
    }

    void act_on(Router& r, const fsm::Transition& t, Nanos now) {
        spdlog::info("{} Entering {} STATE ({})", r.label(), fsm::to_string(t.to), t.reason);
        ++r.transitions;
        r.last_transition = now;
        r.kernel_watching = false;
        r.preempt_flag_at.reset();
        r.kernel_preempt = r.cfg.preempt && r.cfg.preempt_delay_ms == 0;
        sync_dataplane(r);
        if (t.to != fsm::State::Master) {
            r.announce_left = 0;
            r.next_refresh.reset();
        }
    }

    // RFC 9568 6.4.3: only the owner, or a master in Accept_Mode, accepts packets for the VIPs; the
    // others answer ARP/NS for them (in XDP) but do not hold the addresses.
    static bool holds_addresses(const Router& r) { return r.cfg.accept_mode || r.cfg.priority == fsm::kOwnerPriority; }

    // How long XDP answers for a master's VIPs after its last advert left: down_timer_adverts x
    // interval, the earliest a backup can take over, less a margin for the coarse clock XDP reads
    // and a late advert (half an interval, 5 ms at most).
    static Nanos advert_silence(const Router& r) {
        const Nanos interval = Nanos{r.cfg.adver_int_cs()} * fsm::kNsPerCs;
        return Nanos{r.cfg.down_timer_adverts} * interval - std::min(interval / 2, Nanos{5'000'000});
    }

    void act_on(Router& r, const fsm::TakeVips&, Nanos now) {
        dp.advert_sent(r.slot, now);  // the first advert follows at once
        dp.set_advert_silence(r.slot, advert_silence(r));
        if (r.cfg.mac == config::MacMode::Virtual) {
            rtnl.add_unicast_mac(r.ifindex, r.mac);  // past the NIC's filter; XDP hands it to the stack
            dp.set_vmac_owned(r.ifindex, static_cast<std::uint8_t>(r.family), r.cfg.vrid, true);
        }
        for (const auto& v : r.vips) {
            dp.set_vip(vip_key(r.ifindex, v.address), vip_entry(r, true), r.key);
            if (holds_addresses(r)) rtnl.add_address(r.ifindex, v.address, v.prefix_len);
        }
    }

    void act_on(Router& r, const fsm::ReleaseVips&, Nanos) {
        for (const auto& v : r.vips) {
            dp.set_vip(vip_key(r.ifindex, v.address), vip_entry(r, false), r.key);
            rtnl.remove_address(r.ifindex, v.address, v.prefix_len);
        }
        if (r.cfg.mac == config::MacMode::Virtual) {
            dp.set_vmac_owned(r.ifindex, static_cast<std::uint8_t>(r.family), r.cfg.vrid, false);
            rtnl.remove_unicast_mac(r.ifindex, r.mac);
        }
    }

    void act_on(Router& r, const fsm::Announce&, Nanos now) {
        r.announce_left = r.cfg.announce.repeat;
        r.next_announce = now + Nanos{r.cfg.announce.delay_ms} * 1'000'000;
        if (r.cfg.announce.refresh_ms) r.next_refresh = now + Nanos{r.cfg.announce.refresh_ms} * 1'000'000;
    }

    void act_on(Router& r, const fsm::SendAdvert& s, Nanos) { send_advert(r, s.priority); }

    void send_advert(Router& r, std::uint8_t priority) {
        if (r.cfg.unicast_peers.empty() && r.advert_cache_priority == priority) {
            frames.queue(r.ifindex, r.advert_cache, r.id);
            r.advert_queued = true;
            return;
        }
        VrrpAdvert a{.version = r.cfg.version, .vrid = r.cfg.vrid, .priority = priority,
                     .adver_int_cs = r.cfg.adver_int_cs()};
        for (const auto& v : r.vips) a.addresses.push_back(v.address);
        if (r.cfg.auth_pass) {
            a.auth_type = 1;
            std::memcpy(a.auth_data.data(), r.cfg.auth_pass->data(), r.cfg.auth_pass->size());
        }
        const VrrpChecksum mode =
            r.cfg.v3_checksum_as_v2 && r.family == Family::V4 ? VrrpChecksum::V3AsV2 : VrrpChecksum::Standard;
        bool to_peers = false;
        for (const auto& peer : r.cfg.unicast_peers) {
            if (peer.family != r.family) continue;
            to_peers = true;
            const IpAddress& src = r.primary;
            if (const int err = unicast.send(r.ifindex, src, peer, encode_vrrp(a, src, peer, mode))) note_tx_error(r, err);
            else dp.advert_sent(r.slot, monotonic_ns());
        }
        if (!to_peers) {
            r.advert_cache = vrrp_frame(r.mac, r.primary, vrrp_multicast_group(r.family), a, mode);
            r.advert_cache_priority = priority;
            frames.queue(r.ifindex, r.advert_cache, r.id);
            r.advert_queued = true;
        }
    }

    // A refused frame is that router's problem alone: counted, and logged when the reason changes.
    void note_tx_error(Router& r, int err) {
        ++r.tx_errors;
        if (err != r.last_tx_error)
            spdlog::warn("{} the kernel refused a frame on {}: {} ({} so far)", r.label(), r.cfg.interface,
                         std::strerror(err), r.tx_errors);
        r.last_tx_error = err;
    }

    // Sends what is queued; each advert the kernel took is stamped for the dataplane's fail-safe.
    void flush_frames() {
        const auto failed = frames.flush();
        for (const SendFailure& f : failed)
            for (auto& r : routers)
                if (r->id == f.tag) note_tx_error(*r, f.error);
        const Nanos now = monotonic_ns();
        for (auto& r : routers) {
            if (!r->advert_queued) continue;
            r->advert_queued = false;
            const bool refused = std::any_of(failed.begin(), failed.end(), [&](const SendFailure& f) { return f.tag == r->id; });
            if (!refused) dp.advert_sent(r->slot, now);
        }
    }

    void announce(Router& r) {
        for (const auto& v : r.vips)
            frames.queue(r.ifindex, r.family == Family::V4 ? garp_frame(r.mac, v.address)
                                                           : unsolicited_na_frame(r.mac, v.address, true), r.id);
    }

    // ---- inputs ----

    Router* find(const xvrrp_inst_key& k) {
        for (auto& r : routers)
            if (std::memcmp(&r->key, &k, sizeof(k)) == 0) return r.get();
        return nullptr;
    }

    void on_event(const xvrrp_event& e) {
        Router* r = find(e.inst);
        if (!r) return;
        const Nanos now = monotonic_ns();
        if (e.type == XVRRP_EV_MASTER_DOWN) {
            r->kernel_watching = false;
            const Nanos due = std::max(now, r->machine.master_down_deadline().value_or(now));
            apply(*r, r->machine.tick(due), now);
            return;
        }
        IpAddress src;
        src.family = r->family;
        std::memcpy(src.bytes.data(), e.addr, src.size());
        r->processed = ProcessedAdvert{.priority = e.priority, .adver_int_cs = e.adver_int_cs, .src = src};
        spdlog::debug("{} advert from {} priority {} interval {} cs", r->label(), src.to_string(), e.priority, e.adver_int_cs);
        const fsm::Advert advert{.priority = e.priority, .adver_int_cs = e.adver_int_cs, .src = src};
        const auto deadline_before = r->machine.master_down_deadline();
        const auto actions = r->machine.advert(advert, now);
        if (r->machine.state() == fsm::State::Backup) {
            // An advert that fed Master_Down_Timer feeds the dataplane's too, which watches from now
            // on; one the state machine discarded (a worse master we preempt) leaves our own deadline.
            if (r->machine.master_down_deadline() != deadline_before) r->kernel_watching = true;
            if (e.priority && e.priority < r->cfg.priority && r->cfg.preempt && !r->kernel_preempt && !r->preempt_flag_at)
                r->preempt_flag_at = now + Nanos{r->cfg.preempt_delay_ms} * 1'000'000;
        }
        apply(*r, actions, now);
    }

    // Makes up every event the ring lost (see resync.hpp).
    void resync(Nanos now) {
        next_resync = now + kResyncPeriod;
        for (auto& rp : routers) {
            Router& r = *rp;
            const auto peer = dp.peer(r.key);
            if (!peer) continue;
            const RouterFacts facts{.state = r.machine.state(), .kernel_watching = r.kernel_watching,
                                    .processed = r.processed, .state_since = r.last_transition};
            if (const auto e = missed_event(r.key, *peer, facts, r.family, now)) {
                spdlog::warn("{} resync: acting on a missed {} event", r.label(),
                             e->type == XVRRP_EV_MASTER_DOWN ? "MASTER_DOWN" : "advert");
                on_event(*e);
            }
        }
    }

    void on_timer(Nanos now) {
        control->expire(now);
        if (now >= next_heartbeat) {
            heartbeat(now);
            const std::uint64_t dropped = dp.stat(XVRRP_STAT_EVENTS_DROPPED).packets;
            if (dropped != events_dropped_seen) {
                spdlog::warn("the ring buffer dropped {} events: resyncing from the peer entries", dropped - events_dropped_seen);
                events_dropped_seen = dropped;
                resync(now);
            }
        }
        if (now >= next_resync) resync(now);
        if (instances_pending && now >= next_pending_retry) start_pending(now);
        for (auto& rp : routers) {
            Router& r = *rp;
            if (r.retry_at && now >= *r.retry_at) reconcile(r, now);
            const auto due = own_deadline(r);
            if (due && now >= *due) apply(r, r.machine.tick(now), now);
            if (r.preempt_flag_at && now >= *r.preempt_flag_at) {
                r.preempt_flag_at.reset();
                r.kernel_preempt = true;  // from now on a worse master no longer holds the kernel timer
                sync_dataplane(r);
            }
            if (r.announce_left && now >= r.next_announce) {
                announce(r);
                --r.announce_left;
                r.next_announce = now + Nanos{r.cfg.announce.interval_ms} * 1'000'000;
            }
            if (r.next_refresh && now >= *r.next_refresh) {
                announce(r);
                r.next_refresh = now + Nanos{r.cfg.announce.refresh_ms} * 1'000'000;
            }
        }
    }

    // The state machine's deadline, unless the dataplane's timer watches the master for us.
    std::optional<Nanos> own_deadline(const Router& r) const {
        if (r.machine.state() == fsm::State::Backup && r.kernel_watching) return std::nullopt;
        return r.machine.next_deadline();
    }

    void heartbeat(Nanos now) {
        const Nanos timeout = Nanos{cfg.global.heartbeat_timeout_ms} * 1'000'000;
        dp.set_heartbeat(now, timeout);
        next_heartbeat = now + (timeout ? timeout / 4 : 1'000'000'000);
    }

    void after_work() {
        flush_frames();
        Nanos next = next_heartbeat;
        for (const auto& r : routers) {
            if (const auto d = own_deadline(*r)) next = std::min(next, *d);
            if (r->preempt_flag_at) next = std::min(next, *r->preempt_flag_at);
            if (r->announce_left) next = std::min(next, r->next_announce);
            if (r->next_refresh) next = std::min(next, *r->next_refresh);
            if (r->retry_at) next = std::min(next, *r->retry_at);
        }
        if (instances_pending) next = std::min(next, next_pending_retry);
        next = std::min(next, next_resync);
        timer.arm_at(next);
    }

    void on_signal() {
        signalfd_siginfo si{};
        while (::read(signals.get(), &si, sizeof(si)) == sizeof(si)) {
            if (si.ssi_signo == SIGHUP) reload();
            else shutdown();
        }
        after_work();
    }

    void reload() {
        spdlog::info("SIGHUP: reloading {}", options.config_path);
        const auto t0 = std::chrono::steady_clock::now();
        try {
            const config::Config next = config::load_file(options.config_path);
            if (next.global != cfg.global) spdlog::warn("reload: changes under \"global\" take effect on restart");
            config::Config applied = next;
            applied.global = cfg.global;
            check_runtime(applied);
            apply_config(applied, monotonic_ns());
            // How long the loop was held (adverts and the heartbeat wait meanwhile).
            spdlog::info("reload: {} routers running (checked and applied in {} ms)", routers.size(),
                         std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
        } catch (const config::ConfigError& e) {
            spdlog::error("reload: {}: {} (keeping the running configuration)", options.config_path, e.what());
        } catch (const std::exception& e) {
            spdlog::error("reload: {} (keeping what runs)", e.what());
        }
    }

    // Every step is tried whatever the one before did, and the loop always stops: a failure
    // must not leave a daemon half shut and still running. It makes the exit status 1.
    void shutdown() {
        spdlog::info("shutting down: resigning with priority 0");
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
        for (auto& r : routers) step(r->label() + " stop", [&] { stop_router(*r, now); });
        step("resign", [&] { flush_frames(); });
        if (total_tx_errors() != tx_errors_before) {
            spdlog::error("shutting down: some resignations were refused by the kernel: backups wait for Master_Down_Interval");
            exit_status = 1;
        }
        routers.clear();
        for (auto& [name, a] : attachments) step("detach XDP from " + name, [&] { a.detach(); });
        attachments.clear();
        tc_attachments.clear();
        step("unpin the maps", [&] { dp.unpin(); });
        ::unlink(cfg.global.control_socket.c_str());
        loop.stop();
    }

    std::uint64_t total_tx_errors() const {
        std::uint64_t n = 0;
        for (const auto& r : routers) n += r->tx_errors;
        return n;
    }

    // One address dump per interface that lost an address, whatever the number of VIPs: a check
    // per VIP read the whole table each time, and with thousands of VIPs a burst of deletions
    // (our own, on a transition) stalled the loop for seconds, adverts included.
    void restore_lost_addresses(const std::vector<unsigned>& lost) {
        std::map<unsigned, std::vector<IpAddress>> present;
        for (auto& r : routers) {
            if (r->machine.state() != fsm::State::Master || !holds_addresses(*r) ||
                std::find(lost.begin(), lost.end(), r->ifindex) == lost.end())
                continue;
            try {
                if (!present.count(r->ifindex)) present[r->ifindex] = rtnl.addresses(r->ifindex);
                const auto& have = present[r->ifindex];
                for (const auto& v : r->vips) {
                    if (std::find(have.begin(), have.end(), v.address) != have.end()) continue;
                    spdlog::warn("{} {} was removed while MASTER: restoring it", r->label(), v.address.to_string());
                    rtnl.add_address(r->ifindex, v.address, v.prefix_len);
                }
            } catch (const std::exception& e) {
                router_error(*r, e.what(), monotonic_ns());
            }
        }
    }

    // ---- control ----

    json command(const json& request) {
        const std::string name = request["command"];
        if (name == "status") return status();
        throw std::invalid_argument("unknown command \"" + name + "\" (known: status)");
    }

    // ---- status ----

    json status() const {
        json out = json::object();
        json list = json::array();
        const Nanos now = monotonic_ns();
        for (const auto& rp : routers) {
            const Router& r = *rp;
            json vips = json::array();
            for (const auto& v : r.vips) vips.push_back(v.address.to_string() + "/" + std::to_string(v.prefix_len));
            json master = nullptr;
            if (r.machine.state() == fsm::State::Master)
                master = {{"address", r.primary.to_string()}, {"priority", r.cfg.priority}, {"self", true}};
            else if (r.machine.master())
                master = {{"address", r.machine.master()->src.to_string()},
                          {"priority", r.machine.master()->priority},
                          {"advert_interval_ms", r.machine.master()->adver_int_cs * 10},
                          {"self", false}};
            json counters = json::object();
            if (const auto s = dp.instance_stats(r.key))
                for_each_instance_counter(*s, [&](const CounterInfo& c, std::uint64_t v) { counters[std::string(c.name)] = v; });
            list.push_back({{"name", r.cfg.name},
                            {"family", family_name(r.family)},
                            {"interface", r.cfg.interface},
                            {"vrid", r.cfg.vrid},
                            {"version", r.cfg.version},
                            {"state", r.link_down ? "FAULT" : fsm::to_string(r.machine.state())},
                            {"error", r.error},
                            {"priority", r.cfg.priority},
                            {"advert_interval_ms", r.cfg.advert_interval_ms},
                            {"master", master},
                            {"vips", vips},
                            {"transitions", r.transitions},
                            {"seconds_since_transition", r.transitions ? (now - r.last_transition) / 1e9 : 0.0},
                            {"tx_errors", r.tx_errors},
                            {"last_tx_error", r.last_tx_error ? std::strerror(r.last_tx_error) : ""},
                            {"counters", counters}});
        }
        out["instances"] = list;
        json dataplane = json::object();
        const auto stats = dp.stats();
        for (std::uint32_t i = 0; i < XVRRP_STAT_MAX; ++i)
            dataplane[std::string(stat_name(static_cast<xvrrp_stat>(i)))] = stats[i].packets;
        out["dataplane"] = dataplane;
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
