#include "xvrrp/sender.hpp"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#include "xvrrp/error.hpp"

namespace xvrrp {

FrameSender::FrameSender()
    // Protocol 0: this socket only sends, so it never copies received traffic.
    : fd_(check_sys(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), "AF_PACKET socket")) {
    // Straight to the driver: adverts are few and small, a queueing discipline adds only cost.
    const int one = 1;
    ::setsockopt(fd_.get(), SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
}

void FrameSender::queue(unsigned ifindex, Bytes frame) { frames_.emplace_back(ifindex, std::move(frame)); }

int FrameSender::flush() {
    constexpr std::size_t kBatch = 64;
    int sent = 0;
    for (std::size_t start = 0; start < frames_.size(); start += kBatch) {
        const std::size_t n = std::min(kBatch, frames_.size() - start);
        std::vector<sockaddr_ll> to(n);
        std::vector<iovec> iov(n);
        std::vector<mmsghdr> msgs(n);
        for (std::size_t i = 0; i < n; ++i) {
            auto& [ifindex, frame] = frames_[start + i];
            to[i].sll_family = AF_PACKET;
            to[i].sll_ifindex = static_cast<int>(ifindex);
            iov[i] = {frame.data(), frame.size()};
            msgs[i].msg_hdr.msg_name = &to[i];
            msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_ll);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        const int rc = ::sendmmsg(fd_.get(), msgs.data(), static_cast<unsigned>(n), 0);
        if (rc > 0) sent += rc;  // a frame the device refuses (link down) is lost, as on the wire
    }
    frames_.clear();
    return sent;
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

void UnicastSender::send(unsigned ifindex, const IpAddress& src, const IpAddress& dst, const Bytes& msg) {
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
    ::sendmsg(s.get(), &mh, MSG_DONTWAIT);  // best effort, as multicast adverts
}

}  // namespace xvrrp
