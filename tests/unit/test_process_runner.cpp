// The process runner with real processes (no privileges needed): exit codes, spawn failures,
// the timeout's SIGTERM then SIGKILL to the whole group, and nothing left behind.
#include "xvrrp/process_runner.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace xvrrp {
namespace {

using namespace std::chrono_literals;

std::uint64_t now_ns() {
    timespec t{};
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    return std::uint64_t(t.tv_sec) * 1'000'000'000 + std::uint64_t(t.tv_nsec);
}

// A loop as the daemon runs it: the runner's exits through epoll, its deadlines through a timerfd.
struct Loop {
    EventLoop loop;
    TimerFd timer;
    ProcessRunner runner{loop};
    std::map<ProcessRunner::Id, ProcessResult> results;

    Loop() {
        loop.add(timer.fd(), [this] {
            timer.ack();
            runner.on_timer(now_ns());
        });
    }
    ProcessRunner::Id start(std::vector<std::string> argv, std::chrono::milliseconds timeout = 5s,
                            std::chrono::milliseconds kill_after = 2s) {
        return runner.start(ProcessSpec{.argv = std::move(argv), .timeout = timeout, .kill_after = kill_after},
                            [this](ProcessRunner::Id id, const ProcessResult& r) { results[id] = r; }, now_ns());
    }
    // Runs the loop until id has ended (or 10 s have passed); its result.
    std::optional<ProcessResult> wait(ProcessRunner::Id id) {
        const auto end = std::chrono::steady_clock::now() + 10s;
        while (!results.count(id) && std::chrono::steady_clock::now() < end) {
            if (const auto next = runner.next_deadline()) timer.arm_at(*next);
            loop.run_once(100);
        }
        if (!results.count(id)) return std::nullopt;
        return results[id];
    }
};

bool process_gone(pid_t pid) {
    if (::kill(pid, 0) != 0) return errno == ESRCH;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string pid_s, comm, state;
    stat >> pid_s >> comm >> state;
    return state == "Z";  // dead, waiting for whoever adopted it to reap it
}

TEST(ProcessRunner, ReportsExitCodesAndSignals) {
    Loop l;
    const auto ok = l.start({"true"});
    const auto three = l.start({"/bin/sh", "-c", "exit 3"});
    const auto killed = l.start({"/bin/sh", "-c", "kill -KILL $$"});
    const auto r_ok = l.wait(ok), r_three = l.wait(three), r_killed = l.wait(killed);
    ASSERT_TRUE(r_ok && r_three && r_killed);
    EXPECT_TRUE(r_ok->ok()) << r_ok->describe();
    EXPECT_EQ(r_three->outcome, ProcessResult::Outcome::Exited);
    EXPECT_EQ(r_three->code, 3);
    EXPECT_FALSE(r_three->ok());
    EXPECT_EQ(r_killed->outcome, ProcessResult::Outcome::Signalled);
    EXPECT_EQ(r_killed->code, SIGKILL);
    EXPECT_EQ(l.runner.count(), 0u);
}

TEST(ProcessRunner, AProgramThatCannotBeSpawnedIsAnErrorNotAProcess) {
    Loop l;
    try {
        l.start({"/nonexistent/xvrrp-check"});
        FAIL() << "spawned something that does not exist";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), ENOENT);
    }
    EXPECT_THROW(l.start({}), std::invalid_argument);
    EXPECT_EQ(l.runner.count(), 0u);
}

// The daemon blocks SIGTERM (it reads it from a signalfd); the child must not inherit that, or
// the timeout's SIGTERM would do nothing and every hung script would wait for SIGKILL.
TEST(ProcessRunner, ATimeoutSendsSigtermWhichTheChildDoesNotHaveBlocked) {
    sigset_t term, old;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    ASSERT_EQ(::sigprocmask(SIG_BLOCK, &term, &old), 0);
    Loop l;
    const auto id = l.start({"sleep", "30"}, 100ms);
    const auto r = l.wait(id);
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->outcome, ProcessResult::Outcome::TimedOut);
    EXPECT_EQ(r->code, SIGTERM) << "SIGTERM ended it, not the SIGKILL 2 s later";
    EXPECT_FALSE(r->ok());
}

TEST(ProcessRunner, AChildIgnoringSigtermGetsSigkillAfterTheGrace) {
    Loop l;
    const auto id = l.start({"/bin/sh", "-c", "trap '' TERM; sleep 30"}, 100ms, 200ms);
    const auto r = l.wait(id);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->outcome, ProcessResult::Outcome::TimedOut);
    EXPECT_EQ(r->code, SIGKILL);
}

TEST(ProcessRunner, ATimedOutScriptTakesWhatItStartedWithIt) {
    const auto pidfile = std::filesystem::temp_directory_path() / ("xvrrp-runner-" + std::to_string(::getpid()));
    Loop l;
    // The grandchild ignores SIGTERM, and its parent dies of it: only the group sweep reaches it.
    const auto id = l.start({"/bin/sh", "-c", "(trap '' TERM; exec sleep 30) & echo $! > " + pidfile.string() + "; wait"},
                            200ms, 5s);
    const auto r = l.wait(id);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->outcome, ProcessResult::Outcome::TimedOut);
    pid_t grandchild = 0;
    std::ifstream(pidfile) >> grandchild;
    std::filesystem::remove(pidfile);
    ASSERT_GT(grandchild, 0);
    const auto end = std::chrono::steady_clock::now() + 2s;
    while (!process_gone(grandchild) && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(10ms);
    EXPECT_TRUE(process_gone(grandchild)) << "the sleep the script started is still running";
}

TEST(ProcessRunner, DestroyingTheRunnerLeavesNothingRunning) {
    pid_t pid = 0;
    {
        Loop l;
        const auto id = l.start({"sleep", "30"});
        pid = *l.runner.pid(id);
        ASSERT_FALSE(process_gone(pid));
        EXPECT_EQ(l.runner.next_deadline().has_value(), true);
    }
    EXPECT_TRUE(process_gone(pid));
}

}  // namespace
}  // namespace xvrrp

namespace xvrrp {
namespace {

TEST(InsecureProgram, APathOthersCanWriteIsNamed) {
    if (::geteuid() != 0) GTEST_SKIP() << "ownership by root is part of the rule: run as root";
    char tmpl[] = "/tmp/xvrrp-secure-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    const std::string dir = tmpl;
    const std::string script = dir + "/check.sh";
    std::ofstream(script) << "#!/bin/sh\nexit 0\n";
    ::chmod(script.c_str(), 0755);
    EXPECT_EQ(insecure_program(script), std::nullopt) << "root's own 0700 directory under sticky /tmp";
    EXPECT_EQ(insecure_program("/bin/sh"), std::nullopt);
    EXPECT_EQ(insecure_program("sh"), std::nullopt) << "found in PATH";
    ::chmod(dir.c_str(), 0777);
    EXPECT_EQ(insecure_program(script), dir + " is writable by anyone");
    ::chmod(dir.c_str(), 0755);
    ::chmod(script.c_str(), 0757);
    EXPECT_EQ(insecure_program(script), script + " is writable by anyone");
    ::chmod(script.c_str(), 0755);
    ASSERT_EQ(::chown(script.c_str(), 65534, 0), 0);
    EXPECT_EQ(insecure_program(script), script + " is owned by uid 65534, not root");
    std::filesystem::remove_all(dir);
}

// Scripts as another user (keepalived's script_user): the command runs with that user's uid and
// gid; an unknown user is an error at the start, not a process.
TEST(ProcessRunner, ACommandRunsAsItsUser) {
    if (::geteuid() != 0) GTEST_SKIP() << "changing users needs root";
    char tmpl[] = "/tmp/xvrrp-user-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    const std::string dir = tmpl;
    ::chmod(dir.c_str(), 0777);
    Loop l;
    const auto id = l.runner.start(ProcessSpec{.argv = {"/bin/sh", "-c", "id -u > " + dir + "/uid; id -g > " + dir + "/gid"},
                                               .timeout = 5s, .user = "nobody"},
                                   [&](ProcessRunner::Id i, const ProcessResult& r) { l.results[i] = r; }, now_ns());
    const auto r = l.wait(id);
    ASSERT_TRUE(r && r->ok()) << (r ? r->describe() : "no result");
    std::string uid, gid;
    std::ifstream(dir + "/uid") >> uid;
    std::ifstream(dir + "/gid") >> gid;
    EXPECT_EQ(uid, "65534");
    EXPECT_EQ(gid, "65534");
    try {
        l.runner.start(ProcessSpec{.argv = {"true"}, .user = "xvrrp-no-such-user"}, nullptr, now_ns());
        FAIL() << "started as a user that does not exist";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()), "no user \"xvrrp-no-such-user\"");
    }
    EXPECT_EQ(l.runner.count(), 0u);
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace xvrrp
