// Hitless upgrade (xvrrpctl upgrade, SIGUSR2): the running daemon O starts the binary on disk as
// N with one end of a socketpair, and they speak in JSON messages over it:
//   N -> O  {"prepared": true, "config_digest": ...}
//                                 config parsed, dataplane opened, programs loaded (O still runs);
//                                 the digest of the file N read (an older N sends none)
//   O -> N  the Handover          O has sent its masters' adverts, refreshed the heartbeat, given up
//                                 its lock, control socket and metrics port, and is frozen: it
//                                 handles nothing more, but its masters' adverts go on at the
//                                 schedule handed over until N commits
//   N -> O  {"committed": true}  N runs every router (masters resumed, advertising), READY sent
// O then exits without resigning or cleaning up. If N exits, closes the channel or does not
// commit within a second, O kills it and carries on as before. Kept in the kernel meanwhile:
// pinned maps (instances, peers, VIPs, counters, ring buffer), XDP links, TC filters, addresses.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "xvrrp/counters.hpp"
#include "xvrrp/tracker_set.hpp"
#include "xvrrp/packet.hpp"
#include "xvrrp/router_driver.hpp"
#include "xvrrp/unique_fd.hpp"
#include "xvrrp/vrrp_fsm.hpp"

namespace xvrrp {

// What lives in O's memory only, and N carries on: per router its state as O had it, its
// transition count and age, and its own counters; the daemon's reload counts and maintenance,
// sync groups' states and the configuration it runs. Fields added later are optional, so a
// version-1 document from an older O still reads.
struct HandoverRouter {
    std::string name;
    Family family = Family::V4;
    fsm::State state = fsm::State::Initialize;
    std::uint64_t transitions = 0;
    std::uint64_t since_transition_ns = 0;  // how long ago (clocks agree: both CLOCK_MONOTONIC)
    RouterCounters sent;  // this router's own (its earlier lives are in Handover::earlier)
    std::optional<RouterDriver::Schedule> schedule;  // a MASTER's next advert and announcements
    std::optional<Nanos> preempt_at;  // a BACKUP waiting out preempt_delay: when it may preempt
    bool operator==(const HandoverRouter&) const = default;
};

// What routers of an instance counted before a reload restarted them (status and metrics add it).
struct HandoverEarlier {
    std::string name;
    Family family = Family::V4;
    RouterCounters sent;
    xvrrp_inst_stats received{};
};

struct Handover;
[[nodiscard]] nlohmann::json to_json(const Handover& h);

struct Handover {
    static constexpr int kVersion = 1;
    std::vector<HandoverRouter> routers;
    std::uint64_t reloads_ok = 0, reloads_failed = 0;
    std::vector<std::string> maintenance;
    std::vector<HandoverEarlier> earlier;
    std::vector<TrackerView> trackers;  // state, counts, check durations
    std::map<std::string, int> groups;  // each sync group's state as last notified (a Notice)
    // Notify scripts waiting in O's queues (by source, in order): N runs them.
    std::map<std::string, std::vector<std::vector<std::string>>> notify_waiting;
    // The configuration text O runs (its last good load; O keeps its "global" from its start).
    // N resumes what it describes, then applies the file on disk as a reload would. Empty: the
    // same as N's (its digest matched: at 1000 instances 270 kB not written and parsed while
    // O is frozen), or not said.
    std::string config;
    std::uint64_t frozen_at_ns = 0;  // CLOCK_MONOTONIC when O froze (0: not said)
    bool operator==(const Handover& o) const {
        return to_json(*this) == to_json(o);
    }
};

// Throws std::runtime_error for another version or a malformed document.
[[nodiscard]] Handover handover_from_json(const nlohmann::json& j);

// Names a configuration text for the "prepared" message: its length and 64-bit FNV-1a hash.
[[nodiscard]] std::string config_digest(std::string_view text);

// One end of the socketpair (SOCK_SEQPACKET: one JSON document per message).
class UpgradeChannel {
public:
    // Both ends, with buffers for a handover of thousands of routers in one message (beyond
    // net.core.wmem_max, which caps SO_SNDBUF, when the process may force it).
    static std::pair<UniqueFd, UniqueFd> pair();
    explicit UpgradeChannel(UniqueFd fd) : fd_(std::move(fd)) {}
    [[nodiscard]] int fd() const { return fd_.get(); }
    void send(const nlohmann::json& message);
    // The next message; none when the peer closed its end or nothing came within `limit`.
    [[nodiscard]] std::optional<nlohmann::json> receive(std::chrono::milliseconds limit);
    // True once a message or the peer's close is there to read (receive then answers at once);
    // false when `limit` passed first.
    [[nodiscard]] bool wait(std::chrono::nanoseconds limit);

private:
    UniqueFd fd_;
};

// Starts argv[0] with argv, the channel's other end as its fd 3 and XVRRP_UPGRADE_FD=3, signals
// unblocked; returns its pid and a pidfd for the loop. Throws when it cannot be started.
struct Successor {
    pid_t pid = -1;
    UniqueFd pidfd;
    UpgradeChannel channel;
};
[[nodiscard]] Successor start_successor(const std::vector<std::string>& argv);

}  // namespace xvrrp
