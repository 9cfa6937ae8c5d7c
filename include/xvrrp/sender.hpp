// Sending what a master sends: whole Ethernet frames (multicast adverts from
// the virtual MAC, gratuitous ARP, unsolicited NA) through one AF_PACKET
// socket, batched with sendmmsg; and unicast adverts through raw IP sockets.
#pragma once

#include <vector>

#include "xvrrp/packet.hpp"
#include "xvrrp/unique_fd.hpp"

namespace xvrrp {

class FrameSender {
public:
    FrameSender();
    void queue(unsigned ifindex, Bytes frame);
    // Sends everything queued, in as few system calls as it takes; returns frames sent.
    int flush();

private:
    UniqueFd fd_;
    std::vector<std::pair<unsigned, Bytes>> frames_;
};

// VRRP to unicast peers (RFC 9568 allows it; keepalived's unicast_peer): the
// kernel builds the IP header, with TTL / hop limit 255.
class UnicastSender {
public:
    void send(unsigned ifindex, const IpAddress& src, const IpAddress& dst, const Bytes& vrrp_message);

private:
    UniqueFd& socket_for(Family f);
    UniqueFd v4_, v6_;
};

}  // namespace xvrrp
