// The multicast MACs XDP must see on a link, on the link's multicast list (what `ip maddr`
// shows). A NIC drops a multicast frame whose MAC is not on its filter before XDP runs; veth
// filters nothing, a macvlan does (the labs that show it run on one). Two kinds are needed:
// - the VRRP groups' (01:00:5e:00:00:12, 33:33:00:00:00:12, and any other group an instance
//   advertises on): without them a backup never hears the master and becomes one too. keepalived
//   gets them from its sockets' group memberships;
// - the solicited-node group of every IPv6 VIP XDP answers for (33:33:ff:XX:XX:XX): the kernel
//   joins it only for addresses on the link, and a MASTER without accept mode holds none, so a
//   client's first neighbour solicitation would never reach XDP.
// They are the link's own entries (SIOCADDMULTI, as `ip maddr add`), not a socket's membership,
// so they outlive the process: through a crash restart or an upgrade XDP goes on hearing adverts
// and solicitations. They go when the object does (a clean stop, an interface no longer used)
// or when a VIP leaves the configuration; a daemon that dies leaves them, which costs nothing.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "xvrrp/packet.hpp"

namespace xvrrp {

class LinkMulticastMacs {
public:
    // Adds the VRRP groups' MACs to ifname's list. An entry there already (an earlier daemon, an
    // operator's `ip maddr add`, which is the same kind of entry and goes when this one does) is
    // no error; a link that cannot have a list is logged and the daemon runs on.
    explicit LinkMulticastMacs(std::string ifname);
    ~LinkMulticastMacs();
    LinkMulticastMacs(LinkMulticastMacs&& other) noexcept;
    LinkMulticastMacs& operator=(LinkMulticastMacs&& other) noexcept;
    LinkMulticastMacs(const LinkMulticastMacs&) = delete;
    LinkMulticastMacs& operator=(const LinkMulticastMacs&) = delete;

    // From now on, beside the VRRP groups: the solicited-node MACs of these IPv6 VIPs (IPv4 ones
    // need none) and the MACs of these other advert groups (an instance's multicast_groups). What
    // is new is added, what nothing needs any more is removed.
    void set_needs(const std::vector<IpAddress>& vips, const std::vector<IpAddress>& groups);
    [[nodiscard]] const std::set<Mac>& macs() const { return macs_; }

private:
    void add(const Mac& mac);
    void remove_all() noexcept;
    std::string ifname_;  // empty: moved from
    std::set<Mac> macs_;  // on the list by this object
    std::set<Mac> warned_;  // refused once: asked again on every pass, logged once
};

}  // namespace xvrrp
