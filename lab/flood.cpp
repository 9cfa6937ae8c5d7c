#include "flood.hpp"

#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <thread>

#include "xvrrp/error.hpp"
#include "xvrrp/unique_fd.hpp"

namespace xvrrp::test {

FloodResult flood(const Netns& ns, const std::string& ifname, const std::vector<Bytes>& frames, std::uint64_t count,
                  std::chrono::milliseconds limit) {
    UniqueFd fd;
    unsigned ifindex = 0;
    {
        NetnsScope in(ns);  // the socket belongs to the namespace it was made in
        fd.reset(check_sys(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0), "AF_PACKET socket"));
        ifindex = ::if_nametoindex(ifname.c_str());
    }
    if (!ifindex || frames.empty()) throw std::runtime_error("flood: no interface " + ifname + " or no frames");
    const int one = 1;
    ::setsockopt(fd.get(), SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));

    constexpr std::size_t kBatch = 64;
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_ifindex = static_cast<int>(ifindex);
    addr.sll_halen = 6;
    std::array<iovec, kBatch> iov{};
    std::array<mmsghdr, kBatch> msgs{};
    for (std::size_t i = 0; i < kBatch; ++i) {
        const Bytes& f = frames[i % frames.size()];
        iov[i] = {const_cast<std::uint8_t*>(f.data()), f.size()};
        msgs[i].msg_hdr.msg_name = &addr;
        msgs[i].msg_hdr.msg_namelen = sizeof(addr);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    // Batches start at a multiple of the frame count, so the round-robin order holds.
    const std::size_t batch = kBatch - kBatch % frames.size();
    FloodResult r;
    const auto t0 = std::chrono::steady_clock::now();
    while (r.sent < count && std::chrono::steady_clock::now() - t0 < limit) {
        const auto n = static_cast<unsigned>(std::min<std::uint64_t>(batch, count - r.sent));
        const int done = ::sendmmsg(fd.get(), msgs.data(), n, 0);
        if (done > 0) {
            r.sent += static_cast<std::uint64_t>(done) - static_cast<std::uint64_t>(done) % frames.size();
        } else if (errno == ENOBUFS || errno == EAGAIN) {
            std::this_thread::yield();  // the ring is full: the receiver is the bottleneck, as in a real flood
        } else {
            throw_errno(errno, "flood sendmmsg");
        }
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

std::vector<Bytes> alternating_adverts(const Mac& src_mac, const IpAddress& src, std::uint8_t vrid,
                                       std::uint8_t priority_a, std::uint8_t priority_b, const IpAddress& vip) {
    std::vector<Bytes> out;
    for (std::uint8_t p : {priority_a, priority_b}) {
        const VrrpAdvert a{.version = 3, .vrid = vrid, .priority = p, .adver_int_cs = 100, .addresses = {vip}};
        out.push_back(vrrp_frame(src_mac, src, vrrp_multicast_group(src.family), a));
    }
    return out;
}

}  // namespace xvrrp::test
