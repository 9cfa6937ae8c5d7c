#include "xvrrp/link_multicast.hpp"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <spdlog/spdlog.h>

#include "xvrrp/unique_fd.hpp"

namespace xvrrp {
namespace {

// SIOCADDMULTI / SIOCDELMULTI for mac on ifname: 0 or the errno. The kernel keeps one "global"
// use per address for these requests, apart from the uses of sockets and addresses: adding
// twice adds once, and a removal takes only that use.
int link_multicast(unsigned long request, const std::string& ifname, const Mac& mac) {
    const UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) return errno;
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    ifr.ifr_hwaddr.sa_family = AF_UNSPEC;
    std::memcpy(ifr.ifr_hwaddr.sa_data, mac.data(), mac.size());
    return ::ioctl(fd.get(), request, &ifr) == 0 ? 0 : errno;
}

}  // namespace

LinkMulticastMacs::LinkMulticastMacs(std::string ifname) : ifname_(std::move(ifname)) { set_needs({}, {}); }

LinkMulticastMacs::~LinkMulticastMacs() { remove_all(); }

LinkMulticastMacs::LinkMulticastMacs(LinkMulticastMacs&& other) noexcept
    : ifname_(std::exchange(other.ifname_, {})), macs_(std::exchange(other.macs_, {})), warned_(std::exchange(other.warned_, {})) {}

LinkMulticastMacs& LinkMulticastMacs::operator=(LinkMulticastMacs&& other) noexcept {
    if (this != &other) {
        remove_all();
        ifname_ = std::exchange(other.ifname_, {});
        macs_ = std::exchange(other.macs_, {});
        warned_ = std::exchange(other.warned_, {});
    }
    return *this;
}

void LinkMulticastMacs::set_needs(const std::vector<IpAddress>& vips, const std::vector<IpAddress>& groups) {
    std::set<Mac> wanted;
    for (const Family f : {Family::V4, Family::V6}) wanted.insert(multicast_mac(vrrp_multicast_group(f)));
    for (const auto& v : vips)
        if (v.family == Family::V6) wanted.insert(multicast_mac(solicited_node(v)));
    for (const auto& g : groups) wanted.insert(multicast_mac(g));
    for (auto it = macs_.begin(); it != macs_.end();) {
        if (wanted.count(*it)) {
            ++it;
            continue;
        }
        (void)link_multicast(SIOCDELMULTI, ifname_, *it);  // one left behind costs a frame filtered later
        it = macs_.erase(it);
    }
    for (const Mac& m : wanted)
        if (!macs_.count(m)) add(m);
}

void LinkMulticastMacs::add(const Mac& mac) {
    if (const int err = link_multicast(SIOCADDMULTI, ifname_, mac)) {
        if (!warned_.insert(mac).second) return;  // a pass that retries every second must not log every second
        spdlog::warn("{}: could not put {} on its multicast list: {}; a NIC that filters multicast will drop what XDP "
                     "must see there",
                     ifname_, to_string(mac), std::strerror(err));
        return;
    }
    macs_.insert(mac);
}

void LinkMulticastMacs::remove_all() noexcept {
    if (ifname_.empty()) return;
    // A link that is gone (ENODEV) took its list with it.
    for (const Mac& m : macs_) (void)link_multicast(SIOCDELMULTI, ifname_, m);
    macs_.clear();
    ifname_.clear();
}

}  // namespace xvrrp
