// The VRRP groups' MACs on an interface's multicast list (what `ip maddr` shows). A NIC drops a
// multicast frame whose MAC is not on its filter before XDP runs, so without these a backup on
// real hardware (or a macvlan) never hears the master and becomes one too; veth filters nothing,
// which is why only the macvlan lab shows it. keepalived gets the same from its sockets' group
// memberships; these are the link's own entries (SIOCADDMULTI, as `ip maddr add`) instead, so
// they outlive the process: through a crash restart or an upgrade XDP goes on hearing adverts
// and its master-down timers stay true. They go when the object does (a clean stop, an
// interface no longer used); a daemon that dies leaves them, which costs nothing.
#pragma once

#include <string>

namespace xvrrp {

class VrrpGroupMacs {
public:
    // Adds 01:00:5e:00:00:12 (224.0.0.18) and 33:33:00:00:00:12 (ff02::12) to ifname's list.
    // One that is there already (an earlier daemon, an operator) is no error, and neither is a
    // link that cannot have any (no multicast list): that is logged, the daemon runs on.
    explicit VrrpGroupMacs(std::string ifname);
    ~VrrpGroupMacs();
    VrrpGroupMacs(VrrpGroupMacs&& other) noexcept;
    VrrpGroupMacs& operator=(VrrpGroupMacs&& other) noexcept;
    VrrpGroupMacs(const VrrpGroupMacs&) = delete;
    VrrpGroupMacs& operator=(const VrrpGroupMacs&) = delete;

private:
    void remove() noexcept;
    std::string ifname_;  // empty: moved from
};

}  // namespace xvrrp
