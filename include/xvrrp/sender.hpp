// Sending what a master sends: whole Ethernet frames (multicast adverts from
// the virtual MAC, gratuitous ARP, unsolicited NA) through one AF_PACKET
// socket, batched with sendmmsg; and unicast adverts through raw IP sockets.
#pragma once

#include <cstdint>
#include <vector>

#include "xvrrp/packet.hpp"
#include "xvrrp/unique_fd.hpp"

namespace xvrrp {

// A frame the kernel refused: whose it was (the tag given to queue) and why.
struct SendFailure {
    std::uint32_t tag;
    int error;  // errno
};

// What one flush did: every tag that had frames queued (once each), and the frames refused.
struct FlushReport {
    std::vector<std::uint32_t> tags;
    std::vector<SendFailure> failed;
};

class FrameSender {
public:
    FrameSender();
    // tag names the frame's owner in a failure report (the daemon's router id).
    void queue(unsigned ifindex, Bytes frame, std::uint32_t tag = 0);
    // Sends everything queued, in as few system calls as it takes. sendmmsg stops at the first
    // frame the kernel refuses (ENETDOWN on a downed interface, ENOBUFS, EMSGSIZE...): that frame
    // alone is retried once when the error is transient, else reported, and the rest of the batch
    // still goes out, so one interface's trouble never silences another's adverts.
    FlushReport flush();

private:
    struct Queued {
        unsigned ifindex;
        Bytes frame;
        std::uint32_t tag;
    };
    // Sends frames [from, to) with as few sendmmsg calls as the batch size allows; returns how many
    // went out before the first refusal (errno set when fewer than to - from).
    std::size_t send_run(std::size_t from, std::size_t to);
    UniqueFd fd_;
    std::vector<Queued> frames_;
};

// VRRP to unicast peers (RFC 9568 allows it; keepalived's unicast_peer): the
// kernel builds the IP header, with TTL / hop limit 255.
class UnicastSender {
public:
    // 0, or the errno of a refused send.
    int send(unsigned ifindex, const IpAddress& src, const IpAddress& dst, const Bytes& vrrp_message);

private:
    UniqueFd& socket_for(Family f);
    UniqueFd v4_, v6_;
};

}  // namespace xvrrp
