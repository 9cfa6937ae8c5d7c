#include "vip_probe.hpp"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "xvrrp/error.hpp"
#include "xvrrp/unique_fd.hpp"

namespace xvrrp::bench {

namespace {

using namespace std::chrono_literals;

const IpAddress kClientIp4 = IpAddress::from("192.0.2.10");

// The client's address in the VIP's /64: the VIP's prefix with interface id ::a.
IpAddress client_ip6_for(const IpAddress& vip) {
    IpAddress a = vip;
    std::fill(a.bytes.begin() + 8, a.bytes.end(), 0);
    a.bytes[15] = 0x0a;
    return a;
}

Bytes request_for(const ProbeTarget& t, const Mac& client_mac) {
    if (t.vip.family == Family::V4)
        return ethernet_frame(kBroadcastMac, client_mac, kEthArp, arp_packet(kArpRequest, client_mac, kClientIp4, Mac{}, t.vip));
    const IpAddress src = client_ip6_for(t.vip), dst = solicited_node(t.vip);
    const Bytes icmp = icmpv6_message(src, dst, kNdNeighborSolicit, 0, ns_body(t.vip, client_mac));
    return ethernet_frame(multicast_mac(dst), client_mac, kEthIpv6, ipv6_packet(src, dst, kIpProtoIcmpv6, 255, icmp));
}

// The VIP an answer is for, and the MAC it came from: an ARP reply or a neighbour advertisement.
std::optional<std::pair<IpAddress, Mac>> answer_in(const std::uint8_t* f, std::size_t n) {
    if (n < 14) return std::nullopt;
    const std::uint16_t type = static_cast<std::uint16_t>(f[12] << 8 | f[13]);
    std::pair<IpAddress, Mac> out;
    std::copy_n(f + 6, 6, out.second.begin());
    if (type == kEthArp && n >= 42 && f[20] == 0 && f[21] == kArpReply) {
        out.first.family = Family::V4;
        std::copy_n(f + 28, 4, out.first.bytes.begin());
        return out;
    }
    if (type == kEthIpv6 && n >= 14 + 40 + 24 && f[14 + 6] == kIpProtoIcmpv6 && f[54] == kNdNeighborAdvert) {
        out.first.family = Family::V6;
        std::copy_n(f + 54 + 8, 16, out.first.bytes.begin());
        return out;
    }
    return std::nullopt;
}

}  // namespace

std::vector<std::optional<SteadyTime>> probe_vips(const test::Netns& client, const std::vector<ProbeSegment>& segments,
                                                  const std::vector<ProbeTarget>& targets, std::chrono::milliseconds limit,
                                                  std::chrono::microseconds spacing, std::vector<ProbeBracket>* brackets) {
    std::vector<UniqueFd> fds;
    {
        test::NetnsScope in(client);
        for (const ProbeSegment& s : segments) {
            UniqueFd fd(check_sys(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL)), "probe socket"));
            sockaddr_ll addr{};
            addr.sll_family = AF_PACKET;
            addr.sll_protocol = htons(ETH_P_ALL);
            addr.sll_ifindex = static_cast<int>(::if_nametoindex(s.ifname.c_str()));
            if (!addr.sll_ifindex) throw std::runtime_error("probe: the client has no " + s.ifname);
            check_sys(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), "bind probe socket");
            fds.push_back(std::move(fd));
        }
    }
    std::vector<Bytes> requests;
    std::map<std::pair<int, IpAddress>, std::size_t> index;
    for (std::size_t i = 0; i < targets.size(); ++i) {
        const ProbeTarget& t = targets[i];
        requests.push_back(request_for(t, segments.at(static_cast<std::size_t>(t.segment)).client_mac));
        index[{t.segment, t.vip}] = i;
    }
    std::vector<std::optional<SteadyTime>> answered(targets.size());
    std::vector<ProbeBracket> sent(targets.size());  // the last two requests of each target
    std::vector<std::size_t> pending(targets.size());
    for (std::size_t i = 0; i < pending.size(); ++i) pending[i] = i;

    const auto end = std::chrono::steady_clock::now() + limit;
    std::vector<pollfd> polls;
    for (const auto& fd : fds) polls.push_back({fd.get(), POLLIN, 0});
    std::uint8_t buf[2048];
    while (!pending.empty() && std::chrono::steady_clock::now() < end) {
        for (const std::size_t i : pending) {
            const Bytes& r = requests[i];
            sent[i].unanswered = sent[i].asked;
            sent[i].asked = std::chrono::steady_clock::now();
            ::send(fds[static_cast<std::size_t>(targets[i].segment)].get(), r.data(), r.size(), MSG_DONTWAIT);  // a full queue: next round
        }
        const auto round = std::clamp<std::chrono::microseconds>(spacing * static_cast<long>(pending.size()), 2ms, 50ms);
        const auto round_end = std::chrono::steady_clock::now() + round;
        for (auto now = std::chrono::steady_clock::now(); now < round_end; now = std::chrono::steady_clock::now()) {
            const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(round_end - now).count();
            if (::poll(polls.data(), polls.size(), static_cast<int>(std::max<long>(wait, 1))) <= 0) continue;
            for (std::size_t s = 0; s < fds.size(); ++s) {
                if (!(polls[s].revents & POLLIN)) continue;
                for (ssize_t n; (n = ::recv(fds[s].get(), buf, sizeof(buf), MSG_DONTWAIT)) > 0;) {
                    const auto a = answer_in(buf, static_cast<std::size_t>(n));
                    if (!a || a->second != segments[s].want) continue;
                    const auto it = index.find({static_cast<int>(s), a->first});
                    if (it != index.end() && !answered[it->second]) answered[it->second] = std::chrono::steady_clock::now();
                }
            }
        }
        std::erase_if(pending, [&](std::size_t i) { return answered[i].has_value(); });
    }
    if (brackets) *brackets = std::move(sent);
    return answered;
}

}  // namespace xvrrp::bench
