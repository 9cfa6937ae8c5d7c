// Runs commands (check scripts, notify scripts) without ever blocking the loop. Each command is
// spawned (posix_spawn) as the leader of a new process group, with the signals the daemon blocks
// unblocked and stdin on /dev/null; its exit arrives through a pidfd in the loop's epoll. A
// command still running at its timeout gets SIGTERM, to the whole group, and SIGKILL kill_after
// later; once it has timed out, the group is swept with SIGKILL when the leader exits, so nothing
// it started lingers. Timeouts plug into the daemon's timer queue: next_deadline() and on_timer().
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "xvrrp/event_loop.hpp"
#include "xvrrp/unique_fd.hpp"

namespace xvrrp {

struct ProcessSpec {
    std::vector<std::string> argv;  // argv[0] is the program: an absolute path, or found in PATH
    std::chrono::milliseconds timeout{1000};  // 0: none (a reader that runs as long as the daemon)
    std::chrono::milliseconds kill_after{2000};  // SIGTERM to SIGKILL, as keepalived
    // Run as this user (its uid, gid and groups, through util-linux's setpriv: posix_spawn cannot
    // change users); none: as the daemon. An unknown user fails the start.
    std::optional<std::string> user;
};

struct ProcessResult {
    enum class Outcome : std::uint8_t { Exited, Signalled, TimedOut };
    Outcome outcome = Outcome::Exited;
    int code = 0;  // the exit status (Exited) or the signal that ended it (Signalled, TimedOut)
    std::uint64_t duration_ns = 0;
    std::uint64_t ended_ns = 0;  // CLOCK_MONOTONIC when its end was seen
    [[nodiscard]] bool ok() const { return outcome == Outcome::Exited && code == 0; }
    [[nodiscard]] std::string describe() const;  // "exit 0", "killed by signal 9", "timed out"
};

// For a daemon running as root: why running `program` (argv[0], looked up in PATH when it has no
// slash) would let someone else choose what runs as root: the file or a directory on its path is
// owned by another user or writable by its group or by others (a sticky directory, /tmp, excepted,
// since nobody can replace what is not theirs there). Nothing when it is safe; the check does not
// resolve symlinks' targets beyond what stat follows.
std::optional<std::string> insecure_program(const std::string& program);

class ProcessRunner {
public:
    using Id = std::uint64_t;
    using Done = std::function<void(Id, const ProcessResult&)>;

    explicit ProcessRunner(EventLoop& loop);
    // Kills every group still running (SIGKILL) and reaps the leaders.
    ~ProcessRunner();
    ProcessRunner(const ProcessRunner&) = delete;
    ProcessRunner& operator=(const ProcessRunner&) = delete;

    // Spawns the command; done runs from the loop once it has ended. Throws std::system_error
    // when it cannot be spawned (no such program, no permission, no memory).
    Id start(const ProcessSpec& spec, Done done, std::uint64_t now_ns);
    [[nodiscard]] bool running(Id id) const { return procs_.count(id) != 0; }
    [[nodiscard]] std::size_t count() const { return procs_.size(); }
    [[nodiscard]] std::optional<pid_t> pid(Id id) const;

    // Ends it now as if it had timed out (SIGTERM to its group, SIGKILL kill_after later); its
    // done still runs once it has gone.
    void terminate(Id id, std::uint64_t now_ns);

    // The next SIGTERM or SIGKILL due; sends what is due at now.
    [[nodiscard]] std::optional<std::uint64_t> next_deadline() const;
    void on_timer(std::uint64_t now_ns);

private:
    struct Proc {
        pid_t pid = 0;
        UniqueFd pidfd;
        Done done;
        std::uint64_t started = 0;
        std::optional<std::uint64_t> deadline;  // SIGTERM at this time (none: never), then SIGKILL at kill_at
        std::uint64_t kill_after_ns = 0;
        bool terminated = false;  // SIGTERM sent: it has timed out
        bool killed = false;      // SIGKILL sent
        std::uint64_t kill_at = 0;
    };
    void reap(Id id);

    EventLoop& loop_;
    std::map<Id, Proc> procs_;
    Id next_id_ = 1;
};

}  // namespace xvrrp
