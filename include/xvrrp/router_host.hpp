// The real RouterHost: what one router's decisions do to this machine. The dataplane's instance,
// VIP and peer entries, the kernel's addresses and unicast MAC filter (netlink), and the frames
// it sends (adverts, gratuitous ARP, unsolicited NA). The daemon owns one beside each driver.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "xvrrp/log_limit.hpp"
#include "xvrrp/journal.hpp"
#include "xvrrp/config.hpp"
#include "xvrrp/dataplane.hpp"
#include "xvrrp/master_down_sweep.hpp"
#include "xvrrp/netlink.hpp"
#include "xvrrp/router_driver.hpp"
#include "xvrrp/sender.hpp"

namespace xvrrp {

// The routers' address changes (and their virtual routes and rules, in the same order), carried out once every router has had its turn: a takeover sets
// ownership in the dataplane at once (XDP answers for the VIP from then on) and queues its
// addresses here, so the last of a thousand routers taking over together does not wait for 999
// netlink round trips before its ownership. Kept in order, so a release after a take (or a
// router replaced by another) ends as the last asked.
class AddressQueue {
public:
    struct Change {
        std::uint32_t router;
        unsigned ifindex;
        IpAddress address;
        std::uint8_t prefix_len;
        bool add;
        std::string label;       // IPv4 only; empty: the interface's name
        std::uint8_t scope = 0;  // RT_SCOPE_*
        // Or a virtual route (on ifindex) or rule instead of the address.
        std::optional<config::Route> route;
        std::optional<config::Rule> rule;
    };
    struct Failure {
        std::uint32_t router;
        std::string what;
    };
    using Applier = std::function<void(const Change&)>;  // throws on failure
    void add(std::uint32_t router, unsigned ifindex, const IpAddress& a, std::uint8_t prefix_len, std::string label = {},
             std::uint8_t scope = 0);
    void remove(std::uint32_t router, unsigned ifindex, const IpAddress& a, std::uint8_t prefix_len);
    void add_route(std::uint32_t router, unsigned ifindex, const config::Route& r);
    void remove_route(std::uint32_t router, unsigned ifindex, const config::Route& r);
    void add_rule(std::uint32_t router, const config::Rule& r);
    void remove_rule(std::uint32_t router, const config::Rule& r);
    // Carries out what is queued, in order, at most `max` changes (the rest stay queued, ahead of
    // whatever is queued next); a change that fails is reported for its router and the rest go on.
    std::vector<Failure> apply(const Applier& change, std::size_t max = SIZE_MAX);
    std::vector<Failure> apply(Rtnl& rtnl, std::size_t max = SIZE_MAX);  // by netlink
    [[nodiscard]] bool empty() const { return pending_.empty(); }
    // The router's queued address additions for which `present` says the kernel has the address
    // already are dropped (a resumed MASTER's VIPs: a netlink call each, 70 us, while nothing
    // advertises during an upgrade). Routes, rules and removals stay.
    void drop_present_adds(std::uint32_t router, const std::function<bool(unsigned ifindex, const IpAddress&)>& present);

private:
    std::vector<Change> pending_;
};

// What routers told the notify scripts and FIFO during one wake-up, posted by the daemon once the
// wake-up's frames and address changes are out (keepalived's order: VIPs and GARP, then scripts).
// Self-contained: the router may be gone (stopped) by then.
struct PendingNotice {
    NoticeSource source;
    config::Notify scripts;
    Notice notice;
    std::uint8_t priority;
};
using NoticeQueue = std::vector<PendingNotice>;

// The daemon's shared handles, which every router's host uses.
struct HostPorts {
    Dataplane& dp;
    Rtnl& rtnl;
    FrameSender& frames;
    UnicastSender& unicast;
    MasterDownSweep& sweep;  // watches the masters no kernel timer watches
    AddressQueue& addresses;
    NoticeQueue& notices;
};

// What a router is on this machine, fixed for its life (a change restarts the router), but for
// what it follows of its interface: the MAC it answers from (follow_interface_mac) and the
// address it advertises from (set_primary).
struct RouterIdentity {
    config::Instance cfg;
    Family family = Family::V4;
    unsigned ifindex = 0;
    IpAddress primary;  // advert source: IPv4 primary, IPv6 link-local, or unicast_source
    Mac mac{};          // source of adverts and answers: virtual or interface MAC
    std::uint32_t id = 0;  // names its frames in the sender's failure reports
    std::string label;     // as the logs name the router
    bool pass_adverts = false;  // the interface's option, mirrored in the instance entry
    std::string notify_name;    // as notify scripts and the FIFO name it (name, or name/v6 in a dual-family instance)
    std::vector<JournalField> journal;  // its log lines' journal fields (RouterSettings::journal)
};

class KernelRouterHost final : public RouterHost {
public:
    KernelRouterHost(HostPorts ports, RouterIdentity identity);

    void write_instance(fsm::State state, std::uint8_t priority, bool kernel_preempt) override;
    void take_vips(Nanos now, Nanos silence) override;
    void release_vips() override;
    void set_advert_silence(Nanos silence) override;
    void send_advert(std::uint8_t priority) override;
    void announce() override;
    void set_primary(const IpAddress& primary) override;
    std::optional<Nanos> kernel_master_down_at() override;
    bool watch_master_down(Nanos now) override;
    void notice(Notice n, std::uint8_t priority) override;
    // Whether XDP holds a kernel timer for the master (else the daemon's sweep watches it).
    [[nodiscard]] bool kernel_timer_armed() const;

    // Entries the router needs before it starts (peers, VIPs not owned); removes addresses a
    // daemon that died left behind.
    // keep_serving: a MASTER resumed after a restart (crash adopt): its VIPs stay owned and its
    // addresses and routes stay, instead of being cleared of what a dead daemon left.
    void install(bool keep_serving = false);
    // Takes the router out of the dataplane: its VIPs, unicast peers and instance entry.
    void forget();
    // Priority, timers, preemption (the identity stays): the next advert is built anew.
    void reconfigured(const config::Instance& next);
    // The frame sender's report on what this router queued since the last flush.
    void frames_flushed(const std::vector<int>& refused_errors, Nanos now);
    // Restores VIPs missing from the interface while MASTER (present: the interface's addresses);
    // queued like every address change.
    void restore_addresses(const std::vector<IpAddress>& present);
    // The interface's MAC is now mac. A router answering from it (mac: interface) answers,
    // advertises and announces from the new one; false when that changes nothing.
    bool follow_interface_mac(const Mac& mac);

    [[nodiscard]] const RouterIdentity& identity() const { return id_; }
    [[nodiscard]] const config::Instance& cfg() const { return id_.cfg; }
    [[nodiscard]] const std::vector<config::Vip>& vips() const { return vips_; }
    [[nodiscard]] const xvrrp_inst_key& key() const { return key_; }
    // Its per-instance counters in the dataplane (none until written).
    [[nodiscard]] std::optional<std::uint32_t> slot() const {
        return slot_ == kNoSlot ? std::nullopt : std::optional<std::uint32_t>(slot_);
    }
    [[nodiscard]] std::uint64_t tx_errors() const { return tx_errors_; }
    [[nodiscard]] int last_tx_error() const { return last_tx_error_; }
    [[nodiscard]] bool frames_queued() const { return frames_queued_; }
    // RFC 9568 6.4.3: only the owner, or a master in Accept_Mode, accepts packets for the VIPs;
    // the others answer ARP/NS for them (in XDP) but do not hold the addresses.
    [[nodiscard]] bool holds_addresses() const;

private:
    [[nodiscard]] xvrrp_vip vip_entry(bool owned) const;
    // Where a VIP's address goes: the instance's interface, or its own `dev` (none: gone).
    [[nodiscard]] std::optional<unsigned> vip_ifindex(const config::Vip& v) const;
    [[nodiscard]] std::optional<unsigned> route_ifindex(const config::Route& r) const;
    void queue_route_removals();
    [[nodiscard]] std::vector<IpAddress> unicast_peers() const;
    void note_tx_error(int err);
    void queue(unsigned ifindex, Bytes frame, bool advert);

    HostPorts ports_;
    RouterIdentity id_;
    std::vector<config::Vip> vips_;  // the instance's VIPs of this family
    std::vector<config::Route> routes_;  // and its virtual routes and rules of this family
    std::vector<config::Rule> rules_;
    unsigned vmac_ifindex_ = 0;  // the vmac_interface holding the VIPs, once made (0: none)
    xvrrp_inst_key key_{};
    std::uint32_t generation_ = 0;
    std::uint32_t slot_ = kNoSlot;  // in the dataplane's per-instance arrays, once written
    static constexpr std::uint32_t kNoSlot = XVRRP_MAX_INSTANCES;
    Bytes advert_cache_;      // the last multicast advert built, and its priority: a master
    int advert_cache_priority_ = -1;  // sends the same bytes every interval
    bool frames_queued_ = false;  // frames wait in the sender for this router
    bool advert_queued_ = false;  // one of them an advert, stamped for the fail-safe once sent
    std::uint64_t tx_errors_ = 0;  // frames (adverts, announcements) the kernel refused
    LogLimit tx_error_log_{3, 10'000'000'000};
    int last_tx_error_ = 0;
};

xvrrp_vip_key vip_key(unsigned ifindex, const IpAddress& a);

}  // namespace xvrrp
