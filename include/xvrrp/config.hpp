// xvrrpd's JSON configuration: the model, and a parser that validates all of
// it and names the JSON path of the first problem ("instances[1].priority:
// must be 1-255, got 300"). docs/config.md documents every key.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "xvrrp/dataplane.hpp"
#include "xvrrp/http_probe.hpp"
#include "xvrrp/packet.hpp"

namespace xvrrp::config {

class ConfigError : public std::runtime_error {
public:
    ConfigError(std::string path, const std::string& problem)
        : std::runtime_error(path.empty() ? problem : path + ": " + problem), path_(std::move(path)) {}
    // Every problem of a file, one a line; path() is the first one's.
    explicit ConfigError(const std::vector<ConfigError>& all);
    [[nodiscard]] const std::string& path() const { return path_; }
    [[nodiscard]] std::size_t count() const { return count_; }

private:
    static std::string join(const std::vector<ConfigError>& all);
    std::string path_;
    std::size_t count_ = 1;
};

struct Vip {
    IpAddress address;
    std::uint8_t prefix_len = 32;
    // keepalived's `dev`, `label` and `scope`: the address goes on `dev` (empty: the instance's
    // interface), with that IPv4 label and route scope (RT_SCOPE_*: 0 global, 253 link, ...).
    std::string dev;
    std::string label;
    std::uint8_t scope = 0;
    bool operator==(const Vip&) const = default;
};
// The scope's name as `ip address` prints it ("global", "link", ...; else the number).
std::string scope_name(std::uint8_t scope);
// keepalived's rendering of a VIP (status, SIGJSON): "192.0.2.10/24 dev eth0 scope global label eth0:1";
// the prefix length only where it is not the whole address.
std::string vip_text(const Vip& v, const std::string& instance_interface);

// An address and prefix length as a route or rule matches it ("198.51.100.0/24", "::/0").
struct Prefix {
    IpAddress address;
    std::uint8_t len = 0;
    bool operator==(const Prefix&) const = default;
};
std::string to_string(const Prefix& p);

// keepalived's virtual_routes: in the kernel while the instance is MASTER, of the family of `to`.
enum class RouteType { Unicast, Blackhole, Unreachable, Prohibit };
struct Route {
    Prefix to;
    std::optional<IpAddress> via;
    std::string dev;                   // empty: the instance's interface (unicast routes)
    std::optional<IpAddress> src;      // the preferred source (a VIP, typically)
    std::uint32_t table = 254;         // main
    std::uint32_t metric = 0;
    std::optional<std::uint8_t> scope; // none: the kernel's choice (link without via, else global)
    RouteType type = RouteType::Unicast;
    bool operator==(const Route&) const = default;
};

// keepalived's virtual_rules (policy routing), likewise. Its family is that of from/to.
struct Rule {
    std::optional<Prefix> from, to;
    std::uint32_t table = 254;
    std::optional<std::uint32_t> priority;  // none: the kernel's
    std::string iif, oif;
    std::optional<std::uint32_t> fwmark;
    Family family = Family::V4;
    bool operator==(const Rule&) const = default;
};
// "from 192.0.2.100 lookup 100 priority 100", as `ip rule` and keepalived's JSON write them;
// "198.51.100.0/24 via 192.0.2.254 dev eth0 table 100", as `ip route`.
std::string rule_text(const Rule& r);
std::string route_text(const Route& r, const std::string& instance_interface);

enum class MacMode { Virtual, Interface };

struct Announce {                  // gratuitous ARP / unsolicited NA on becoming master
    std::uint32_t delay_ms = 0;    // before the first
    std::uint32_t repeat = 5;      // how many in the burst
    std::uint32_t interval_ms = 100;
    std::uint32_t refresh_ms = 0;  // periodic re-announcement while master; 0: none
    std::uint32_t refresh_repeat = 1;  // announcements per refresh (keepalived's garp_master_refresh_repeat)
    // A second burst this long after becoming master (keepalived's garp_master_delay, 5 s by
    // default: a switch port still coming up may have missed the first); 0: none.
    std::uint32_t second_burst_ms = 5000;
    // The burst of a master answering a worse one (a healed split brain: clients may hold the
    // other's MAC); keepalived's garp_lower_prio_repeat. None: `repeat`.
    std::optional<std::uint32_t> lower_prio_repeat;
    bool operator==(const Announce&) const = default;
};

// A tracker (keepalived's track_interface, vrrp_script, track_file and the checker's checks):
// something watched that moves the priority of the instances that use it, or puts them in FAULT.
enum class TrackerKind { Interface, Script, File, Tcp, Icmp, Http, Process };
std::string_view to_string(TrackerKind k);

struct Tracker {
    TrackerKind kind = TrackerKind::Script;
    std::uint32_t interval_ms = 1000;
    std::uint32_t timeout_ms = 1000;  // a check not finished by then failed (default: the interval)
    std::uint32_t rise = 1;           // consecutive results to change state
    std::uint32_t fall = 1;
    bool init_fail = false;  // starts down
    int weight = 0;          // for uses that give none (file: 1)
    // interface
    std::string interface;
    std::uint32_t down_delay_ms = 0, up_delay_ms = 0;
    // script
    std::vector<std::string> command;  // argv; exit 0 succeeds
    std::optional<std::string> user;   // runs as this user (default: global.script_user; none: root)
    // file
    std::string path;
    // tcp, icmp
    std::optional<IpAddress> address;
    std::uint16_t port = 0;
    // http: GET the URL (http or https, certificates not verified, as keepalived's SSL_GET); up
    // when the status is in one of the ranges and, with a digest, the body's MD5 is it
    http::Url url;
    std::string host;  // the Host header; the URL's authority when empty
    std::vector<http::StatusRange> status{http::StatusRange{}};
    std::string digest;  // lower-case hex; empty: not checked
    // process: up while quorum..quorum_max processes of this name run (0: no upper bound)
    std::string process;
    std::uint32_t quorum = 1, quorum_max = 0;
    bool operator==(const Tracker&) const = default;
};

struct TrackUse {
    std::string tracker;
    int weight = 0;  // the use's, or else the tracker's
    bool reverse = false;
    bool operator==(const TrackUse&) const = default;
};

// Commands run on a change of state (keepalived's notify_master, notify_backup, notify_fault,
// notify_stop and notify): argv arrays, empty when not set. `any` gets four arguments appended:
// INSTANCE|GROUP, the name, MASTER|BACKUP|FAULT|STOP and the effective priority (0 for a group).
struct Notify {
    std::vector<std::string> master, backup, fault, stop, any;
    [[nodiscard]] bool empty() const { return master.empty() && backup.empty() && fault.empty() && stop.empty() && any.empty(); }
    bool operator==(const Notify&) const = default;
};

struct Instance {
    std::string name;
    std::string interface;
    std::uint8_t vrid = 0;
    std::uint8_t version = 3;
    std::uint8_t priority = 100;
    std::uint32_t advert_interval_ms = 1000;
    std::vector<Vip> vips;
    bool preempt = true;
    std::uint32_t preempt_delay_ms = 0;
    bool accept_mode = true;  // keepalived's default; false: only the owner holds the VIPs
    MacMode mac = MacMode::Virtual;
    // keepalived's use_vmac NAME: a macvlan of that name on `interface`, with the virtual MAC,
    // holds the VIPs (for firewall rules that name it); empty: none.
    std::string vmac_interface;
    std::optional<IpAddress> unicast_source;
    std::vector<IpAddress> unicast_peers;  // empty: multicast (224.0.0.18 / ff02::12)
    // Another group than the RFC's for the adverts (keepalived's vrrp_mcast_group4/6, mcast_dst_ip),
    // at most one per family; the peers must use it too.
    std::vector<IpAddress> multicast_groups;
    bool unicast_check_source = true;      // drop unicast adverts from senders not in unicast_peers
    bool unicast_routed = false;           // peers behind routers: accept any TTL / hop limit
    std::optional<std::string> auth_pass;  // VRRPv2 simple text, at most 8 bytes
    std::uint8_t down_timer_adverts = 3;
    bool v3_checksum_as_v2 = false;
    Announce announce;
    std::vector<TrackUse> track;
    bool track_primary = true;  // the interface down (no carrier, or admin down) is FAULT
    bool start_as_master = false;  // "start_as": "master" (keepalived's state MASTER); preempt then always
    Notify notify;
    bool notify_priority_changes = false;  // MASTER_PRIORITY / BACKUP_PRIORITY lines on the FIFO
    std::vector<Route> virtual_routes;     // in the kernel while MASTER
    std::vector<Rule> virtual_rules;

    [[nodiscard]] bool has_family(Family f) const;
    // Where multicast adverts of family f go: the configured group, else 224.0.0.18 / ff02::12.
    [[nodiscard]] IpAddress advert_group(Family f) const;
    [[nodiscard]] std::uint16_t adver_int_cs() const { return static_cast<std::uint16_t>(advert_interval_ms / 10); }
    bool operator==(const Instance&) const = default;
};

// keepalived's vrrp_sync_group: instances that change state together. One member to FAULT takes
// them all to FAULT, one MASTER to BACKUP takes the others to BACKUP, and they become MASTER only
// together (when each would). Its trackers apply to every member.
struct SyncGroup {
    std::string name;
    std::vector<std::string> instances;
    std::vector<TrackUse> track;
    Notify notify;  // `any` gets GROUP, the name, the state and 0
    bool tracking_weight = false;  // sync_group_tracking_weight: weighted trackers allowed on members
    bool operator==(const SyncGroup&) const = default;
};

struct InterfaceOptions {
    XdpMode xdp_mode = XdpMode::Auto;
    bool pass_adverts = false;  // valid adverts also reach the stack (tcpdump)
    bool operator==(const InterfaceOptions&) const = default;
};

// Prometheus metrics over HTTP (global.metrics): "192.0.2.1:9650" or "[2001:db8::1]:9650".
struct Metrics {
    IpAddress address;
    std::uint16_t port = 0;
    std::string path = "/metrics";
    bool operator==(const Metrics&) const = default;
};

struct Global {
    std::string pin_root = "/sys/fs/bpf/xvrrp";
    std::string control_socket = "/run/xvrrp/xvrrpd.sock";
    std::optional<std::string> control_group;  // the socket's group (mode 0660, owner root)
    // The kernel stops answering for VIPs when the daemon is silent this long; 0 disables.
    std::uint32_t heartbeat_timeout_ms = 1000;
    // keepalived's notify_fifo: a line per change of state ("INSTANCE \"VI_1\" MASTER 100"),
    // and a script started once to read it (the FIFO's path appended).
    std::optional<std::string> notify_fifo;
    std::vector<std::string> notify_fifo_script;
    std::uint32_t notify_timeout_ms = 10'000;  // a notify script still running then is killed
    std::optional<std::string> script_user;   // scripts (checks, notify, the FIFO's reader) run as this user; none: root
    std::optional<Metrics> metrics;           // absent: no metrics endpoint
    bool operator==(const Global&) const = default;
};

struct Config {
    Global global;
    std::map<std::string, InterfaceOptions> interfaces;  // only where not default
    std::vector<Instance> instances;
    std::map<std::string, Tracker> trackers;
    std::vector<SyncGroup> sync_groups;

    [[nodiscard]] InterfaceOptions interface_options(const std::string& ifname) const;
    bool operator==(const Config&) const = default;
};

// Parses and validates; throws ConfigError naming the JSON path of every problem found (the
// first problem of each instance, block and cross-instance rule).
Config parse(const std::string& json_text);
Config load_file(const std::string& path);
// The file's text; throws ConfigError when it cannot be read.
std::string read_file(const std::string& path);

}  // namespace xvrrp::config
