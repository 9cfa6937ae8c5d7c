// The topologies keepalived users run beyond one pair: three routers at 150/100/50 handing the VIP
// down the line and back, and a symmetric pair (each router master of one VIP, both tracking
// their own web server) where a failed service moves only its own node's VIP.
#include <csignal>

#include "daemon_lab.hpp"

namespace xvrrp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

class ThreeRouterLab : public DaemonLab {
protected:
    int routers() const override { return 3; }
    json config(int i, int priority) {
        json c = lab_->config(i, priority);
        c["instances"][0]["vips"] = {"192.0.2.100/24"};
        return c;
    }
    // Exactly one router holds the VIP, and it is router i; the others are BACKUP.
    bool only_master(int i) {
        return VrrpLab::wait_until([&] {
            for (int k = 1; k <= 3; ++k) {
                const std::string want = k == i ? "MASTER" : "BACKUP";
                const std::string st = lab_->state(k);
                if (!st.empty() && st != want) return false;  // "" : stopped
            }
            return lab_->state(i) == "MASTER" && vip_holders(*lab_, 3) == 1 &&
                   lab_->router(i).exec("ip -4 addr show dev vr0").find("192.0.2.100/24") != std::string::npos;
        }, 5s);
    }
    void stop(int i) {
        lab_->signal(i, SIGTERM);
        ASSERT_EQ(lab_->wait_exit(i, 5s), 0);
    }
};

// 150 → 100 → 50 as each master stops, and back up the line as each returns (preemption).
TEST_F(ThreeRouterLab, TheVipCascadesDownThePrioritiesAndComesBack) {
    lab_->start(1, config(1, 150));
    lab_->start(2, config(2, 100));
    lab_->start(3, config(3, 50));
    ASSERT_TRUE(only_master(1));
    EXPECT_TRUE(client_reaches_vip(*lab_));
    // Started tens of ms apart, r3 may have been MASTER for a moment before it heard r1 (all start
    // as BACKUP; the first whose timer runs out takes over): counted from here.
    const int r3_became_master = lab_->status(3)["instances"][0]["counters"]["become_master"].get<int>();

    stop(1);
    ASSERT_TRUE(only_master(2)) << "100 before 50";
    stop(2);
    ASSERT_TRUE(only_master(3));
    EXPECT_TRUE(client_reaches_vip(*lab_));

    lab_->start(2, config(2, 100));
    ASSERT_TRUE(only_master(2)) << "100 preempts 50";
    lab_->start(1, config(1, 150));
    ASSERT_TRUE(only_master(1)) << "150 preempts 100";
    EXPECT_TRUE(client_reaches_vip(*lab_));
    // r3 went BACKUP → MASTER → BACKUP once in the cascade, no more.
    EXPECT_EQ(lab_->status(3)["instances"][0]["counters"]["become_master"].get<int>(), r3_became_master + 1);
}

// The middle router's tracker fails while the top one is down: the VIP goes to the bottom one,
// not to the router whose service is broken.
TEST_F(ThreeRouterLab, ATrackerTakesTheMiddleRouterOutOfTheLine) {
    ScratchDir dir;
    lab_->start(1, config(1, 150));
    json c2 = config(2, 100);
    c2["trackers"] = {{"svc", {{"type", "file"}, {"path", dir.file("svc")}, {"weight", 1}}}};
    c2["instances"][0]["track"] = {"svc"};
    lab_->start(2, c2);
    lab_->start(3, config(3, 50));
    ASSERT_TRUE(only_master(1));
    dir.write("svc", "-60\n");  // 100 - 60 = 40 < 50
    ASSERT_TRUE(VrrpLab::wait_until([&] { return lab_->status(2)["instances"][0]["priority"] == 40; }, 3s));
    stop(1);
    EXPECT_TRUE(only_master(3)) << "r2 at 40 yields to r3 at 50";
    dir.write("svc", "0\n");
    EXPECT_TRUE(only_master(2)) << "r2 back at 100 preempts r3";
}

// A symmetric pair: gw1 (VRID 51, 192.0.2.100) is r1's at 150, gw2 (VRID 52, 192.0.2.101) is r2's;
// each router's instances track its own web server (an http check, weight -60). r1's server
// failing moves gw1 to r2 and leaves gw2 where it was: r2's gw2 never changes state.
class SymmetricPairLab : public DaemonLab {
protected:
    json config(int i) {
        json c = lab_->config(i, i == 1 ? 150 : 100);
        c["trackers"] = {{"web", {{"type", "http"},
                                  {"url", "http://" + VrrpLab::router_ip(i) + ":8080/"},
                                  {"interval_ms", 100},
                                  {"timeout_ms", 300},
                                  {"weight", -60}}}};
        json gw1 = c["instances"][0];
        gw1["name"] = "gw1";
        gw1["vips"] = {"192.0.2.100/24"};
        gw1["track"] = {"web"};
        json gw2 = gw1;
        gw2["name"] = "gw2";
        gw2["vrid"] = 52;
        gw2["priority"] = i == 2 ? 150 : 100;
        gw2["vips"] = {"192.0.2.101/24"};
        c["instances"] = {gw1, gw2};
        return c;
    }
    std::string st(int i, const std::string& name) { return lab_->state(i, "IPv4", name); }
    std::uint64_t transitions(int i, const std::string& name) {
        const json s = lab_->status(i);
        for (const auto& in : s["instances"])
            if (in["name"] == name) return in["transitions"].get<std::uint64_t>();
        return 0;
    }
};

TEST_F(SymmetricPairLab, AFailedServiceMovesOnlyItsOwnNodesVip) {
    ScratchDir svc1, svc2;
    lab_->start_helper(1, {HTTP_STUB_PATH, VrrpLab::router_ip(1), "8080", svc1.file("")}, "r1-http.log");
    lab_->start_helper(2, {HTTP_STUB_PATH, VrrpLab::router_ip(2), "8080", svc2.file("")}, "r2-http.log");
    lab_->start(1, config(1));
    lab_->start(2, config(2));
    ASSERT_TRUE(VrrpLab::wait_until([&] {
        return st(1, "gw1") == "MASTER" && st(2, "gw1") == "BACKUP" && st(2, "gw2") == "MASTER" && st(1, "gw2") == "BACKUP";
    }, 6s));
    ASSERT_TRUE(VrrpLab::wait_until([&] { return vip_holders(*lab_, 2, "192.0.2.101/24") == 1; }, 2s));
    const std::uint64_t gw2_before = transitions(2, "gw2");

    svc1.write("status", "503");  // r1's web server fails: 150 - 60 = 90 < 100
    EXPECT_TRUE(VrrpLab::wait_until([&] { return st(2, "gw1") == "MASTER" && st(1, "gw1") == "BACKUP"; }, 4s));
    EXPECT_EQ(st(2, "gw2"), "MASTER");
    EXPECT_EQ(transitions(2, "gw2"), gw2_before) << "gw2 never moved";
    EXPECT_NE(lab_->router(2).exec("ip -4 addr show dev vr0").find("192.0.2.100/24"), std::string::npos);
    EXPECT_EQ(vip_holders(*lab_, 2, "192.0.2.100/24"), 1);
    EXPECT_TRUE(client_reaches_vip(*lab_, "192.0.2.100"));
    EXPECT_TRUE(client_reaches_vip(*lab_, "192.0.2.101"));

    svc1.remove("status");  // back: gw1 returns to r1 (preempt), gw2 still untouched
    EXPECT_TRUE(VrrpLab::wait_until([&] { return st(1, "gw1") == "MASTER" && st(2, "gw1") == "BACKUP"; }, 4s));
    EXPECT_EQ(transitions(2, "gw2"), gw2_before);

    svc2.write("status", "503");  // and the other way round
    EXPECT_TRUE(VrrpLab::wait_until([&] { return st(1, "gw2") == "MASTER" && st(2, "gw2") == "BACKUP"; }, 4s));
    EXPECT_EQ(st(1, "gw1"), "MASTER");
    EXPECT_EQ(vip_holders(*lab_, 2, "192.0.2.101/24"), 1);
}

}  // namespace
}  // namespace xvrrp::test
