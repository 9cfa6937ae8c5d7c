// Notifications without privileges: keepalived's FIFO lines and script arguments byte for byte,
// a real FIFO (full pipe, nobody reading, not a FIFO), and real notify scripts run one at a time
// per source in order, a hung one killed at the timeout and the next run.
#include "xvrrp/notify.hpp"

#include "text_file.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace xvrrp {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::uint64_t now_ns() {
    timespec t{};
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    return std::uint64_t(t.tv_sec) * 1'000'000'000 + std::uint64_t(t.tv_nsec);
}

const NoticeSource kVi1{.group = false, .name = "VI_1"};
const NoticeSource kGroup{.group = true, .name = "VGM"};

TEST(Notify, FifoLinesAreKeepalivedsByteForByte) {
    EXPECT_EQ(fifo_line(kVi1, Notice::Master, 100), "INSTANCE \"VI_1\" MASTER 100\n");
    EXPECT_EQ(fifo_line(kVi1, Notice::Backup, 80), "INSTANCE \"VI_1\" BACKUP 80\n");
    EXPECT_EQ(fifo_line(kVi1, Notice::Fault, 100), "INSTANCE \"VI_1\" FAULT 100\n");
    EXPECT_EQ(fifo_line(kVi1, Notice::Stop, 100), "INSTANCE \"VI_1\" STOP 100\n");
    EXPECT_EQ(fifo_line(kGroup, Notice::Backup, 0), "GROUP \"VGM\" BACKUP 0\n");
    EXPECT_EQ(fifo_line(kVi1, Notice::MasterRxLowerPri, 150), "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 150\n");
    EXPECT_EQ(fifo_line(kVi1, Notice::MasterPriority, 90), "INSTANCE \"VI_1\" MASTER_PRIORITY 90\n");
    EXPECT_EQ(fifo_line(kVi1, Notice::BackupPriority, 70), "INSTANCE \"VI_1\" BACKUP_PRIORITY 70\n");
}

TEST(Notify, TheStateScriptAsWrittenThenTheGenericOneWithFourArguments) {
    config::Notify n;
    n.master = {"/etc/xvrrp/master.sh", "up"};
    n.any = {"/etc/xvrrp/any.sh"};
    const auto cmds = notify_commands(n, kVi1, Notice::Master, 100);
    ASSERT_EQ(cmds.size(), 2u);
    EXPECT_EQ(cmds[0], (std::vector<std::string>{"/etc/xvrrp/master.sh", "up"})) << "nothing appended";
    EXPECT_EQ(cmds[1], (std::vector<std::string>{"/etc/xvrrp/any.sh", "INSTANCE", "VI_1", "MASTER", "100"}));
    // No backup script: the generic one alone; a group's priority is 0.
    EXPECT_EQ(notify_commands(n, kGroup, Notice::Backup, 0),
              (std::vector<std::vector<std::string>>{{"/etc/xvrrp/any.sh", "GROUP", "VGM", "BACKUP", "0"}}));
    // Events that are not states run no script (keepalived: the FIFO only).
    EXPECT_TRUE(notify_commands(n, kVi1, Notice::MasterPriority, 90).empty());
    EXPECT_TRUE(notify_commands(n, kVi1, Notice::MasterRxLowerPri, 90).empty());
    EXPECT_TRUE(notify_commands(config::Notify{}, kVi1, Notice::Fault, 90).empty());
}

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/xvrrp-notify-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { fs::remove_all(path); }
};

// The daemon's loop in small: handlers, and the runner's deadlines on a timerfd.
struct Rig {
    EventLoop loop;
    TimerFd timer;
    ProcessRunner runner{loop};
    Notifier notifier{Notifier::Ports{.loop = loop, .runner = runner}};
    Rig() {
        loop.add(timer.fd(), [this] {
            timer.ack();
            runner.on_timer(now_ns());
        });
        loop.set_after_each([this] { arm(); });
    }
    void arm() {
        if (const auto r = runner.next_deadline()) timer.arm_at(*r);
    }
    template <class Pred>
    bool run_until(Pred pred, std::chrono::milliseconds limit = 5s) {
        arm();
        const auto end = std::chrono::steady_clock::now() + limit;
        while (!pred() && std::chrono::steady_clock::now() < end) loop.run_once(20);
        return pred();
    }
};

std::string read_all(const fs::path& p) { return test::read_text(p); }

TEST(Notify, TheFifoIsCreatedWrittenWithoutAReaderAndRemovedAgain) {
    TempDir dir;
    const auto path = dir.path / "notify";
    EventLoop loop;
    {
        NotifyFifo fifo(loop, path);
        struct stat st{};
        ASSERT_EQ(::stat(path.c_str(), &st), 0);
        EXPECT_TRUE(S_ISFIFO(st.st_mode));
        EXPECT_EQ(st.st_mode & 0777, 0644 & ~[] { mode_t m = ::umask(0); ::umask(m); return m; }());
        // Nobody reads: lines wait in the pipe, nothing blocks, nothing fails.
        fifo.write(fifo_line(kVi1, Notice::Backup, 100));
        fifo.write(fifo_line(kVi1, Notice::Master, 100));
        EXPECT_EQ(fifo.written(), 2u);
        // A reader that comes later gets them in order.
        const int rd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK);
        ASSERT_GE(rd, 0);
        char buf[256];
        const ssize_t n = ::read(rd, buf, sizeof buf);
        ::close(rd);
        ASSERT_GT(n, 0);
        EXPECT_EQ(std::string(buf, std::size_t(n)), "INSTANCE \"VI_1\" BACKUP 100\nINSTANCE \"VI_1\" MASTER 100\n");
    }
    EXPECT_FALSE(fs::exists(path)) << "the FIFO it made goes with it";
}

TEST(Notify, AnExistingFifoIsUsedAndKeptAndAnythingElseIsRefused) {
    TempDir dir;
    const auto path = dir.path / "mine";
    ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
    EventLoop loop;
    { NotifyFifo fifo(loop, path); }
    EXPECT_TRUE(fs::exists(path)) << "not ours to remove";

    const auto file = dir.path / "file";
    std::ofstream(file) << "x";
    try {
        NotifyFifo fifo(loop, file);
        FAIL() << "a regular file was taken for a FIFO";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()), "global.notify_fifo.path: " + file.string() + " exists and is not a FIFO");
    }
    EXPECT_THROW(check_fifo_path(dir.path), std::runtime_error) << "a directory";
    EXPECT_NO_THROW(check_fifo_path(dir.path / "absent"));
}

// A full pipe (nobody reads) queues lines, bounded, and what overflows is counted; once a reader
// drains the pipe, the queue follows in order, through the loop and never blocking it.
TEST(Notify, AFullPipeQueuesLinesBoundedAndDrainsThemInOrder) {
    TempDir dir;
    const auto path = dir.path / "notify";
    EventLoop loop;
    NotifyFifo fifo(loop, path);
    std::size_t lines = 0;
    while (fifo.queued() == 0 && lines < 100'000) fifo.write(fifo_line(kVi1, Notice::Master, int(lines++ % 256)));
    ASSERT_EQ(fifo.queued(), 1u) << "the pipe is full after " << lines << " lines";
    for (std::size_t i = 0; i < NotifyFifo::kMaxQueued + 10; ++i) fifo.write(fifo_line(kGroup, Notice::Backup, 0));
    EXPECT_EQ(fifo.queued(), NotifyFifo::kMaxQueued);
    EXPECT_EQ(fifo.dropped(), 11u);

    const int rd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK);
    ASSERT_GE(rd, 0);
    std::string got;
    char buf[65536];
    const auto end = std::chrono::steady_clock::now() + 5s;
    const std::size_t total = fifo.written() + NotifyFifo::kMaxQueued;
    auto count = [&] { return std::size_t(std::count(got.begin(), got.end(), '\n')); };
    while (count() < total && std::chrono::steady_clock::now() < end) {
        loop.run_once(10);
        for (ssize_t n; (n = ::read(rd, buf, sizeof buf)) > 0;) got.append(buf, std::size_t(n));
    }
    ::close(rd);
    EXPECT_EQ(count(), total);
    EXPECT_EQ(fifo.queued(), 0u);
    EXPECT_TRUE(got.ends_with("\nGROUP \"VGM\" BACKUP 0\n"));
    EXPECT_LT(got.rfind("INSTANCE"), got.find("GROUP"))
        << "the queued lines come after every line the pipe held";
}

// Scripts of one source run one at a time, in the order of its transitions, however long each
// takes; other sources are not held up.
TEST(Notify, OneSourcesScriptsRunOneAtATimeInOrder) {
    TempDir dir;
    const auto log = dir.path / "log";
    Rig rig;
    rig.notifier.configure(std::nullopt, {}, 2s, now_ns());
    config::Notify n;
    // Each sleeps a different while: started together, they would finish out of order.
    n.any = {"/bin/bash", "-c", "sleep 0.0$((RANDOM % 5)); echo \"$1 $2 $3 $4\" >> " + log.string(), "bash"};
    const std::vector<Notice> flaps{Notice::Backup, Notice::Master, Notice::Backup, Notice::Master,
                                    Notice::Fault,  Notice::Backup, Notice::Master, Notice::Stop};
    for (std::size_t i = 0; i < flaps.size(); ++i) rig.notifier.post(n, kVi1, flaps[i], int(100 + i), now_ns());
    rig.notifier.post(n, NoticeSource{.group = false, .name = "VI_2"}, Notice::Master, 50, now_ns());
    EXPECT_FALSE(rig.notifier.idle());
    ASSERT_TRUE(rig.run_until([&] { return rig.notifier.idle(); }, 10s));
    std::string expected;
    for (std::size_t i = 0; i < flaps.size(); ++i)
        expected += "INSTANCE VI_1 " + std::string(notice_word(flaps[i])) + " " + std::to_string(100 + i) + "\n";
    std::string got = read_all(log), vi1;
    std::istringstream lines(got);
    for (std::string l; std::getline(lines, l);)
        if (l.find("VI_1") != std::string::npos) vi1 += l + "\n";
    EXPECT_EQ(vi1, expected);
    EXPECT_NE(got.find("INSTANCE VI_2 MASTER 50\n"), std::string::npos);
    EXPECT_EQ(rig.notifier.stats().scripts_run, flaps.size() + 1);
    EXPECT_EQ(rig.notifier.stats().scripts_failed, 0u);
}

// An upgrade: what waits in one notifier's queues runs, in order, in the next one's, ahead of
// what the next one posts itself.
TEST(Notify, WaitingScriptsGoOverToAnotherNotifierInOrder) {
    TempDir dir;
    const auto log = dir.path / "log";
    config::Notify n;
    n.any = {"/bin/bash", "-c", "sleep 0.05; echo \"$2 $3\" >> " + log.string(), "bash"};
    Notifier::Waiting handed;
    {
        Rig old;
        old.notifier.configure(std::nullopt, {}, 2s, now_ns());
        for (Notice x : {Notice::Backup, Notice::Master, Notice::Fault}) old.notifier.post(n, kVi1, x, 100, now_ns());
        handed = old.notifier.waiting();
        ASSERT_EQ(handed.size(), 1u);
        EXPECT_EQ(handed.at("INSTANCE VI_1").size(), 2u) << "the first runs, two wait";
    }  // frozen, then gone: the running one is killed here (O would leave it to finish)
    Rig next;
    next.notifier.configure(std::nullopt, {}, 2s, now_ns());
    next.notifier.run_waiting(handed, now_ns());
    next.notifier.post(n, kVi1, Notice::Backup, 100, now_ns());
    ASSERT_TRUE(next.run_until([&] { return next.notifier.idle(); }, 5s));
    EXPECT_EQ(read_all(log), "VI_1 MASTER\nVI_1 FAULT\nVI_1 BACKUP\n");
    EXPECT_EQ(next.notifier.stats().scripts_run, 3u);
}

TEST(Notify, AHungScriptIsKilledAtTheTimeoutAndTheNextRuns) {
    TempDir dir;
    const auto log = dir.path / "log";
    Rig rig;
    rig.notifier.configure(std::nullopt, {}, 200ms, now_ns());
    config::Notify hung;
    hung.master = {"/bin/sleep", "60"};
    hung.backup = {"/bin/sh", "-c", "echo backup >> " + log.string()};
    config::Notify missing;
    missing.fault = {"/nonexistent/notify.sh"};
    rig.notifier.post(hung, kVi1, Notice::Master, 100, now_ns());
    rig.notifier.post(missing, kVi1, Notice::Fault, 100, now_ns());  // cannot execute: counted, skipped
    rig.notifier.post(hung, kVi1, Notice::Backup, 100, now_ns());
    ASSERT_TRUE(rig.run_until([&] { return rig.notifier.idle(); }, 10s));
    EXPECT_EQ(read_all(log), "backup\n");
    EXPECT_EQ(rig.notifier.stats().scripts_timed_out, 1u);
    EXPECT_EQ(rig.notifier.stats().scripts_failed, 2u);
}

// keepalived's notify_fifo_script: started once with the FIFO's path appended; it reads the lines.
TEST(Notify, TheFifoScriptGetsThePathAndReadsTheLines) {
    TempDir dir;
    const auto fifo = dir.path / "notify";
    const auto out = dir.path / "out";
    Rig rig;
    rig.notifier.configure(fifo.string(), {"/bin/sh", "-c", "exec cat \"$0\" > " + out.string()}, 1s, now_ns());
    ASSERT_NE(rig.notifier.fifo(), nullptr);
    rig.notifier.post(config::Notify{}, kVi1, Notice::Master, 100, now_ns());
    rig.notifier.post(config::Notify{}, kGroup, Notice::Master, 0, now_ns());
    const std::string want = "INSTANCE \"VI_1\" MASTER 100\nGROUP \"VGM\" MASTER 0\n";
    ASSERT_TRUE(rig.run_until([&] { return read_all(out) == want; }, 5s)) << read_all(out);
    rig.notifier.configure(std::nullopt, {}, 1s, now_ns());  // off: the reader is ended, the FIFO removed
    EXPECT_EQ(rig.notifier.fifo(), nullptr);
    EXPECT_FALSE(fs::exists(fifo));
}

}  // namespace
}  // namespace xvrrp
