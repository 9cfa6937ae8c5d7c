#include "xvrrp/notify.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace xvrrp {

std::string_view notice_word(Notice n) {
    switch (n) {
        case Notice::Master: return "MASTER";
        case Notice::Backup: return "BACKUP";
        case Notice::Fault: return "FAULT";
        case Notice::Stop: return "STOP";
        case Notice::MasterPriority: return "MASTER_PRIORITY";
        case Notice::BackupPriority: return "BACKUP_PRIORITY";
        case Notice::MasterRxLowerPri: return "MASTER_RX_LOWER_PRI";
    }
    return "{UNKNOWN}";
}

namespace {

std::string_view source_word(const NoticeSource& s) { return s.group ? "GROUP" : "INSTANCE"; }

const std::vector<std::string>& state_script(const config::Notify& scripts, Notice n) {
    static const std::vector<std::string> none;
    switch (n) {
        case Notice::Master: return scripts.master;
        case Notice::Backup: return scripts.backup;
        case Notice::Fault: return scripts.fault;
        case Notice::Stop: return scripts.stop;
        default: return none;
    }
}

}  // namespace

std::string fifo_line(const NoticeSource& source, Notice n, int priority) {
    std::string line;
    line.append(source_word(source)).append(" \"").append(source.name).append("\" ");
    line.append(notice_word(n)).append(" ").append(std::to_string(priority)).append("\n");
    return line;
}

std::vector<std::vector<std::string>> notify_commands(const config::Notify& scripts, const NoticeSource& source,
                                                      Notice n, int priority) {
    std::vector<std::vector<std::string>> out;
    if (!is_state(n)) return out;
    if (const auto& own = state_script(scripts, n); !own.empty()) out.push_back(own);
    if (!scripts.any.empty()) {
        auto any = scripts.any;
        any.emplace_back(source_word(source));
        any.push_back(source.name);
        any.emplace_back(notice_word(n));
        any.push_back(std::to_string(priority));
        out.push_back(std::move(any));
    }
    return out;
}

// ---- the FIFO ----

void check_fifo_path(const std::string& path) {
    struct stat st{};
    if (::lstat(path.c_str(), &st) == 0 && !S_ISFIFO(st.st_mode))
        throw std::runtime_error("global.notify_fifo.path: " + path + " exists and is not a FIFO");
}

NotifyFifo::NotifyFifo(EventLoop& loop, std::string path) : loop_(loop), path_(std::move(path)) {
    check_fifo_path(path_);
    if (::mkfifo(path_.c_str(), 0644) == 0) created_ = true;
    else if (errno != EEXIST) throw std::system_error(errno, std::generic_category(), "mkfifo " + path_);
    // Read-write: opening never waits for a reader, and writes never fail for want of one.
    const int fd = ::open(path_.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        const int err = errno;
        if (created_) ::unlink(path_.c_str());
        throw std::system_error(err, std::generic_category(), "open " + path_);
    }
    fd_.reset(fd);
    struct stat st{};
    if (::fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) {  // replaced between the check and the open
        if (created_) ::unlink(path_.c_str());
        throw std::runtime_error("global.notify_fifo.path: " + path_ + " is not a FIFO");
    }
}

NotifyFifo::~NotifyFifo() {
    if (waiting_) loop_.remove(fd_.get());
    // First, so that a reader looping to reopen it cannot find it again (as keepalived).
    if (created_) ::unlink(path_.c_str());
}

bool NotifyFifo::write_now(const std::string& line) {
    // A line is shorter than PIPE_BUF: the pipe takes it whole or not at all.
    const ssize_t n = ::write(fd_.get(), line.data(), line.size());
    if (n >= 0) {
        ++written_;
        return true;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    spdlog::warn("notify fifo {}: {} (line dropped)", path_, std::strerror(errno));
    ++dropped_;
    return true;
}

void NotifyFifo::write(std::string line) {
    if (queue_.empty() && write_now(line)) return;
    if (queue_.size() >= kMaxQueued) {
        if (dropped_++ == 0) spdlog::warn("notify fifo {}: nobody reads it and {} lines wait: dropping", path_, queue_.size());
        return;
    }
    queue_.push_back(std::move(line));
    if (!waiting_) {
        loop_.add(fd_.get(), [this] { drain(); }, EPOLLOUT);
        waiting_ = true;
    }
}

void NotifyFifo::drain() {
    while (!queue_.empty() && write_now(queue_.front())) queue_.pop_front();
    if (queue_.empty() && waiting_) {
        loop_.remove(fd_.get());
        waiting_ = false;
    }
}

// ---- the notifier ----

Notifier::Notifier(Ports ports) : ports_(ports) {}

Notifier::~Notifier() = default;  // the runner kills what still runs, without calling back

void Notifier::configure(const std::optional<std::string>& fifo, const std::vector<std::string>& fifo_script,
                         std::chrono::milliseconds timeout, std::uint64_t now, std::optional<std::string> user) {
    timeout_ = timeout;
    user_ = std::move(user);
    const bool same = fifo ? fifo_ && fifo_->path() == *fifo && fifo_script == fifo_script_ : !fifo_;
    if (same) return;
    if (fifo_reader_) ports_.runner.terminate(*fifo_reader_, now);
    fifo_reader_.reset();
    fifo_.reset();
    fifo_script_ = fifo_script;
    if (!fifo) return;
    fifo_.emplace(ports_.loop, *fifo);
    start_fifo_reader(now);
}

void Notifier::start_fifo_reader(std::uint64_t now) {
    if (!fifo_ || fifo_script_.empty() || fifo_reader_) return;
    ProcessSpec spec{.argv = fifo_script_, .timeout = std::chrono::milliseconds{0}, .user = user_};
    spec.argv.push_back(fifo_->path());
    fifo_reader_ = ports_.runner.start(spec, [this](ProcessRunner::Id id, const ProcessResult& r) {
        const bool current = fifo_reader_ == id;  // not one stopped on purpose
        if (current) fifo_reader_.reset();
        spdlog::log(current && !fifo_closed_ ? spdlog::level::warn : spdlog::level::info, "notify fifo script {} ended: {}",
                    fifo_script_.front(), r.describe());
    }, now);
}

void Notifier::stop_fifo_reader(std::uint64_t now) {
    if (fifo_reader_) ports_.runner.terminate(*fifo_reader_, now);
    fifo_reader_.reset();
}

void Notifier::close_fifo() {
    fifo_.reset();
    fifo_closed_ = true;
}

void Notifier::post(const config::Notify& scripts, const NoticeSource& source, Notice n, int priority,
                    std::uint64_t now) {
    auto commands = notify_commands(scripts, source, n, priority);
    if (!commands.empty()) {
        const std::string key = std::string(source.group ? "GROUP " : "INSTANCE ") + source.name;
        Queue& q = queues_[key];
        for (auto& c : commands) q.waiting.push_back(std::move(c));
        if (!q.running) run_next(key, now);
    }
    if (fifo_) fifo_->write(fifo_line(source, n, priority));
}

Notifier::Waiting Notifier::waiting() const {
    Waiting out;
    for (const auto& [key, q] : queues_)
        if (!q.waiting.empty()) out[key].assign(q.waiting.begin(), q.waiting.end());
    return out;
}

void Notifier::run_waiting(const Waiting& w, std::uint64_t now) {
    for (const auto& [key, commands] : w) {
        Queue& q = queues_[key];
        q.waiting.insert(q.waiting.begin(), commands.begin(), commands.end());  // before anything of ours
        if (!q.running) run_next(key, now);
    }
}

void Notifier::run_next(const std::string& key, std::uint64_t now) {
    const auto it = queues_.find(key);
    if (it == queues_.end()) return;
    Queue& q = it->second;
    q.running.reset();
    while (!q.waiting.empty()) {
        const ProcessSpec spec{.argv = std::move(q.waiting.front()), .timeout = timeout_, .user = user_};
        q.waiting.pop_front();
        try {
            q.running = ports_.runner.start(spec, [this, key, program = spec.argv.front()](ProcessRunner::Id,
                                                                                           const ProcessResult& r) {
                if (!r.ok()) {
                    ++stats_.scripts_failed;
                    if (r.outcome == ProcessResult::Outcome::TimedOut) ++stats_.scripts_timed_out;
                    spdlog::warn("notify script {} ({}): {}", program, key, r.describe());
                }
                run_next(key, r.ended_ns);
            }, now);
            ++stats_.scripts_run;
            return;
        } catch (const std::exception& e) {
            ++stats_.scripts_failed;
            spdlog::error("notify script ({}): {}", key, e.what());
        }
    }
    queues_.erase(it);
}

}  // namespace xvrrp
