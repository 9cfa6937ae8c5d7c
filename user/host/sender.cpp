#include "xvrrp/sender.hpp"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "xvrrp/abi.h"
#include "xvrrp/error.hpp"

namespace xvrrp {

FrameSender::FrameSender()
    // Protocol 0: this socket only sends, so it never copies received traffic.
    : fd_(check_sys(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), "AF_PACKET socket")) {
    // Straight to the driver: adverts are few and small, a queueing discipline adds only cost.
    const int one = 1;
    ::setsockopt(fd_.get(), SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
    // Our announcements may claim VIPs; TC egress drops any other frame that does (bpf/egress.h).
    const unsigned mark = XVRRP_TX_MARK;
    check_sys(::setsockopt(fd_.get(), SOL_SOCKET, SO_MARK, &mark, sizeof(mark)), "SO_MARK");
}

void FrameSender::queue(unsigned ifindex, Bytes frame, std::uint32_t tag) {
    frames_.push_back({ifindex, std::move(frame), tag});
}

std::size_t FrameSender::send_run(std::size_t from, std::size_t to) {
    constexpr std::size_t kBatch = 64;
    std::array<sockaddr_ll, kBatch> addr{};
    std::array<iovec, kBatch> iov{};
    std::array<mmsghdr, kBatch> msgs{};
    std::size_t done = 0;
    while (from + done < to) {
        const std::size_t n = std::min(kBatch, to - from - done);
        for (std::size_t i = 0; i < n; ++i) {
            Queued& q = frames_[from + done + i];
            addr[i] = sockaddr_ll{};
            addr[i].sll_family = AF_PACKET;
            addr[i].sll_ifindex = static_cast<int>(q.ifindex);
            iov[i] = {q.frame.data(), q.frame.size()};
            msgs[i] = mmsghdr{};
            msgs[i].msg_hdr.msg_name = &addr[i];
            msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_ll);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        const int rc = ::sendmmsg(fd_.get(), msgs.data(), static_cast<unsigned>(n), 0);
        if (rc < 0) return done;  // the first of these was refused; errno says why
        done += static_cast<std::size_t>(rc);
        if (static_cast<std::size_t>(rc) < n) {
            // Partial: the kernel reports the refusal of the next frame on the next call only.
            const int again = ::sendmmsg(fd_.get(), &msgs[static_cast<std::size_t>(rc)], 1, 0);
            if (again < 1) return done;
            ++done;
        }
    }
    return done;
}

FlushReport FrameSender::flush() {
    FlushReport report;
    std::vector<SendFailure>& failed = report.failed;
    std::size_t next = 0;
    while (next < frames_.size()) {
        next += send_run(next, frames_.size());
        if (next == frames_.size()) break;
        int err = errno;
        // Transient (the device queue or socket buffer is full): one more try for this frame.
        if (err == ENOBUFS || err == EAGAIN) {
            if (send_run(next, next + 1) == 1) {
                ++next;
                continue;
            }
            err = errno;
        }
        failed.push_back({frames_[next].tag, err});
        ++next;  // skip only the refused frame
    }
    for (const Queued& q : frames_) report.tags.push_back(q.tag);
    std::sort(report.tags.begin(), report.tags.end());
    report.tags.erase(std::unique(report.tags.begin(), report.tags.end()), report.tags.end());
    frames_.clear();
    return report;
}

UniqueFd& UnicastSender::socket_for(Family f) {
    UniqueFd& s = f == Family::V4 ? v4_ : v6_;
    if (!s) {
        const int domain = f == Family::V4 ? AF_INET : AF_INET6;
        s.reset(check_sys(::socket(domain, SOCK_RAW | SOCK_CLOEXEC, kIpProtoVrrp), "raw VRRP socket"));
        const int hops = kVrrpTtl;
        if (f == Family::V4) check_sys(::setsockopt(s.get(), IPPROTO_IP, IP_TTL, &hops, sizeof(hops)), "IP_TTL");
        else check_sys(::setsockopt(s.get(), IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)), "IPV6_UNICAST_HOPS");
    }
    return s;
}

namespace {
// The one control message a unicast advert carries: its source address and interface.
template <class Info>
void set_pktinfo(msghdr& mh, int level, int type, const Info& info) {
    mh.msg_controllen = CMSG_SPACE(sizeof(Info));
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = level;
    c->cmsg_type = type;
    c->cmsg_len = CMSG_LEN(sizeof(Info));
    std::memcpy(CMSG_DATA(c), &info, sizeof(info));
}
}  // namespace

int UnicastSender::send(unsigned ifindex, const IpAddress& src, const IpAddress& dst, const Bytes& msg) {
    UniqueFd& s = socket_for(dst.family);
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in6_pktinfo))] = {};
    msghdr mh{};
    iovec iov{const_cast<std::uint8_t*>(msg.data()), msg.size()};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control;
    sockaddr_in to4{};
    sockaddr_in6 to6{};
    if (dst.family == Family::V4) {
        to4.sin_family = AF_INET;
        std::memcpy(&to4.sin_addr, dst.bytes.data(), 4);
        mh.msg_name = &to4;
        mh.msg_namelen = sizeof(to4);
        in_pktinfo pi{};
        pi.ipi_ifindex = static_cast<int>(ifindex);
        std::memcpy(&pi.ipi_spec_dst, src.bytes.data(), 4);
        set_pktinfo(mh, IPPROTO_IP, IP_PKTINFO, pi);
    } else {
        to6.sin6_family = AF_INET6;
        std::memcpy(&to6.sin6_addr, dst.bytes.data(), 16);
        to6.sin6_scope_id = ifindex;
        mh.msg_name = &to6;
        mh.msg_namelen = sizeof(to6);
        in6_pktinfo pi{};
        pi.ipi6_ifindex = ifindex;
        std::memcpy(&pi.ipi6_addr, src.bytes.data(), 16);
        set_pktinfo(mh, IPPROTO_IPV6, IPV6_PKTINFO, pi);
    }
    return ::sendmsg(s.get(), &mh, MSG_DONTWAIT) < 0 ? errno : 0;
}

}  // namespace xvrrp
