// Sync groups in the lab: "gateway" (vr0) and "seg1" (vr1) in one group on both routers. The
// group moves whole when one member's interface goes down and comes back whole; a member that
// alone would preempt waits for the others; the group's notify lines are keepalived's.
#include <csignal>
#include <thread>

#include "daemon_lab.hpp"

namespace xvrrp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

class SyncGroupLab : public DaemonLab {
protected:
    int segments() const override { return 2; }
    json config(int i, int priority) {
        json c = lab_->two_segment_config(i, priority);
        c["sync_groups"] = {{{"name", "VG"}, {"instances", {"gateway", "seg1"}}}};
        return c;
    }
    bool both(int i, const std::string& state, std::chrono::milliseconds limit = 5s) {
        return becomes(i, state, limit) && becomes(i, state, limit, "IPv4", "seg1");
    }
    std::vector<std::string> group_lines(const ScratchDir& dir) {
        std::vector<std::string> out;
        std::istringstream in(dir.read("fifo.out"));
        for (std::string l; std::getline(in, l);)
            if (l.starts_with("GROUP")) out.push_back(l);
        return out;
    }
};

TEST_F(SyncGroupLab, TheGroupMovesWholeWhenOneMembersInterfaceGoesDown) {
    ScratchDir fifo;
    json c1 = config(1, 150);
    c1["global"]["notify_fifo"] = {{"path", fifo.file("fifo")},
                                   {"script", {fifo.script("reader.sh", "#!/bin/sh\nexec cat \"$1\" >> " + fifo.file("fifo.out") + "\n")}}};
    lab_->start(1, c1);
    lab_->start(2, config(2, 100));
    ASSERT_TRUE(both(1, "MASTER") && both(2, "BACKUP"));

    lab_->router(1).exec("ip link set vr1 down");  // seg1's interface: seg1 FAULT, and gateway with it
    EXPECT_TRUE(becomes(1, "FAULT", 2s, "IPv4", "seg1"));
    EXPECT_TRUE(becomes(1, "FAULT", 2s)) << "gateway's own interface is fine: the group took it to FAULT";
    EXPECT_TRUE(both(2, "MASTER", 3s));
    EXPECT_TRUE(VrrpLab::wait_until([&] { return vip_holders(*lab_, 2) == 1; }, 2s));
    EXPECT_TRUE(client_reaches_vip(*lab_)) << "gateway's VIP answers from r2";
    const json g = lab_->status(1)["instances"][0];
    ASSERT_EQ(g["name"], "gateway");
    ASSERT_EQ(g["fault_reasons"].size(), 1u) << g;
    EXPECT_EQ(g["fault_reasons"][0], "sync group VG: seg1 is in FAULT");

    lab_->router(1).exec("ip link set vr1 up");
    EXPECT_TRUE(both(1, "MASTER", 5s)) << "back whole, and preempts (150 > 100) together";
    EXPECT_TRUE(both(2, "BACKUP"));
    ASSERT_TRUE(VrrpLab::wait_until([&] { return group_lines(fifo).size() >= 5; }, 3s)) << fifo.read("fifo.out");
    EXPECT_EQ(group_lines(fifo), (std::vector<std::string>{"GROUP \"VG\" BACKUP 0", "GROUP \"VG\" MASTER 0",
                                                          "GROUP \"VG\" FAULT 0", "GROUP \"VG\" BACKUP 0",
                                                          "GROUP \"VG\" MASTER 0"}))
        << fifo.read("fifo.out");
}

// r2's seg1 would preempt r1 (200 > 150) but its gateway hears a better master (150 > 100): the
// group holds seg1 back, so neither router's group is split across the two.
TEST_F(SyncGroupLab, AMemberThatAloneWouldPreemptWaitsForTheOthers) {
    lab_->start(1, config(1, 150));
    ASSERT_TRUE(both(1, "MASTER"));
    json c2 = config(2, 100);
    c2["instances"][1]["priority"] = 200;  // seg1
    lab_->start(2, c2);
    ASSERT_TRUE(both(2, "BACKUP"));
    for (int k = 0; k < 10; ++k) {
        std::this_thread::sleep_for(100ms);
        ASSERT_EQ(lab_->state(2, "IPv4", "seg1"), "BACKUP") << "after " << (k + 1) * 100 << " ms";
        ASSERT_EQ(lab_->state(1, "IPv4", "seg1"), "MASTER");
    }
    // r2 drops its group (a reload): its seg1 preempts at once. r1's group follows its seg1 to
    // BACKUP, so r1's gateway resigns too, and r2 holds both: r1 is never split either.
    c2.erase("sync_groups");
    lab_->write_config(2, c2);
    lab_->signal(2, SIGHUP);
    EXPECT_TRUE(becomes(2, "MASTER", 3s, "IPv4", "seg1"));
    EXPECT_TRUE(both(1, "BACKUP", 3s));
    EXPECT_TRUE(becomes(2, "MASTER", 3s)) << "gateway: r1's resignation hands it over";
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(lab_->state(1), "BACKUP") << "r1's gateway (150) would preempt, but its group waits for seg1";
}

// A sync group resumes whole: upgrades and a crash restart of the group's MASTER move nothing.
// r2 never leaves BACKUP in either segment, r1's members never leave MASTER, an upgrade writes no
// FIFO line (group or instance) and leaves one FIFO reader running.
TEST_F(SyncGroupLab, UpgradesAndACrashRestartResumeTheGroupWhole) {
    ScratchDir fifo;
    json c1 = config(1, 150);
    c1["global"]["heartbeat_timeout_ms"] = 1000;
    c1["global"]["notify_fifo"] = {{"path", fifo.file("fifo")},
                                   {"script", {fifo.script("reader.sh", "#!/bin/sh\nexec cat \"$1\" >> " + fifo.file("fifo.out") + "\n")}}};
    lab_->start(1, c1);
    lab_->start(2, config(2, 100));
    ASSERT_TRUE(both(1, "MASTER") && both(2, "BACKUP"));
    ASSERT_TRUE(VrrpLab::wait_until([&] { return group_lines(fifo).size() == 2; }, 3s)) << fifo.read("fifo.out");
    std::this_thread::sleep_for(300ms);  // the last instance lines written
    const std::string lines_before = fifo.read("fifo.out");
    auto transitions = [&](int i) {
        const json s = lab_->status(i);
        return std::make_pair(s["instances"][0]["transitions"].get<int>(), s["instances"][1]["transitions"].get<int>());
    };
    const auto r1_before = transitions(1);
    const auto r2_before = transitions(2);
    const std::string ctl = std::string(XVRRPCTL_PATH) + " -s " + lab_->socket(1);
    for (int k = 0; k < 3; ++k) {
        const std::size_t from = lab_->log(1).size();
        const std::string out = lab_->router(1).exec(ctl + " upgrade 2>&1");
        ASSERT_EQ(out.rfind("upgraded: pid ", 0), 0u) << out << lab_->log(1).substr(from);
        EXPECT_EQ(lab_->log(1).find("not resumed as MASTER", from), std::string::npos) << lab_->log(1).substr(from);
        EXPECT_EQ(lab_->state(1), "MASTER");
        EXPECT_EQ(lab_->state(1, "IPv4", "seg1"), "MASTER");
    }
    std::this_thread::sleep_for(1s);  // well past r2's Master_Down_Interval (100 ms adverts)
    EXPECT_EQ(transitions(1), r1_before) << "r1's members never moved";
    EXPECT_EQ(transitions(2), r2_before) << "r2 never left BACKUP";
    EXPECT_EQ(fifo.read("fifo.out"), lines_before) << "an upgrade writes no FIFO line";
    EXPECT_EQ(sh("pgrep -fc '" + fifo.file("reader.sh") + "'"), "1\n") << "one FIFO reader, not one per upgrade";

    // A crash (of the daemon the last upgrade started) and a restart within the heartbeat
    // timeout: the group resumes whole too.
    const int pid = lab_->status(1)["pid"].get<int>();
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    ASSERT_TRUE(VrrpLab::wait_until([&] { return VrrpLab::process_gone(pid); }, 2s));
    const std::string log = start_and_log(1, c1);
    EXPECT_NE(log.find("resuming the 2 routers a daemon left"), std::string::npos) << log;
    EXPECT_EQ(log.find("Entering BACKUP STATE"), std::string::npos) << log;
    EXPECT_TRUE(both(1, "MASTER", 100ms));
    std::this_thread::sleep_for(1s);
    EXPECT_EQ(transitions(2), r2_before) << "r2 never left BACKUP";
    EXPECT_TRUE(client_reaches_vip(*lab_));
}

// Only part of the group was left serving as MASTER (r2 took seg1 while r1's daemon was dead):
// no member resumes, so r1 is never split; the group elects again as at any start.
TEST_F(SyncGroupLab, AGroupLeftHalfMasterIsNotResumed) {
    json c1 = config(1, 150);
    c1["global"]["heartbeat_timeout_ms"] = 20000;  // fresh all along: the dataplane's states decide
    lab_->start(1, c1);
    json c2 = config(2, 100);
    c2.erase("sync_groups");
    lab_->start(2, c2);
    ASSERT_TRUE(both(1, "MASTER") && both(2, "BACKUP"));
    lab_->signal(1, SIGKILL);
    lab_->wait_exit(1, 1s);
    json better = c2;
    better["instances"][1]["priority"] = 200;  // seg1: r2 takes it over, r1's XDP hears it
    lab_->write_config(2, better);
    lab_->signal(2, SIGHUP);
    ASSERT_TRUE(becomes(2, "MASTER", 3s, "IPv4", "seg1"));
    std::this_thread::sleep_for(300ms);
    const std::string log = start_and_log(1, c1);
    EXPECT_NE(log.find("(group VG) not resumed as MASTER"), std::string::npos) << log;
    EXPECT_EQ(log.find("resumed after a restart"), std::string::npos) << log;
    EXPECT_TRUE(both(1, "BACKUP", 3s)) << "seg1 hears r2's 200: the group stays BACKUP whole";
    for (int k = 0; k < 5; ++k) {
        std::this_thread::sleep_for(100ms);
        EXPECT_EQ(lab_->state(1), "BACKUP") << "gateway (150) would preempt alone, but its group waits for seg1";
    }
}

}  // namespace
}  // namespace xvrrp::test
