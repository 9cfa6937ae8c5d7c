// Sync groups in the lab: "gateway" (vr0) and "seg1" (vr1) in one group on both routers. The
// group moves whole when one member's interface goes down and comes back whole; a member that
// alone would preempt waits for the others; the group's notify lines are keepalived's.
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

}  // namespace
}  // namespace xvrrp::test
