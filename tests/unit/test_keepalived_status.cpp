// keepalived's SIGJSON document from a router's view: field names, keepalived's state numbers,
// its command quoting and VIP rendering, a masked password. (The lab compares it with what
// keepalived 2.2.7 itself writes: test_lab_keepalived.cpp.)
#include "xvrrp/keepalived_status.hpp"

#include <gtest/gtest.h>

namespace xvrrp {
namespace {

TEST(KeepalivedStatus, ARouterBecomesKeepalivedsDataAndStats) {
    config::Instance in;
    in.name = "VI_1";
    in.interface = "eth0";
    in.vrid = 51;
    in.version = 2;
    in.priority = 100;
    in.advert_interval_ms = 1000;
    in.preempt = false;
    in.auth_pass = "secret";
    in.vips = {config::Vip{.address = IpAddress::from("192.0.2.100"), .prefix_len = 24},
               config::Vip{.address = IpAddress::from("192.0.2.101"), .prefix_len = 32, .dev = "eth1", .label = "eth1:x"},
               config::Vip{.address = IpAddress::from("2001:db8::1"), .prefix_len = 64}};
    in.notify.master = {"/usr/local/bin/up", "VI 1"};
    in.track = {config::TrackUse{.tracker = "chk"}, config::TrackUse{.tracker = "wan"}};
    std::map<std::string, config::Tracker> trackers;
    trackers["chk"] = config::Tracker{.kind = config::TrackerKind::Script, .command = {"/bin/check", "-q"}};
    trackers["wan"] = config::Tracker{.kind = config::TrackerKind::Interface, .interface = "eth2"};

    keepalived::RouterView v{.cfg = in, .iname = "VI_1", .family = Family::V4};
    v.state = fsm::State::Backup;
    v.effective_priority = 90;
    v.master_priority = 150;
    v.master_adver_int_cs = 100;
    v.last_transition = 1764990000.25;
    v.sent = RouterCounters{.adverts_sent = 7, .priority_zero_sent = 1, .become_master = 2, .release_master = 2};
    v.adverts_received = 40;
    v.priority_zero_received = 3;
    const nlohmann::json j = keepalived::instance_json(v, trackers);
    const auto& d = j.at("data");
    EXPECT_EQ(d["iname"], "VI_1");
    EXPECT_EQ(d["state"], 1);
    EXPECT_EQ(d["wantstate"], 1);
    EXPECT_EQ(d["base_priority"], 100);
    EXPECT_EQ(d["effective_priority"], 90);
    EXPECT_EQ(d["master_priority"], 150);
    EXPECT_DOUBLE_EQ(d["master_adver_int"].get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(d["last_transition"].get<double>(), 1764990000.25);
    EXPECT_EQ(d["nopreempt"], true);
    EXPECT_EQ(d["vipset"], false);
    EXPECT_EQ(d["vips"], nlohmann::json({"192.0.2.100/24 dev eth0 scope global", "192.0.2.101 dev eth1 scope global label eth1:x"}))
        << "this family's VIPs only";
    EXPECT_EQ(d["script_master"], "'/usr/local/bin/up' 'VI 1'");
    EXPECT_FALSE(d.contains("script_backup")) << "absent, as keepalived leaves it out";
    EXPECT_EQ(d["track_script"], nlohmann::json({"'/bin/check' '-q'"}));
    EXPECT_EQ(d["track_ifp"], nlohmann::json({"eth2"}));
    EXPECT_EQ(d["auth_type"], 1);
    EXPECT_EQ(d["auth_data"], "********") << "never the password";
    EXPECT_FALSE(d.contains("vmac_ifname"));
    const auto& s = j.at("stats");
    EXPECT_EQ(s["advert_rcvd"], 40);
    EXPECT_EQ(s["advert_sent"], 7);
    EXPECT_EQ(s["pri_zero_sent"], 1);
    EXPECT_EQ(s["pri_zero_rcvd"], 3);
    EXPECT_EQ(s["become_master"], 2);
    EXPECT_EQ(s["release_master"], 2);

    EXPECT_EQ(keepalived::state_number(fsm::State::Initialize), 0);
    EXPECT_EQ(keepalived::state_number(fsm::State::Master), 2);
    EXPECT_EQ(keepalived::state_number(fsm::State::Fault), 3);
}

}  // namespace
}  // namespace xvrrp
