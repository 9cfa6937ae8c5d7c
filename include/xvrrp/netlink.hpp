// Interface facts and address changes over rtnetlink (libnl-route-3), and a
// watch for link and address changes: links that go down or away fault their
// instances, and a master restores a VIP someone removed.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "xvrrp/packet.hpp"
#include "xvrrp/unique_fd.hpp"

struct nl_sock;

namespace xvrrp {

namespace config {
struct Route;
struct Rule;
}  // namespace config

// One address of the host's, as an address dump gives it.
struct InterfaceAddress {
    unsigned ifindex = 0;
    IpAddress ip;
    int scope = 0;  // RT_SCOPE_*
};

// The interface's first address of the family other than except: IPv4 global scope, IPv6
// link-local (RFC 9568 5.1.2.1: VRRP over IPv6 is sent from the link-local address).
[[nodiscard]] std::optional<IpAddress> primary_address(const std::vector<InterfaceAddress>& table, unsigned ifindex,
                                                       Family family, const std::vector<IpAddress>& except = {});

class Rtnl {
public:
    Rtnl();  // connects; throws on failure
    ~Rtnl();
    Rtnl(Rtnl&&) noexcept;
    Rtnl& operator=(Rtnl&&) noexcept;

    [[nodiscard]] std::optional<unsigned> ifindex(const std::string& name) const;
    [[nodiscard]] Mac mac(unsigned ifindex) const;
    // Every address of every interface (one dump): read once for a pass over many instances, as
    // a dump per instance costs O(instances x addresses).
    [[nodiscard]] std::vector<InterfaceAddress> address_table() const;
    // Every address on the interface (one dump).
    [[nodiscard]] std::vector<IpAddress> addresses(unsigned ifindex) const;
    // Administratively up with carrier; false when the link is gone.
    [[nodiscard]] bool link_up(unsigned ifindex) const;
    // For the length of one pass over many instances: link_up() and mac() answer from one read
    // per interface, and add_unicast_mac() skips a MAC one dump of the filters shows there
    // already, instead of a netlink round trip per instance each (a thousand of them froze an
    // upgrade for 19 ms). Changes meanwhile arrive through the NetlinkWatch as always.
    void remember_links(bool on) const;

    // Idempotent: an address already there (or already gone) is not an error.
    // nodad: an IPv6 VIP must answer at once, not after duplicate address detection.
    // label: IPv4 only, empty for the interface's name; scope: RT_SCOPE_*.
    void add_address(unsigned ifindex, const IpAddress& a, std::uint8_t prefix_len, const std::string& label = {},
                     std::uint8_t scope = 0);
    void remove_address(unsigned ifindex, const IpAddress& a, std::uint8_t prefix_len);
    // Lets the interface receive frames sent to mac (its unicast filter, as `bridge fdb add ... self`).
    void add_unicast_mac(unsigned ifindex, const Mac& mac);
    // Whether the interface's unicast filter can take mac: there already, or added and at once
    // removed again (an entry this did not add is never removed). False when the link refuses
    // such entries (EOPNOTSUPP: a macvlan or ipvlan receives only its own MAC); other errors throw.
    [[nodiscard]] bool unicast_filter_takes(unsigned ifindex, const Mac& mac) const;
    // keepalived's vmac interface: a macvlan `name` on parent with this MAC, up, answering ARP only
    // for its own addresses, without an IPv6 link-local of its own (both routers would have the
    // same one). An existing one on that parent with that MAC is taken as it is (a restart after a
    // crash); one that is something else is an error. Its ifindex.
    unsigned ensure_macvlan(unsigned parent, const std::string& name, const Mac& mac);
    void delete_link(const std::string& name);  // gone already: not an error
    // Virtual routes (a unicast one on ifindex) and rules; idempotent like the addresses.
    void add_route(const config::Route& r, unsigned ifindex);
    void remove_route(const config::Route& r, unsigned ifindex);
    void add_rule(const config::Rule& r);
    void remove_rule(const config::Rule& r);
    void remove_unicast_mac(unsigned ifindex, const Mac& mac);

private:
    struct SockDeleter {
        void operator()(nl_sock* s) const noexcept;
    };
    struct LinkReading {
        unsigned flags = 0;
        std::optional<Mac> mac;  // none: not an Ethernet address
    };
    // The link as the kernel has it, or the netlink error (negative) reading it.
    [[nodiscard]] std::variant<LinkReading, int> read_link(unsigned ifindex) const;
    // Every interface's own unicast filter entries (one dump), read at the first need of a pass.
    [[nodiscard]] const std::set<std::pair<unsigned, Mac>>& unicast_filters() const;

    std::unique_ptr<nl_sock, SockDeleter> sock_;
    // While remember_links(true):
    mutable std::optional<std::map<unsigned, LinkReading>> links_;
    mutable std::optional<std::set<std::pair<unsigned, Mac>>> filters_;
};

// What a link is now, from RTM_NEWLINK / RTM_DELLINK.
struct LinkChange {
    unsigned ifindex = 0;
    std::string name;
    bool deleted = false;
    bool up = false;  // administratively up and with carrier (IFF_UP and IFF_LOWER_UP)
    std::optional<Mac> mac;  // its Ethernet address (IFLA_ADDRESS), where it has one
};

// An address added to or removed from an interface, from RTM_NEWADDR / RTM_DELADDR.
struct AddressChange {
    unsigned ifindex = 0;
    IpAddress address;
    bool added = false;
};

struct NetlinkChanges {
    std::vector<unsigned> lost_address;  // ifindexes that lost an address
    std::vector<AddressChange> addresses;  // in the order the kernel sent them
    std::vector<LinkChange> links;       // in the order the kernel sent them
    bool overflowed = false;             // the socket dropped messages (ENOBUFS): re-read everything
};

// A netlink socket subscribed to address and link changes; readable when something changed.
class NetlinkWatch {
public:
    NetlinkWatch();
    [[nodiscard]] int fd() const { return fd_.get(); }
    // Drains pending messages.
    NetlinkChanges drain();

private:
    UniqueFd fd_;
};

}  // namespace xvrrp
