#include "capture.hpp"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "xvrrp/error.hpp"
#include "xvrrp/unique_fd.hpp"

namespace xvrrp::bench {

std::vector<SeenAdvert> capture_adverts(const test::Netns& ns, const std::string& ifname, std::chrono::milliseconds span,
                                        std::uint64_t* dropped) {
    UniqueFd fd;
    {
        test::NetnsScope in(ns);
        fd.reset(check_sys(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)), "capture socket"));
        // Only IPv4 VRRP reaches the socket: other traffic on the port (a scrape's megabytes, a
        // flood) would fill its buffer and drop adverts, and a dropped advert reads as a late one.
        sock_filter code[] = {
            BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),            // EtherType
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x0800, 0, 3),
            BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 14 + 9),        // IPv4 protocol
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kIpProtoVrrp, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, 256),
            BPF_STMT(BPF_RET | BPF_K, 0),
        };
        sock_fprog prog{.len = static_cast<unsigned short>(std::size(code)), .filter = code};
        check_sys(::setsockopt(fd.get(), SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)), "capture filter");
        sockaddr_ll addr{};
        addr.sll_family = AF_PACKET;
        addr.sll_protocol = htons(ETH_P_ALL);  // a bridge port: only taps see what the bridge takes
        addr.sll_ifindex = static_cast<int>(::if_nametoindex(ifname.c_str()));
        check_sys(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), "bind capture");
    }
    const int one = 1;
    check_sys(::setsockopt(fd.get(), SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)), "SO_TIMESTAMPNS");
    std::vector<SeenAdvert> seen;
    const auto end = std::chrono::steady_clock::now() + span;
    std::uint8_t buf[256];
    char control[256];
    while (std::chrono::steady_clock::now() < end) {
        pollfd p{fd.get(), POLLIN, 0};
        if (::poll(&p, 1, 20) <= 0) continue;
        iovec iov{buf, sizeof(buf)};
        msghdr m{};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = control;
        m.msg_controllen = sizeof(control);
        const ssize_t n = ::recvmsg(fd.get(), &m, MSG_DONTWAIT);
        // Ethernet, then IPv4 (the frame as it was on the wire, tags stripped by the kernel).
        if (n < 14 + 20 + 8 || buf[12] != 0x08 || buf[13] != 0x00 || buf[14 + 9] != kIpProtoVrrp) continue;
        SeenAdvert a{};
        a.src.family = Family::V4;
        std::copy_n(buf + 14 + 12, 4, a.src.bytes.begin());
        a.priority = buf[14 + 20 + 2];
        for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
                timespec ts{};
                std::memcpy(&ts, CMSG_DATA(c), sizeof(ts));
                a.ns = std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
                seen.push_back(a);
            }
    }
    tpacket_stats stats{};
    socklen_t len = sizeof(stats);
    if (::getsockopt(fd.get(), SOL_PACKET, PACKET_STATISTICS, &stats, &len) == 0 && dropped) *dropped = stats.tp_drops;
    return seen;
}

}  // namespace xvrrp::bench
