// Notifications of changes of state, as keepalived gives them: notify scripts and the notify FIFO.
//
// Per transition, after the VIPs are set and the first announcement has left (the daemon posts
// once its frames and address changes of the wake-up are out): the state's own script
// (notify.master...), then the generic one (notify.any, four arguments appended), then the FIFO
// line. Unlike keepalived, which forks them all at once so that a slow BACKUP script may finish
// after the MASTER one that followed it, one source's scripts (an instance or a group) run one at
// a time in the order of its transitions; a script still running at notify_timeout_ms is killed
// (SIGTERM to its group, SIGKILL 2 s later) and the next one runs. FIFO lines never wait: a full
// pipe queues them (bounded; what overflows is counted and dropped).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xvrrp/config.hpp"
#include "xvrrp/event_loop.hpp"
#include "xvrrp/process_runner.hpp"
#include "xvrrp/unique_fd.hpp"

namespace xvrrp {

// What a router (or group) tells: a change of state, or an event the FIFO reports.
enum class Notice : std::uint8_t {
    Master,
    Backup,
    Fault,
    Stop,
    MasterPriority,    // effective priority changed while MASTER (notify_priority_changes)
    BackupPriority,    // ... while BACKUP
    MasterRxLowerPri,  // a MASTER heard a lower priority master (a partition healed)
};

// keepalived's word for it: MASTER, BACKUP, FAULT, STOP, MASTER_PRIORITY, BACKUP_PRIORITY,
// MASTER_RX_LOWER_PRI.
std::string_view notice_word(Notice n);
[[nodiscard]] constexpr bool is_state(Notice n) { return n <= Notice::Stop; }

struct NoticeSource {
    bool group = false;  // a sync group, else an instance
    std::string name;
    bool operator==(const NoticeSource&) const = default;
};

// The FIFO line, byte for byte keepalived's: `INSTANCE "VI_1" MASTER 100\n`, `GROUP "G" BACKUP 0\n`.
std::string fifo_line(const NoticeSource& source, Notice n, int priority);

// The commands one state change runs, in order: the state's script as written, then `any` with
// INSTANCE|GROUP, the name, the state and the priority appended. None for an event (not a state).
std::vector<std::vector<std::string>> notify_commands(const config::Notify& scripts, const NoticeSource& source,
                                                      Notice n, int priority);

// The FIFO a line goes to. Created (mode 0644) when missing and removed again when this one made
// it; opened read-write and non-blocking, so writing never waits for a reader and never fails
// for want of one. Throws when the path exists and is not a FIFO.
class NotifyFifo {
public:
    static constexpr std::size_t kMaxQueued = 4096;  // lines waiting for room in the pipe

    NotifyFifo(EventLoop& loop, std::string path);
    ~NotifyFifo();
    NotifyFifo(const NotifyFifo&) = delete;
    NotifyFifo& operator=(const NotifyFifo&) = delete;

    void write(std::string line);
    [[nodiscard]] const std::string& path() const { return path_; }
    [[nodiscard]] std::uint64_t written() const { return written_; }
    [[nodiscard]] std::uint64_t dropped() const { return dropped_; }
    [[nodiscard]] std::size_t queued() const { return queue_.size(); }

private:
    bool write_now(const std::string& line);  // false: no room now
    void drain();

    EventLoop& loop_;
    std::string path_;
    bool created_ = false;
    UniqueFd fd_;
    std::deque<std::string> queue_;
    bool waiting_ = false;  // for EPOLLOUT
    std::uint64_t written_ = 0, dropped_ = 0;
};

// Throws when a path given for the FIFO exists and is not a FIFO (checked before a start or a
// reload changes anything).
void check_fifo_path(const std::string& path);

// Runs the notify scripts and writes the FIFO lines of every source.
class Notifier {
public:
    struct Ports {
        EventLoop& loop;
        ProcessRunner& runner;
    };
    struct Stats {
        std::uint64_t scripts_run = 0, scripts_failed = 0, scripts_timed_out = 0;
    };

    explicit Notifier(Ports ports);
    ~Notifier();
    Notifier(const Notifier&) = delete;
    Notifier& operator=(const Notifier&) = delete;

    // The global settings: the FIFO (opened, its script started with the path appended, once;
    // a change of path starts over) and the scripts' timeout.
    void configure(const std::optional<std::string>& fifo, const std::vector<std::string>& fifo_script,
                   std::chrono::milliseconds timeout, std::uint64_t now, std::optional<std::string> user = std::nullopt);
    // One notice: the scripts queue behind the source's earlier ones, the FIFO line is written now.
    void post(const config::Notify& scripts, const NoticeSource& source, Notice n, int priority, std::uint64_t now);

    // An upgrade: the FIFO's script is stopped as this process freezes (the next daemon starts
    // its own, so one reads the FIFO, never two), and started again if the upgrade fails.
    void stop_fifo_reader(std::uint64_t now);
    void start_fifo_reader(std::uint64_t now);

    // An upgrade: the scripts still waiting behind a running one, by source ("INSTANCE gateway"),
    // in order; the next daemon runs them (the running ones finish on their own).
    using Waiting = std::map<std::string, std::vector<std::vector<std::string>>>;
    [[nodiscard]] Waiting waiting() const;
    void run_waiting(const Waiting& w, std::uint64_t now);

    // At shutdown, once the STOP notices are posted: the FIFO is closed (and removed if made
    // here), so its reader sees the end after the last line instead of being killed before it.
    void close_fifo();

    // No script running or waiting (and, after close_fifo, the FIFO's reader gone).
    [[nodiscard]] bool idle() const { return queues_.empty() && !(fifo_closed_ && fifo_reader_); }
    [[nodiscard]] const Stats& stats() const { return stats_; }
    [[nodiscard]] const NotifyFifo* fifo() const { return fifo_ ? &*fifo_ : nullptr; }

private:
    struct Queue {
        std::deque<std::vector<std::string>> waiting;
        std::optional<ProcessRunner::Id> running;
    };
    void run_next(const std::string& key, std::uint64_t now);

    Ports ports_;
    std::chrono::milliseconds timeout_{10'000};
    std::optional<std::string> user_;  // the scripts run as this user (none: as the daemon)
    std::optional<NotifyFifo> fifo_;
    std::vector<std::string> fifo_script_;
    std::optional<ProcessRunner::Id> fifo_reader_;
    bool fifo_closed_ = false;
    std::map<std::string, Queue> queues_;  // by source ("INSTANCE name"); gone once empty
    Stats stats_;
};

}  // namespace xvrrp
