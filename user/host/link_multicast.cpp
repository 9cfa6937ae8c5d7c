#include "xvrrp/link_multicast.hpp"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <spdlog/spdlog.h>

#include "xvrrp/packet.hpp"
#include "xvrrp/unique_fd.hpp"

namespace xvrrp {
namespace {

// SIOCADDMULTI / SIOCDELMULTI for mac on ifname: 0 or the errno. The kernel keeps one "global"
// use per address for these requests, so adding twice adds once and a removal takes only that.
int link_multicast(unsigned long request, const std::string& ifname, const Mac& mac) {
    const UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) return errno;
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    ifr.ifr_hwaddr.sa_family = AF_UNSPEC;
    std::memcpy(ifr.ifr_hwaddr.sa_data, mac.data(), mac.size());
    return ::ioctl(fd.get(), request, &ifr) == 0 ? 0 : errno;
}

Mac group_mac(Family f) { return multicast_mac(vrrp_multicast_group(f)); }

}  // namespace

VrrpGroupMacs::VrrpGroupMacs(std::string ifname) : ifname_(std::move(ifname)) {
    for (const Family f : {Family::V4, Family::V6})
        if (const int err = link_multicast(SIOCADDMULTI, ifname_, group_mac(f)))
            spdlog::warn("{}: could not put the VRRP group's MAC ({}) on its multicast list: {}; a NIC that filters "
                         "multicast will drop the peers' adverts",
                         ifname_, f == Family::V4 ? "224.0.0.18" : "ff02::12", std::strerror(err));
}

VrrpGroupMacs::~VrrpGroupMacs() { remove(); }

VrrpGroupMacs::VrrpGroupMacs(VrrpGroupMacs&& other) noexcept : ifname_(std::exchange(other.ifname_, {})) {}

VrrpGroupMacs& VrrpGroupMacs::operator=(VrrpGroupMacs&& other) noexcept {
    if (this != &other) {
        remove();
        ifname_ = std::exchange(other.ifname_, {});
    }
    return *this;
}

void VrrpGroupMacs::remove() noexcept {
    if (ifname_.empty()) return;
    // A link that is gone (ENODEV) took its list with it.
    for (const Family f : {Family::V4, Family::V6}) (void)link_multicast(SIOCDELMULTI, ifname_, group_mac(f));
    ifname_.clear();
}

}  // namespace xvrrp
