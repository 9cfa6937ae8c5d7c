// xvrrpd under systemd's notify protocol, with a NOTIFY_SOCKET of the test's own: READY once the
// routers run, STATUS as states change, RELOADING then READY around SIGHUP, WATCHDOG from the
// heartbeat tick (none while SIGSTOPped: a wedged loop gets restarted), STOPPING on SIGTERM.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <csignal>
#include <deque>
#include <fstream>
#include <cstdlib>
#include <thread>

#include "daemon_lab.hpp"

namespace xvrrp::test {
namespace {

using namespace std::chrono_literals;

class NotifySocket {
public:
    explicit NotifySocket(const std::string& path) : path_(path), fd_(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) throw std::runtime_error("bind " + path);
        timeval tv{.tv_sec = 0, .tv_usec = 50'000};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    ~NotifySocket() {
        ::close(fd_);
        ::unlink(path_.c_str());
    }
    // Every message that arrives within `window` (after those a wait_for left unread).
    std::vector<std::string> collect(std::chrono::milliseconds window) {
        std::vector<std::string> out(pending_.begin(), pending_.end());
        pending_.clear();
        const auto end = std::chrono::steady_clock::now() + window;
        char buf[1024];
        while (std::chrono::steady_clock::now() < end)
            if (const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0); n > 0) out.emplace_back(buf, static_cast<std::size_t>(n));
        return out;
    }
    // Waits (up to limit) for a message containing `part`, in order; the messages read up to it
    // go to seen, those after it stay for the next call.
    bool wait_for(const std::string& part, std::chrono::milliseconds limit, std::vector<std::string>& seen) {
        const auto end = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < end) {
            auto batch = collect(50ms);
            for (std::size_t i = 0; i < batch.size(); ++i) {
                seen.push_back(batch[i]);
                if (batch[i].find(part) != std::string::npos) {
                    pending_.assign(batch.begin() + static_cast<std::ptrdiff_t>(i) + 1, batch.end());
                    return true;
                }
            }
        }
        return false;
    }

private:
    std::string path_;
    int fd_;
    std::deque<std::string> pending_;
};

int count(const std::vector<std::string>& messages, const std::string& part) {
    int n = 0;
    for (const auto& m : messages) n += m.find(part) != std::string::npos;
    return n;
}

std::string joined(const std::vector<std::string>& messages) {
    std::string out;
    for (const auto& m : messages) out += "[" + m + "] ";
    return out;
}

using SystemdLab = DaemonLab;

TEST_F(SystemdLab, NotifiesReadyStatusReloadingWatchdogAndStopping) {
    NotifySocket sock(lab_->dir() + "/notify.sock");
    ::setenv("NOTIFY_SOCKET", (lab_->dir() + "/notify.sock").c_str(), 1);
    ::setenv("WATCHDOG_USEC", "2000000", 1);
    lab_->start(1, lab_->config(1, 150));
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");

    std::vector<std::string> seen;
    ASSERT_TRUE(sock.wait_for("READY=1", 5s, seen)) << joined(seen);
    EXPECT_NE(seen.back().find("MAINPID=" + std::to_string(lab_->pid(1))), std::string::npos) << seen.back();
    EXPECT_NE(seen.back().find("STATUS=0 MASTER, 2 BACKUP, 0 FAULT"), std::string::npos) << seen.back();
    EXPECT_TRUE(sock.wait_for("STATUS=2 MASTER, 0 BACKUP, 0 FAULT", 5s, seen)) << joined(seen);

    // The watchdog at the heartbeat's tick (125 ms here: heartbeat_timeout_ms 500 / 4).
    EXPECT_GE(count(sock.collect(1s), "WATCHDOG=1"), 4);
    lab_->signal(1, SIGSTOP);
    const auto stopped = sock.collect(1s);
    lab_->signal(1, SIGCONT);
    EXPECT_EQ(count(stopped, "WATCHDOG=1"), 0) << "a stopped loop must not feed the watchdog";
    EXPECT_GE(count(sock.collect(1s), "WATCHDOG=1"), 4) << "and feeds it again once running";

    seen.clear();
    lab_->signal(1, SIGHUP);
    ASSERT_TRUE(sock.wait_for("RELOADING=1", 3s, seen)) << joined(seen);
    EXPECT_NE(seen.back().find("MONOTONIC_USEC="), std::string::npos);
    EXPECT_TRUE(sock.wait_for("READY=1", 3s, seen)) << joined(seen);

    seen.clear();
    lab_->signal(1, SIGTERM);
    EXPECT_TRUE(sock.wait_for("STOPPING=1", 3s, seen)) << joined(seen);
    EXPECT_EQ(lab_->wait_exit(1, 5s), 0);
}

// An upgrade under systemd: the new daemon says READY=1 with its MAINPID= and feeds the watchdog
// from then on, although systemd's WATCHDOG_PID named the old one (which must not say STOPPING=1).
TEST_F(SystemdLab, AnUpgradeHandsTheMainPidAndTheWatchdogOver) {
    NotifySocket sock(lab_->dir() + "/notify.sock");
    const std::string path = lab_->write_config(1, lab_->config(1, 150));
    // WATCHDOG_PID as systemd sets it: the main process's own pid (the shell execs xvrrpd).
    lab_->start_process(1, {"/bin/sh", "-c", "NOTIFY_SOCKET=" + lab_->dir() + "/notify.sock WATCHDOG_USEC=2000000 "
                                             "WATCHDOG_PID=$$ exec " + VrrpLab::xvrrpd_path() + " -c " + path},
                        "r1.log");
    std::vector<std::string> seen;
    ASSERT_TRUE(sock.wait_for("READY=1", 5s, seen)) << joined(seen);
    const int old_pid = lab_->pid(1);
    EXPECT_NE(seen.back().find("MAINPID=" + std::to_string(old_pid)), std::string::npos) << seen.back();
    EXPECT_GE(count(sock.collect(1s), "WATCHDOG=1"), 4) << "the watchdog is the old daemon's";
    const std::string out = lab_->router(1).exec(std::string(XVRRPCTL_PATH) + " -s " + lab_->socket(1) + " upgrade 2>&1");
    ASSERT_EQ(out.rfind("upgraded: pid ", 0), 0u) << out;
    const int new_pid = std::stoi(out.substr(out.find("-> ") + 3));
    seen.clear();
    ASSERT_TRUE(sock.wait_for("MAINPID=" + std::to_string(new_pid), 3s, seen)) << joined(seen);
    EXPECT_NE(seen.back().find("READY=1"), std::string::npos) << seen.back();
    const auto after = sock.collect(1500ms);
    EXPECT_GE(count(after, "WATCHDOG=1"), 6) << "the new daemon feeds the watchdog: " << joined(after);
    EXPECT_EQ(count(seen, "STOPPING=1") + count(after, "STOPPING=1"), 0) << "the old daemon exits without a word";
}

// Under systemd stderr is the journal's stream (JOURNAL_STREAM names its device and inode): xvrrpd
// then logs by the native protocol, with PRIORITY and XVRRP_* fields on transitions, to a socket of
// the test's own (XVRRP_JOURNAL_SOCKET); when the journal goes away, lines fall back to stderr.
TEST_F(SystemdLab, LogsToTheJournalWithFieldsAndFallsBackToStderr) {
    const std::string log_path = lab_->dir() + "/r1.log";
    std::ofstream(log_path).flush();
    struct stat st{};
    ASSERT_EQ(::stat(log_path.c_str(), &st), 0);
    auto journal = std::make_unique<NotifySocket>(lab_->dir() + "/journal.sock");
    ::setenv("JOURNAL_STREAM", (std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino)).c_str(), 1);
    ::setenv("XVRRP_JOURNAL_SOCKET", (lab_->dir() + "/journal.sock").c_str(), 1);
    lab_->start(1, lab_->config(1, 150));
    ::unsetenv("JOURNAL_STREAM");
    ::unsetenv("XVRRP_JOURNAL_SOCKET");

    std::vector<std::string> seen;
    ASSERT_TRUE(journal->wait_for("XVRRP_STATE=MASTER", 5s, seen)) << joined(seen);
    const std::string& entry = seen.back();
    for (const char* field : {"MESSAGE=(gateway) Entering MASTER STATE", "PRIORITY=6\n", "SYSLOG_IDENTIFIER=xvrrpd\n",
                              "XVRRP_INSTANCE=gateway\n", "XVRRP_VRID=51\n", "XVRRP_FAMILY=IPv4\n", "XVRRP_REASON="})
        EXPECT_NE(entry.find(field), std::string::npos) << field << " in " << entry;
    EXPECT_EQ(count(seen, "XVRRP_STATE=BACKUP"), 2) << "the startup transitions, IPv4 and IPv6: " << joined(seen);
    EXPECT_EQ(lab_->log(1).find("Entering MASTER STATE"), std::string::npos) << "the journal had it, not stderr";

    journal.reset();  // the journal is gone: nothing is lost
    lab_->signal(1, SIGTERM);
    EXPECT_EQ(lab_->wait_exit(1, 5s), 0);
    EXPECT_NE(lab_->log(1).find("shutting down"), std::string::npos) << lab_->log(1);
}

// contrib/systemd/xvrrpd.service passes `systemd-analyze verify` (with the binary at the build's
// path): no error, and no warning either (systemd warns and carries on for a bad value).
TEST(SystemdUnit, TheUnitVerifiesWithoutAWord) {
    if (std::system("command -v systemd-analyze >/dev/null") != 0) GTEST_SKIP() << "systemd-analyze is not installed";
    ScratchDir dir;
    const std::string unit = read_text(std::string(XVRRP_SOURCE_DIR) + "/contrib/systemd/xvrrpd.service");
    ASSERT_NE(unit.find("/usr/sbin/xvrrpd"), std::string::npos);
    std::string local = unit;
    for (std::size_t at; (at = local.find("/usr/sbin/xvrrpd")) != std::string::npos;)
        local.replace(at, std::string("/usr/sbin/xvrrpd").size(), VrrpLab::xvrrpd_path());
    dir.write("xvrrpd.service", local);
    const std::string out = sh("systemd-analyze verify --man=no " + dir.file("xvrrpd.service") + " 2>&1; echo rc=$?");
    EXPECT_EQ(out, "rc=0\n");
    for (const char* key : {"Type=notify", "NotifyAccess=all", "WatchdogSec=2", "Restart=on-failure", "--check",
                            "ExecReload=/bin/kill -HUP $MAINPID"})
        EXPECT_NE(unit.find(key), std::string::npos) << key;
}

}  // namespace
}  // namespace xvrrp::test
