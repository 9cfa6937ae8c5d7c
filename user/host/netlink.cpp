#include "xvrrp/netlink.hpp"

#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "xvrrp/config.hpp"
#include "xvrrp/error.hpp"

namespace xvrrp {

namespace {

template <class T, void (*Free)(T*)>
struct NlFree {
    void operator()(T* p) const noexcept {
        if (p) Free(p);
    }
};
using NlAddr = std::unique_ptr<nl_addr, NlFree<nl_addr, nl_addr_put>>;
using RtnlAddr = std::unique_ptr<rtnl_addr, NlFree<rtnl_addr, rtnl_addr_put>>;
using RtnlLink = std::unique_ptr<rtnl_link, NlFree<rtnl_link, rtnl_link_put>>;
using RtnlNeigh = std::unique_ptr<rtnl_neigh, NlFree<rtnl_neigh, rtnl_neigh_put>>;
using NlCache = std::unique_ptr<nl_cache, NlFree<nl_cache, nl_cache_free>>;
using RtnlRoute = std::unique_ptr<rtnl_route, NlFree<rtnl_route, rtnl_route_put>>;
using RtnlRule = std::unique_ptr<rtnl_rule, NlFree<rtnl_rule, rtnl_rule_put>>;

[[noreturn]] void fail(int nlerr, const std::string& what) {
    throw std::runtime_error(what + ": " + nl_geterror(nlerr));
}

int af(Family f) { return f == Family::V4 ? AF_INET : AF_INET6; }

NlAddr nl_address(const IpAddress& a, std::uint8_t prefix_len) {
    NlAddr addr(nl_addr_build(af(a.family), a.bytes.data(), a.size()));
    if (!addr) throw std::bad_alloc();
    nl_addr_set_prefixlen(addr.get(), prefix_len);
    return addr;
}

RtnlAddr rtnl_address(unsigned ifindex, const IpAddress& a, std::uint8_t prefix_len) {
    RtnlAddr ra(rtnl_addr_alloc());
    if (!ra) throw std::bad_alloc();
    rtnl_addr_set_ifindex(ra.get(), static_cast<int>(ifindex));
    rtnl_addr_set_family(ra.get(), af(a.family));
    const NlAddr local = nl_address(a, prefix_len);
    if (int err = rtnl_addr_set_local(ra.get(), local.get()); err < 0) fail(err, "rtnl_addr_set_local");
    rtnl_addr_set_prefixlen(ra.get(), prefix_len);
    return ra;
}

std::optional<IpAddress> from_nl(nl_addr* a) {
    if (!a) return std::nullopt;
    IpAddress out;
    if (nl_addr_get_family(a) == AF_INET && nl_addr_get_len(a) == 4) out.family = Family::V4;
    else if (nl_addr_get_family(a) == AF_INET6 && nl_addr_get_len(a) == 16) out.family = Family::V6;
    else return std::nullopt;
    std::memcpy(out.bytes.data(), nl_addr_get_binary_addr(a), out.size());
    return out;
}

RtnlNeigh fdb_entry(unsigned ifindex, const Mac& mac) {
    RtnlNeigh n(rtnl_neigh_alloc());
    if (!n) throw std::bad_alloc();
    NlAddr ll(nl_addr_build(AF_LLC, mac.data(), mac.size()));
    rtnl_neigh_set_family(n.get(), AF_BRIDGE);
    rtnl_neigh_set_ifindex(n.get(), static_cast<int>(ifindex));
    rtnl_neigh_set_lladdr(n.get(), ll.get());
    rtnl_neigh_set_flags(n.get(), NTF_SELF);
    rtnl_neigh_set_state(n.get(), NUD_PERMANENT);
    return n;
}

std::uint8_t route_type(config::RouteType t) {
    switch (t) {
        case config::RouteType::Unicast: return RTN_UNICAST;
        case config::RouteType::Blackhole: return RTN_BLACKHOLE;
        case config::RouteType::Unreachable: return RTN_UNREACHABLE;
        case config::RouteType::Prohibit: return RTN_PROHIBIT;
    }
    return RTN_UNICAST;
}

RtnlRoute rtnl_route_of(const config::Route& r, unsigned ifindex) {
    RtnlRoute route(rtnl_route_alloc());
    if (!route) throw std::bad_alloc();
    rtnl_route_set_family(route.get(), af(r.to.address.family));
    const NlAddr dst = nl_address(r.to.address, r.to.len);
    if (int err = rtnl_route_set_dst(route.get(), dst.get()); err < 0) fail(err, "rtnl_route_set_dst");
    rtnl_route_set_table(route.get(), r.table);
    rtnl_route_set_type(route.get(), route_type(r.type));
    rtnl_route_set_protocol(route.get(), RTPROT_STATIC);
    if (r.metric) rtnl_route_set_priority(route.get(), r.metric);
    if (r.scope) rtnl_route_set_scope(route.get(), *r.scope);  // else libnl's guess: link without a gateway
    if (r.src) {
        const NlAddr src = nl_address(*r.src, r.src->family == Family::V4 ? 32 : 128);
        if (int err = rtnl_route_set_pref_src(route.get(), src.get()); err < 0) fail(err, "rtnl_route_set_pref_src");
    }
    if (r.type == config::RouteType::Unicast) {
        rtnl_nexthop* nh = rtnl_route_nh_alloc();
        if (!nh) throw std::bad_alloc();
        rtnl_route_nh_set_ifindex(nh, static_cast<int>(ifindex));
        if (r.via) {
            const NlAddr gw = nl_address(*r.via, r.via->family == Family::V4 ? 32 : 128);
            rtnl_route_nh_set_gateway(nh, gw.get());
        }
        rtnl_route_add_nexthop(route.get(), nh);  // the route owns it now
    }
    return route;
}

RtnlRule rtnl_rule_of(const config::Rule& r) {
    RtnlRule rule(rtnl_rule_alloc());
    if (!rule) throw std::bad_alloc();
    rtnl_rule_set_family(rule.get(), af(r.family));
    if (r.from) {
        const NlAddr a = nl_address(r.from->address, r.from->len);
        if (int err = rtnl_rule_set_src(rule.get(), a.get()); err < 0) fail(err, "rtnl_rule_set_src");
    }
    if (r.to) {
        const NlAddr a = nl_address(r.to->address, r.to->len);
        if (int err = rtnl_rule_set_dst(rule.get(), a.get()); err < 0) fail(err, "rtnl_rule_set_dst");
    }
    rtnl_rule_set_table(rule.get(), r.table);
    rtnl_rule_set_action(rule.get(), FR_ACT_TO_TBL);
    if (r.priority) rtnl_rule_set_prio(rule.get(), *r.priority);
    if (!r.iif.empty()) rtnl_rule_set_iif(rule.get(), r.iif.c_str());
    if (!r.oif.empty()) rtnl_rule_set_oif(rule.get(), r.oif.c_str());
    if (r.fwmark) rtnl_rule_set_mark(rule.get(), *r.fwmark);
    return rule;
}

}  // namespace

unsigned Rtnl::ensure_macvlan(unsigned parent, const std::string& name, const Mac& mac) {
    if (const auto existing = ifindex(name)) {
        rtnl_link* raw = nullptr;
        if (int err = rtnl_link_get_kernel(sock_.get(), static_cast<int>(*existing), nullptr, &raw); err < 0)
            fail(err, "read link " + name);
        RtnlLink link(raw);
        const char* kind = rtnl_link_get_type(link.get());
        if (!kind || std::string(kind) != "macvlan" || rtnl_link_get_link(link.get()) != static_cast<int>(parent) || this->mac(*existing) != mac)
            throw std::runtime_error("vmac_interface " + name + " exists and is not a macvlan of ours (on ifindex " +
                                     std::to_string(parent) + " with " + to_string(mac) + ")");
    } else {
        RtnlLink link(rtnl_link_macvlan_alloc());
        if (!link) throw std::bad_alloc();
        rtnl_link_set_name(link.get(), name.c_str());
        rtnl_link_set_link(link.get(), static_cast<int>(parent));
        NlAddr ll(nl_addr_build(AF_LLC, mac.data(), mac.size()));
        rtnl_link_set_addr(link.get(), ll.get());
        rtnl_link_macvlan_set_mode(link.get(), rtnl_link_macvlan_str2mode("private"));  // as keepalived's
        if (int err = rtnl_link_add(sock_.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0 && err != -NLE_EXIST)
            fail(err, "create vmac_interface " + name);
    }
    const auto index = ifindex(name);
    if (!index) throw std::runtime_error("vmac_interface " + name + " vanished after its creation");
    // Answer ARP only for its own addresses (else it would answer for the parent's with the
    // virtual MAC); no link-local of its own. Then up.
    const std::string v4 = "/proc/sys/net/ipv4/conf/" + name + "/", v6 = "/proc/sys/net/ipv6/conf/" + name + "/";
    for (const auto& [path, value] : {std::pair{v4 + "arp_ignore", "1"}, std::pair{v4 + "arp_announce", "2"},
                                      std::pair{v6 + "addr_gen_mode", "1"}}) {  // 1: IN6_ADDR_GEN_MODE_NONE, before it is up
        std::ofstream f(path);
        if (!(f << value << "\n") || !f.flush())
            throw std::runtime_error("vmac_interface " + name + ": cannot write " + path);
    }
    RtnlLink change(rtnl_link_alloc());
    if (!change) throw std::bad_alloc();
    rtnl_link_set_flags(change.get(), IFF_UP);
    RtnlLink orig(rtnl_link_alloc());
    if (!orig) throw std::bad_alloc();
    rtnl_link_set_ifindex(orig.get(), static_cast<int>(*index));
    rtnl_link_set_name(orig.get(), name.c_str());
    if (int err = rtnl_link_change(sock_.get(), orig.get(), change.get(), 0); err < 0) fail(err, "set vmac_interface " + name + " up");
    return *index;
}

void Rtnl::delete_link(const std::string& name) {
    RtnlLink link(rtnl_link_alloc());
    if (!link) throw std::bad_alloc();
    rtnl_link_set_name(link.get(), name.c_str());
    const int err = rtnl_link_delete(sock_.get(), link.get());
    if (err < 0 && err != -NLE_NODEV && err != -NLE_OBJ_NOTFOUND) fail(err, "delete " + name);
}

void Rtnl::add_route(const config::Route& r, unsigned ifindex) {
    RtnlRoute route = rtnl_route_of(r, ifindex);
    const int err = rtnl_route_add(sock_.get(), route.get(), NLM_F_CREATE | NLM_F_REPLACE);
    if (err < 0) fail(err, "add route " + config::route_text(r, "ifindex " + std::to_string(ifindex)));
}

void Rtnl::remove_route(const config::Route& r, unsigned ifindex) {
    RtnlRoute route = rtnl_route_of(r, ifindex);
    const int err = rtnl_route_delete(sock_.get(), route.get(), 0);
    if (err < 0 && err != -NLE_OBJ_NOTFOUND && err != -NLE_NOADDR && err != -NLE_NODEV)
        fail(err, "remove route " + config::route_text(r, "ifindex " + std::to_string(ifindex)));
}

// NLM_F_EXCL: the kernel refuses a rule equal to one there (EEXIST), where it would otherwise
// add a duplicate each time the instance becomes MASTER.
void Rtnl::add_rule(const config::Rule& r) {
    RtnlRule rule = rtnl_rule_of(r);
    const int err = rtnl_rule_add(sock_.get(), rule.get(), NLM_F_CREATE | NLM_F_EXCL);
    if (err < 0 && err != -NLE_EXIST) fail(err, "add rule " + config::rule_text(r));
}

void Rtnl::remove_rule(const config::Rule& r) {
    RtnlRule rule = rtnl_rule_of(r);
    const int err = rtnl_rule_delete(sock_.get(), rule.get(), 0);
    if (err < 0 && err != -NLE_OBJ_NOTFOUND && err != -NLE_NOADDR) fail(err, "remove rule " + config::rule_text(r));
}

void Rtnl::SockDeleter::operator()(nl_sock* s) const noexcept { nl_socket_free(s); }

Rtnl::Rtnl() : sock_(nl_socket_alloc()) {
    if (!sock_) throw std::bad_alloc();
    if (int err = nl_connect(sock_.get(), NETLINK_ROUTE); err < 0) fail(err, "connect rtnetlink");
}

Rtnl::~Rtnl() = default;
Rtnl::Rtnl(Rtnl&&) noexcept = default;
Rtnl& Rtnl::operator=(Rtnl&&) noexcept = default;

std::optional<unsigned> Rtnl::ifindex(const std::string& name) const {
    rtnl_link* raw = nullptr;
    if (rtnl_link_get_kernel(sock_.get(), 0, name.c_str(), &raw) < 0) return std::nullopt;
    RtnlLink link(raw);
    return static_cast<unsigned>(rtnl_link_get_ifindex(link.get()));
}

std::variant<Rtnl::LinkReading, int> Rtnl::read_link(unsigned ifindex) const {
    if (links_)
        if (const auto it = links_->find(ifindex); it != links_->end()) return it->second;
    rtnl_link* raw = nullptr;
    if (int err = rtnl_link_get_kernel(sock_.get(), static_cast<int>(ifindex), nullptr, &raw); err < 0) return err;
    RtnlLink link(raw);
    LinkReading r{.flags = rtnl_link_get_flags(link.get())};
    if (nl_addr* ll = rtnl_link_get_addr(link.get()); ll && nl_addr_get_len(ll) == Mac{}.size()) {
        r.mac.emplace();
        std::memcpy(r.mac->data(), nl_addr_get_binary_addr(ll), r.mac->size());
    }
    if (links_) links_->emplace(ifindex, r);
    return r;
}

void Rtnl::remember_links(bool on) const {
    if (on) {
        links_.emplace();
    } else {
        links_.reset();
        filters_.reset();
    }
}

const std::set<std::pair<unsigned, Mac>>& Rtnl::unicast_filters() const {
    if (filters_) return *filters_;
    auto& out = filters_.emplace();
    nl_cache* raw = nullptr;
    // Every family's neighbours: the interfaces' own filters are the AF_BRIDGE ones marked self.
    if (rtnl_neigh_alloc_cache_flags(sock_.get(), &raw, NL_CACHE_AF_ITER) < 0) return out;  // unknown: each add asks
    NlCache cache(raw);
    for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
        auto* n = reinterpret_cast<rtnl_neigh*>(o);
        nl_addr* ll = rtnl_neigh_get_lladdr(n);
        if (rtnl_neigh_get_family(n) != AF_BRIDGE || !(rtnl_neigh_get_flags(n) & NTF_SELF) || !ll ||
            nl_addr_get_len(ll) != Mac{}.size())
            continue;
        Mac m;
        std::memcpy(m.data(), nl_addr_get_binary_addr(ll), m.size());
        out.emplace(static_cast<unsigned>(rtnl_neigh_get_ifindex(n)), m);
    }
    return out;
}

Mac Rtnl::mac(unsigned ifindex) const {
    const auto link = read_link(ifindex);
    if (const int* err = std::get_if<int>(&link)) fail(*err, "read link " + std::to_string(ifindex));
    const auto& m = std::get<LinkReading>(link).mac;
    if (!m) throw std::runtime_error("interface " + std::to_string(ifindex) + " has no Ethernet address");
    return *m;
}

namespace {
std::vector<InterfaceAddress> read_addresses(nl_sock* sock) {
    nl_cache* raw = nullptr;
    if (int err = rtnl_addr_alloc_cache(sock, &raw); err < 0) fail(err, "read addresses");
    NlCache cache(raw);
    std::vector<InterfaceAddress> out;
    for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
        auto* a = reinterpret_cast<rtnl_addr*>(o);
        if (const auto ip = from_nl(rtnl_addr_get_local(a)))
            out.push_back({static_cast<unsigned>(rtnl_addr_get_ifindex(a)), *ip, rtnl_addr_get_scope(a)});
    }
    return out;
}
}  // namespace

std::optional<IpAddress> primary_address(const std::vector<InterfaceAddress>& table, unsigned ifindex, Family family,
                                         const std::vector<IpAddress>& except) {
    const int want_scope = family == Family::V4 ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
    for (const InterfaceAddress& a : table)
        if (a.ifindex == ifindex && a.ip.family == family && a.scope == want_scope &&
            std::find(except.begin(), except.end(), a.ip) == except.end())
            return a.ip;
    return std::nullopt;
}

std::vector<InterfaceAddress> Rtnl::address_table() const { return read_addresses(sock_.get()); }

std::vector<IpAddress> Rtnl::addresses(unsigned ifindex) const {
    std::vector<IpAddress> out;
    for (const InterfaceAddress& a : read_addresses(sock_.get()))
        if (a.ifindex == ifindex) out.push_back(a.ip);
    return out;
}

bool Rtnl::link_up(unsigned ifindex) const {
    const auto link = read_link(ifindex);
    const auto* r = std::get_if<LinkReading>(&link);
    return r && (r->flags & IFF_UP) && (r->flags & IFF_LOWER_UP);
}

void Rtnl::add_address(unsigned ifindex, const IpAddress& a, std::uint8_t prefix_len, const std::string& label,
                       std::uint8_t scope) {
    RtnlAddr ra = rtnl_address(ifindex, a, prefix_len);
    if (a.family == Family::V6) rtnl_addr_set_flags(ra.get(), IFA_F_NODAD);
    if (!label.empty()) rtnl_addr_set_label(ra.get(), label.c_str());
    rtnl_addr_set_scope(ra.get(), scope);
    const int err = rtnl_addr_add(sock_.get(), ra.get(), NLM_F_REPLACE);
    // Linux 6.3 on refuses a secondary IPv4 address whose scope is not its subnet's primary's.
    const std::string hint = err == -NLE_INVAL && scope != 0 && a.family == Family::V4
                                 ? " (the scope must be that of the interface's address in the same subnet)"
                                 : "";
    if (err < 0 && err != -NLE_EXIST) fail(err, "add " + a.to_string() + " to ifindex " + std::to_string(ifindex) + hint);
}

void Rtnl::remove_address(unsigned ifindex, const IpAddress& a, std::uint8_t prefix_len) {
    RtnlAddr ra = rtnl_address(ifindex, a, prefix_len);
    const int err = rtnl_addr_delete(sock_.get(), ra.get(), 0);
    // Its interface gone (a vmac_interface deleted with its router) is the address gone too.
    if (err < 0 && err != -NLE_NOADDR && err != -NLE_OBJ_NOTFOUND && err != -NLE_NODEV)
        fail(err, "remove " + a.to_string() + " from ifindex " + std::to_string(ifindex));
}

void Rtnl::add_unicast_mac(unsigned ifindex, const Mac& mac) {
    if (links_ && unicast_filters().count({ifindex, mac})) return;  // there already: adding it is a no-op
    RtnlNeigh n = fdb_entry(ifindex, mac);
    const int err = rtnl_neigh_add(sock_.get(), n.get(), NLM_F_CREATE | NLM_F_REPLACE);
    if (err < 0 && err != -NLE_EXIST) fail(err, "add " + to_string(mac) + " to the unicast filter");
    if (filters_) filters_->emplace(ifindex, mac);
}

bool Rtnl::unicast_filter_takes(unsigned ifindex, const Mac& mac) const {
    RtnlNeigh n = fdb_entry(ifindex, mac);
    const int err = rtnl_neigh_add(sock_.get(), n.get(), NLM_F_CREATE | NLM_F_EXCL);  // EXCL: one there stays
    if (err == -NLE_EXIST) return true;
    if (err == -NLE_OPNOTSUPP) return false;
    if (err < 0) fail(err, "try " + to_string(mac) + " on the unicast filter");
    if (const int del = rtnl_neigh_delete(sock_.get(), n.get(), 0); del < 0 && del != -NLE_OBJ_NOTFOUND)
        fail(del, "remove " + to_string(mac) + " from the unicast filter again");
    return true;
}

void Rtnl::remove_unicast_mac(unsigned ifindex, const Mac& mac) {
    RtnlNeigh n = fdb_entry(ifindex, mac);
    const int err = rtnl_neigh_delete(sock_.get(), n.get(), 0);
    if (err < 0 && err != -NLE_OBJ_NOTFOUND && err != -NLE_NOADDR) fail(err, "remove " + to_string(mac) + " from the unicast filter");
    if (filters_) filters_->erase({ifindex, mac});
}

NetlinkWatch::NetlinkWatch()
    : fd_(check_sys(::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE), "netlink socket")) {
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_LINK;
    check_sys(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), "bind netlink watch");
    // A transition of many VIPs sends a burst of address messages (our own): room for them, so
    // the watch overflows (and re-reads every link) only under real storms. FORCE needs
    // CAP_NET_ADMIN, which the daemon has; the plain option is the fallback.
    const int bytes = 8 << 20;
    if (::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) != 0)
        ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
}

namespace {
LinkChange link_change(const nlmsghdr* h) {
    const auto* ifi = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
    LinkChange c{.ifindex = static_cast<unsigned>(ifi->ifi_index),
                 .deleted = h->nlmsg_type == RTM_DELLINK,
                 .up = (ifi->ifi_flags & IFF_UP) && (ifi->ifi_flags & IFF_LOWER_UP)};
    int len = static_cast<int>(h->nlmsg_len) - static_cast<int>(NLMSG_LENGTH(sizeof(ifinfomsg)));
    for (auto* a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == IFLA_IFNAME)
            c.name.assign(static_cast<const char*>(RTA_DATA(a)), strnlen(static_cast<const char*>(RTA_DATA(a)), RTA_PAYLOAD(a)));
        if (a->rta_type == IFLA_ADDRESS && RTA_PAYLOAD(a) == sizeof(Mac)) {
            c.mac.emplace();
            std::memcpy(c.mac->data(), RTA_DATA(a), sizeof(Mac));
        }
    }
    return c;
}

// The interface's own address (IFA_LOCAL; IFA_ADDRESS where there is none, as for IPv6).
std::optional<AddressChange> address_change(const nlmsghdr* h) {
    const auto* ifa = static_cast<const ifaddrmsg*>(NLMSG_DATA(h));
    if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) return std::nullopt;
    const std::size_t size = ifa->ifa_family == AF_INET ? 4 : 16;
    std::optional<AddressChange> out;
    int len = static_cast<int>(h->nlmsg_len) - static_cast<int>(NLMSG_LENGTH(sizeof(ifaddrmsg)));
    for (auto* a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if ((a->rta_type != IFA_LOCAL && a->rta_type != IFA_ADDRESS) || RTA_PAYLOAD(a) != size) continue;
        if (out && a->rta_type == IFA_ADDRESS) continue;  // IFA_LOCAL came first: it is ours
        out = AddressChange{.ifindex = ifa->ifa_index, .address = {}, .added = h->nlmsg_type == RTM_NEWADDR};
        out->address.family = ifa->ifa_family == AF_INET ? Family::V4 : Family::V6;
        std::memcpy(out->address.bytes.data(), RTA_DATA(a), size);
        if (a->rta_type == IFA_LOCAL) break;
    }
    return out;
}
}  // namespace

NetlinkChanges NetlinkWatch::drain() {
    NetlinkChanges out;
    std::array<char, 32768> buf{};
    for (;;) {
        const ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
        if (n < 0 && errno == ENOBUFS) {
            out.overflowed = true;
            continue;
        }
        if (n <= 0) break;
        auto len = static_cast<unsigned>(n);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
            if ((h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK) &&
                h->nlmsg_len >= NLMSG_LENGTH(sizeof(ifinfomsg))) {
                out.links.push_back(link_change(h));
                continue;
            }
            if ((h->nlmsg_type != RTM_NEWADDR && h->nlmsg_type != RTM_DELADDR) || h->nlmsg_len < NLMSG_LENGTH(sizeof(ifaddrmsg)))
                continue;
            const auto* ifa = static_cast<const ifaddrmsg*>(NLMSG_DATA(h));
            if (auto change = address_change(h)) out.addresses.push_back(*change);
            if (h->nlmsg_type != RTM_DELADDR) continue;
            auto& lost = out.lost_address;
            if (std::find(lost.begin(), lost.end(), ifa->ifa_index) == lost.end()) lost.push_back(ifa->ifa_index);
        }
    }
    return out;
}

}  // namespace xvrrp
