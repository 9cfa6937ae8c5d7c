#include "xvrrp/process_runner.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "xvrrp/error.hpp"

extern char** environ;

namespace xvrrp {

namespace {

std::uint64_t monotonic_now() {
    timespec t{};
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    return std::uint64_t(t.tv_sec) * 1'000'000'000 + std::uint64_t(t.tv_nsec);
}

constexpr const char* kSetpriv = "/usr/bin/setpriv";

// The argv that runs `argv` as `user`: setpriv drops to its uid, gid and groups, then execs.
std::vector<std::string> as_user(const std::string& user, const std::vector<std::string>& argv) {
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found)
        throw std::runtime_error("no user \"" + user + "\"");
    if (::access(kSetpriv, X_OK) != 0) throw std::runtime_error(std::string("running as ") + user + " needs " + kSetpriv + " (util-linux)");
    std::vector<std::string> out{kSetpriv, "--reuid=" + std::to_string(pw.pw_uid), "--regid=" + std::to_string(pw.pw_gid),
                                 "--init-groups", "--"};
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
}

// posix_spawn's attributes and file actions, released on every path.
class SpawnSetup {
public:
    SpawnSetup() {
        posix_spawnattr_init(&attr_);
        posix_spawn_file_actions_init(&actions_);
    }
    ~SpawnSetup() {
        posix_spawnattr_destroy(&attr_);
        posix_spawn_file_actions_destroy(&actions_);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;
    posix_spawnattr_t attr_;
    posix_spawn_file_actions_t actions_;
};

}  // namespace

std::string ProcessResult::describe() const {
    switch (outcome) {
        case Outcome::Exited: return "exit " + std::to_string(code);
        case Outcome::Signalled: return "killed by signal " + std::to_string(code);
        case Outcome::TimedOut: return "timed out";
    }
    return "?";
}

std::optional<std::string> insecure_program(const std::string& program) {
    std::filesystem::path path = program;
    if (program.find('/') == std::string::npos) {
        const char* env = std::getenv("PATH");
        std::string dirs = env ? env : "/usr/sbin:/usr/bin:/sbin:/bin";
        std::optional<std::filesystem::path> found;
        for (std::size_t start = 0; start <= dirs.size() && !found;) {
            const std::size_t end = std::min(dirs.find(':', start), dirs.size());
            const std::filesystem::path candidate = std::filesystem::path(dirs.substr(start, end - start)) / program;
            if (::access(candidate.c_str(), X_OK) == 0) found = candidate;
            start = end + 1;
        }
        if (!found) return std::nullopt;  // it cannot run at all: the check fails, said when it runs
        path = *found;
    }
    if (path.is_relative()) path = std::filesystem::current_path() / path;
    std::filesystem::path walked = "/";
    std::vector<std::filesystem::path> steps{walked};
    for (const auto& part : path.relative_path()) steps.push_back(walked /= part);
    for (const auto& step : steps) {
        struct stat st {};
        if (::stat(step.c_str(), &st) != 0) return std::nullopt;  // missing: it fails when it runs
        if (st.st_uid != 0) return step.string() + " is owned by uid " + std::to_string(st.st_uid) + ", not root";
        const bool sticky_dir = S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX);
        if ((st.st_mode & S_IWGRP) && st.st_gid != 0 && !sticky_dir)
            return step.string() + " is writable by group " + std::to_string(st.st_gid);
        if ((st.st_mode & S_IWOTH) && !sticky_dir) return step.string() + " is writable by anyone";
    }
    return std::nullopt;
}

ProcessRunner::ProcessRunner(EventLoop& loop) : loop_(loop) {}

ProcessRunner::~ProcessRunner() {
    for (auto& [id, p] : procs_) {
        loop_.remove(p.pidfd.get());
        ::kill(-p.pid, SIGKILL);
        ::waitpid(p.pid, nullptr, 0);
    }
}

ProcessRunner::Id ProcessRunner::start(const ProcessSpec& spec, Done done, std::uint64_t now_ns) {
    if (spec.argv.empty()) throw std::invalid_argument("no command to run");
    SpawnSetup s;
    // Its own process group (the timeout signals all of it), the signals the daemon blocks (it
    // takes them through a signalfd) unblocked, and their default dispositions.
    sigset_t none, defaults;
    sigemptyset(&none);
    sigfillset(&defaults);
    posix_spawnattr_setflags(&s.attr_, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&s.attr_, 0);
    posix_spawnattr_setsigmask(&s.attr_, &none);
    posix_spawnattr_setsigdefault(&s.attr_, &defaults);
    posix_spawn_file_actions_addopen(&s.actions_, STDIN_FILENO, "/dev/null", O_RDONLY, 0);

    const std::vector<std::string> args = spec.user ? as_user(*spec.user, spec.argv) : spec.argv;
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (const int err = ::posix_spawnp(&pid, argv[0], &s.actions_, &s.attr_, argv.data(), environ))
        throw std::system_error(err, std::generic_category(), "spawn " + spec.argv[0]);

    const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) {  // cannot watch it: do not leave it running unwatched
        const int err = errno;
        ::kill(-pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        throw std::system_error(err, std::generic_category(), "pidfd_open");
    }
    const Id id = next_id_++;
    Proc& p = procs_[id];
    p.pid = pid;
    p.pidfd.reset(fd);
    p.done = std::move(done);
    p.started = now_ns;
    if (spec.timeout.count() > 0) p.deadline = now_ns + std::uint64_t(std::chrono::nanoseconds(spec.timeout).count());
    p.kill_after_ns = std::uint64_t(std::chrono::nanoseconds(spec.kill_after).count());
    loop_.add(fd, [this, id] { reap(id); });
    return id;
}

std::optional<pid_t> ProcessRunner::pid(Id id) const {
    const auto it = procs_.find(id);
    return it == procs_.end() ? std::nullopt : std::optional(it->second.pid);
}

std::optional<std::uint64_t> ProcessRunner::next_deadline() const {
    std::optional<std::uint64_t> next;
    for (const auto& [id, p] : procs_) {
        if (p.killed || (!p.terminated && !p.deadline)) continue;
        const std::uint64_t t = p.terminated ? p.kill_at : *p.deadline;
        if (!next || t < *next) next = t;
    }
    return next;
}

void ProcessRunner::terminate(Id id, std::uint64_t now_ns) {
    const auto it = procs_.find(id);
    if (it == procs_.end() || it->second.terminated) return;
    Proc& p = it->second;
    ::kill(-p.pid, SIGTERM);
    p.terminated = true;
    p.kill_at = now_ns + p.kill_after_ns;
}

void ProcessRunner::on_timer(std::uint64_t now_ns) {
    for (auto& [id, p] : procs_) {
        if (!p.terminated && p.deadline && now_ns >= *p.deadline) {
            terminate(id, now_ns);
        } else if (p.terminated && !p.killed && now_ns >= p.kill_at) {
            ::kill(-p.pid, SIGKILL);
            p.killed = true;
        }
    }
}

void ProcessRunner::reap(Id id) {
    const auto it = procs_.find(id);
    if (it == procs_.end()) return;
    int status = 0;
    const pid_t got = ::waitpid(it->second.pid, &status, WNOHANG);
    if (got == 0) return;  // not yet (a stale readiness for a reused descriptor)
    Proc p = std::move(it->second);
    procs_.erase(it);
    loop_.remove(p.pidfd.get());
    ProcessResult r;
    r.ended_ns = monotonic_now();
    r.duration_ns = r.ended_ns - p.started;
    if (p.terminated) {
        ::kill(-p.pid, SIGKILL);  // whatever it started goes with it
        r.outcome = ProcessResult::Outcome::TimedOut;
        r.code = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    } else if (got > 0 && WIFSIGNALED(status)) {
        r.outcome = ProcessResult::Outcome::Signalled;
        r.code = WTERMSIG(status);
    } else {
        r.code = got > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : 127;
    }
    if (p.done) p.done(id, r);
}

}  // namespace xvrrp
