// Interop with real keepalived (Debian's 2.2.7) in the same lab: one VRRPv3
// group and one VRRPv2 group with PASS authentication, xvrrpd on r1 and
// keepalived on r2; each side elects, fails over and preempts against the other.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <thread>

#include "privileged.hpp"
#include "vrrp_lab.hpp"

using namespace xvrrp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

json xvrrpd_config(const VrrpLab& lab, int priority) {
    json c = lab.config(1, priority);
    c["instances"][0]["vips"] = {"192.0.2.100/24"};
    c["instances"].push_back({{"name", "legacy"},
                              {"interface", "vr0"},
                              {"vrid", 52},
                              {"version", 2},
                              {"priority", priority},
                              {"advert_interval_ms", 1000},
                              {"vips", {"192.0.2.101/24"}},
                              {"authentication", {{"type", "pass"}, {"password", "secret"}}}});
    return c;
}

std::string keepalived_config(int priority) {
    const std::string p = std::to_string(priority);
    return "global_defs {\n  router_id r2\n  enable_script_security\n}\n"
           "vrrp_instance gateway {\n  version 3\n  state BACKUP\n  interface vr0\n  virtual_router_id 51\n"
           "  priority " + p + "\n  advert_int 0.1\n  virtual_ipaddress {\n    192.0.2.100/24\n  }\n}\n"
           "vrrp_instance legacy {\n  version 2\n  state BACKUP\n  interface vr0\n  virtual_router_id 52\n"
           "  priority " + p + "\n  advert_int 1\n  authentication {\n    auth_type PASS\n    auth_pass secret\n  }\n"
           "  virtual_ipaddress {\n    192.0.2.101/24\n  }\n}\n";
}

class KeepalivedInterop : public ::testing::Test {
protected:
    void SetUp() override {
        XVRRP_REQUIRE_ROOT();
        if (std::system("command -v keepalived >/dev/null") != 0) GTEST_SKIP() << "keepalived is not installed";
        lab_ = std::make_unique<VrrpLab>(2);
    }
    void TearDown() override {
        if (HasFailure() && lab_) std::cerr << "---- xvrrpd\n" << lab_->log(1) << "---- keepalived\n" << lab_->log(2);
        lab_.reset();
    }
    void start_keepalived(int priority) { lab_->start_keepalived(2, keepalived_config(priority)); }
    // Who holds a VIP: the router that has it on its interface.
    bool held_by(int i, const std::string& vip) {
        return lab_->router(i).exec("ip -4 addr show dev vr0").find(vip + "/24") != std::string::npos;
    }
    bool only(int i, const std::string& vip, std::chrono::milliseconds limit = 8s) {
        return VrrpLab::wait_until([&] { return held_by(i, vip) && !held_by(3 - i, vip); }, limit);
    }
    std::string xstate(const std::string& name) { return lab_->state(1, "IPv4", name); }
    std::unique_ptr<VrrpLab> lab_;
};

// Both routers on a macvlan, whose multicast filter drops what a NIC's would (see
// DaemonLab.BehindAMulticastFilterTheBackupHearsTheMaster), `mac: "interface"` as keepalived users
// have it, each daemon MASTER in turn, IPv4 and IPv6, on the RFC's group and on another
// (keepalived's vrrp_mcast_group4/6, xvrrpd's multicast_groups): exactly one holds the VIP and the
// other is BACKUP. With xvrrpd the backup, it failed before xvrrpd put the group's MAC on the link.
struct FilterCase {
    bool xvrrpd_master;
    bool v6;
    std::string group;  // empty: the RFC's
    friend std::ostream& operator<<(std::ostream& o, const FilterCase& c) {
        return o << (c.xvrrpd_master ? "xvrrpd" : "keepalived") << " MASTER, " << (c.v6 ? "IPv6" : "IPv4") << ", group "
                 << (c.group.empty() ? "RFC" : c.group);
    }
};
class KeepalivedBehindAMulticastFilter : public KeepalivedInterop, public ::testing::WithParamInterface<FilterCase> {};

TEST_P(KeepalivedBehindAMulticastFilter, OneMasterEitherWayRound) {
    const auto& [xvrrpd_master, v6, group] = GetParam();
    const std::string vip = v6 ? "2001:db8::100/64" : "192.0.2.100/24";
    lab_->use_macvlan(1);
    lab_->use_macvlan(2);
    json x = lab_->config(1, xvrrpd_master ? 150 : 100, 1000);
    x["interfaces"] = {{"mv0", {{"xdp_mode", "auto"}}}};
    x["instances"][0]["interface"] = "mv0";
    x["instances"][0]["mac"] = "interface";
    x["instances"][0]["vips"] = {vip};
    if (!group.empty()) x["instances"][0]["multicast_groups"] = {group};
    if (xvrrpd_master) lab_->start(1, x);  // the master first: the backup hears it from its start
    const std::string group_line = group.empty() ? "" : std::string("  vrrp_mcast_group") + (v6 ? "6 " : "4 ") + group + "\n";
    lab_->start_keepalived(2, "global_defs {\n  router_id r2\n  enable_script_security\n" + group_line + "}\n"
                              "vrrp_instance gateway {\n  version 3\n  state BACKUP\n  interface mv0\n"
                              "  virtual_router_id 51\n  priority " + std::string(xvrrpd_master ? "100" : "150") +
                              "\n  advert_int 1\n  virtual_ipaddress {\n    " + vip + "\n  }\n}\n");
    if (!xvrrpd_master) lab_->start(1, x);
    const int master = xvrrpd_master ? 1 : 2;
    auto holds = [&](int i) {
        return lab_->router(i).exec(std::string(v6 ? "ip -6" : "ip -4") + " addr show dev mv0").find(vip) != std::string::npos;
    };
    ASSERT_TRUE(VrrpLab::wait_until([&] { return holds(master); }, 8s));
    std::this_thread::sleep_for(5s);  // past the backup's Master_Down_Interval (3.6 s) once more
    EXPECT_TRUE(holds(master));
    EXPECT_FALSE(holds(3 - master)) << "two masters";
    EXPECT_EQ(lab_->state(1, v6 ? "IPv6" : "IPv4"), xvrrpd_master ? "MASTER" : "BACKUP");
    EXPECT_EQ(lab_->log(3 - master).find(xvrrpd_master ? "(gateway) Entering MASTER STATE" : "Entering MASTER"), std::string::npos)
        << "the backup was never MASTER";
    EXPECT_EQ(lab_->client().exec_status(std::string(v6 ? "ping -6" : "ping") + " -c 1 -W 1 " + vip.substr(0, vip.find('/'))), 0);
}

INSTANTIATE_TEST_SUITE_P(Macvlan, KeepalivedBehindAMulticastFilter,
                         ::testing::Values(FilterCase{true, false, ""}, FilterCase{false, false, ""},
                                           FilterCase{true, false, "224.0.0.19"}, FilterCase{false, false, "224.0.0.19"},
                                           FilterCase{true, true, ""}, FilterCase{false, true, ""},
                                           FilterCase{true, true, "ff02::19"}, FilterCase{false, true, "ff02::19"}),
                         [](const auto& info) {
                             const FilterCase& c = info.param;
                             return std::string(c.xvrrpd_master ? "XvrrpdMaster" : "KeepalivedMaster") + (c.v6 ? "Ipv6" : "Ipv4") +
                                    (c.group.empty() ? "" : "OnAnotherGroup");
                         });

TEST_F(KeepalivedInterop, XvrrpdMasterKeepalivedBackupThenFailoverAndPreemptBack) {
    lab_->start(1, xvrrpd_config(*lab_, 150));
    start_keepalived(100);
    ASSERT_TRUE(only(1, "192.0.2.100")) << "v3 group";
    ASSERT_TRUE(only(1, "192.0.2.101")) << "v2 group with PASS authentication";
    EXPECT_EQ(xstate("gateway"), "MASTER");
    EXPECT_EQ(xstate("legacy"), "MASTER");
    EXPECT_TRUE(VrrpLab::wait_until([&] { return lab_->log(2).find("(gateway) Entering BACKUP STATE") != std::string::npos; }, 3s));

    // xvrrpd resigns: keepalived takes both groups.
    lab_->signal(1, SIGTERM);
    ASSERT_EQ(lab_->wait_exit(1, 5s), 0);
    EXPECT_TRUE(only(2, "192.0.2.100"));
    EXPECT_TRUE(only(2, "192.0.2.101"));

    // xvrrpd returns with the higher priority and preempts keepalived in both groups.
    lab_->start(1, xvrrpd_config(*lab_, 150));
    EXPECT_TRUE(only(1, "192.0.2.100"));
    EXPECT_TRUE(only(1, "192.0.2.101"));
    EXPECT_EQ(lab_->client().exec_status("ping -c 1 -W 1 192.0.2.100"), 0);
}

TEST_F(KeepalivedInterop, KeepalivedMasterXvrrpdBackupThenFailoverAndPreemptBack) {
    start_keepalived(150);
    lab_->start(1, xvrrpd_config(*lab_, 100));
    ASSERT_TRUE(only(2, "192.0.2.100"));
    ASSERT_TRUE(only(2, "192.0.2.101"));
    EXPECT_TRUE(VrrpLab::wait_until([&] { return xstate("gateway") == "BACKUP" && xstate("legacy") == "BACKUP"; }, 3s));
    const auto s = lab_->status(1);
    EXPECT_EQ(s["instances"][0]["master"]["address"], "192.0.2.2");
    EXPECT_EQ(s["instances"][0]["master"]["priority"], 150);

    // keepalived dies without a word (its VRRP child too): xvrrpd takes over when Master_Down_Interval runs out.
    lab_->kill_keepalived(2);
    // keepalived's VIPs stay on r2's interface when it is killed; remove them as its host would reboot.
    lab_->router(2).exec_status("ip addr del 192.0.2.100/24 dev vr0");
    lab_->router(2).exec_status("ip addr del 192.0.2.101/24 dev vr0");
    EXPECT_TRUE(VrrpLab::wait_until([&] { return xstate("gateway") == "MASTER" && xstate("legacy") == "MASTER"; }, 8s));
    EXPECT_TRUE(only(1, "192.0.2.100"));

    // keepalived returns with the higher priority: xvrrpd yields both groups.
    start_keepalived(150);
    EXPECT_TRUE(only(2, "192.0.2.100"));
    EXPECT_TRUE(only(2, "192.0.2.101"));
    EXPECT_TRUE(VrrpLab::wait_until([&] { return xstate("gateway") == "BACKUP" && xstate("legacy") == "BACKUP"; }, 3s));
}

// `xvrrpctl status --keepalived-json` against keepalived's own SIGJSON document for the same two
// groups: every field xvrrpd writes is one keepalived writes, of the same JSON type; what the
// configuration says is equal; and each side's view of the other agrees (keepalived BACKUP hears
// xvrrpd's priority 150; keepalived received no more adverts than xvrrpd counts as sent).
TEST_F(KeepalivedInterop, KeepalivedJsonStatusHasKeepalivedsFieldsAndAgreesWithIt) {
    lab_->start(1, xvrrpd_config(*lab_, 150));
    ::setenv("TMPDIR", lab_->dir().c_str(), 1);  // keepalived writes $TMPDIR/keepalived.json
    start_keepalived(100);
    ::unsetenv("TMPDIR");
    ASSERT_TRUE(only(1, "192.0.2.100"));
    ASSERT_TRUE(only(1, "192.0.2.101"));
    ASSERT_TRUE(VrrpLab::wait_until([&] { return lab_->log(2).find("(legacy) Entering BACKUP STATE") != std::string::npos; }, 5s));
    std::this_thread::sleep_for(1500ms);  // counters to compare

    const std::string path = lab_->dir() + "/keepalived.json";
    const int sigjson = std::stoi(sh("keepalived --signum=JSON"));
    lab_->signal(2, sigjson);
    json theirs;
    ASSERT_TRUE(VrrpLab::wait_until([&] {
        std::ifstream f(path);
        theirs = json::parse(f, nullptr, false);
        return theirs.is_array() && theirs.size() == 2;
    }, 3s)) << "keepalived wrote no JSON to " << path;
    const json ours = json::parse(sh(std::string(XVRRPCTL_PATH) + " -s " + lab_->socket(1) + " status --keepalived-json"));
    ASSERT_TRUE(ours.is_array());
    ASSERT_EQ(ours.size(), 2u) << ours.dump();

    auto find = [](const json& doc, const std::string& iname) {
        for (const auto& e : doc)
            if (e["data"]["iname"] == iname) return e;
        return json();
    };
    auto same_kind = [](const json& a, const json& b) {
        return (a.is_number() && b.is_number()) || a.type() == b.type();
    };
    for (const std::string name : {"gateway", "legacy"}) {
        SCOPED_TRACE(name);
        const json o = find(ours, name), t = find(theirs, name);
        ASSERT_TRUE(o.is_object() && t.is_object()) << ours.dump() << "\n" << theirs.dump();
        for (const char* part : {"data", "stats"})
            for (const auto& [key, value] : o[part].items()) {
                ASSERT_TRUE(t[part].contains(key)) << part << "." << key << " is not keepalived's";
                EXPECT_TRUE(same_kind(value, t[part][key])) << part << "." << key << ": " << value << " vs " << t[part][key];
            }
        for (const char* key : {"vrid", "version", "adver_int", "ifp_ifname", "vips", "nopreempt",
                                "preempt_delay", "dont_track_primary", "auth_type", "garp_rep", "garp_refresh",
                                "garp_refresh_rep", "garp_delay", "garp_lower_prio_rep"})
            EXPECT_EQ(o["data"][key], t["data"][key]) << key;
        EXPECT_EQ(o["data"]["state"], 2) << "MASTER";
        EXPECT_EQ(t["data"]["state"], 1) << "BACKUP";
        EXPECT_EQ(t["data"]["master_priority"], o["data"]["effective_priority"]);
        EXPECT_EQ(o["data"]["master_priority"], 150);
        EXPECT_EQ(t["data"]["base_priority"], 100);
        EXPECT_EQ(o["data"]["base_priority"], 150);
        EXPECT_EQ(o["stats"]["become_master"], 1);
        EXPECT_EQ(o["stats"]["release_master"], 0);
        EXPECT_GT(t["stats"]["advert_rcvd"].get<std::uint64_t>(), 0u);
        EXPECT_GE(o["stats"]["advert_sent"].get<std::uint64_t>(), t["stats"]["advert_rcvd"].get<std::uint64_t>());
    }
}

}  // namespace

namespace {

// A keepalived pair of its own (VRID 60, interface MAC as keepalived users have it) on the same
// interfaces as xvrrpd's VRID 51: its adverts are not ours, so they reach the stack and keepalived.
std::string neighbour_keepalived(int priority) {
    return "global_defs {\n  router_id ka60\n  enable_script_security\n}\n"
           "vrrp_instance other {\n  version 3\n  state BACKUP\n  interface vr0\n  virtual_router_id 60\n"
           "  priority " + std::to_string(priority) + "\n  advert_int 0.1\n  virtual_ipaddress {\n    192.0.2.160/24\n  }\n}\n";
}

TEST_F(KeepalivedInterop, AnotherVrrpDaemonOnTheSameInterfacesElectsExactlyOneMaster) {
    lab_->start(1, lab_->config(1, 150));
    lab_->start(2, lab_->config(2, 100));
    lab_->start_keepalived(1, neighbour_keepalived(120), "ka60");
    lab_->start_keepalived(2, neighbour_keepalived(110), "ka60");
    ASSERT_TRUE(VrrpLab::wait_until([&] { return lab_->state(1) == "MASTER" && lab_->state(2) == "BACKUP"; }, 5s));
    ASSERT_TRUE(only(1, "192.0.2.160")) << "keepalived's VRID 60: r1 (120) over r2 (110)";
    // Held by exactly one router for a while: two keepalived masters would both hold it.
    for (int k = 0; k < 10; ++k) {
        std::this_thread::sleep_for(200ms);
        EXPECT_TRUE(held_by(1, "192.0.2.160") && !held_by(2, "192.0.2.160")) << "sample " << k;
    }
    EXPECT_TRUE(only(1, "192.0.2.100")) << "xvrrpd's VRID 51 unaffected";
    // r2's XDP saw keepalived's adverts, counted them as not ours, and passed them on.
    EXPECT_GT(lab_->status(2)["dataplane"].value("advert_unknown_vrid", std::uint64_t{0}), 0u);
    EXPECT_EQ(lab_->client().exec_status("ping -c 1 -W 1 192.0.2.160"), 0);
}

}  // namespace

namespace {

// The keepalived way round, with the interface MAC as keepalived users have it: xvrrpd master,
// keepalived backup, 1 s adverts. The master's link goes down and comes back. Before the link
// watch xvrrpd never left MASTER and never re-announced, so after keepalived stepped down the
// client kept r2's MAC and could not reach the VIP. Now: FAULT, BACKUP, preemption with GARP,
// and the client reaches the VIP through r1 within one advert interval of the preemption.
TEST_F(KeepalivedInterop, XvrrpdMasterWithInterfaceMacRecoversFromALinkFlap) {
    json cfg = lab_->config(1, 150, 1000);
    cfg["instances"][0]["vips"] = {"192.0.2.100/24"};
    cfg["instances"][0]["mac"] = "interface";
    lab_->start(1, cfg);
    lab_->start_keepalived(2, "global_defs {\n  router_id r2\n  enable_script_security\n}\n"
                              "vrrp_instance gateway {\n  version 3\n  state BACKUP\n  interface vr0\n"
                              "  virtual_router_id 51\n  priority 100\n  advert_int 1\n"
                              "  virtual_ipaddress {\n    192.0.2.100/24\n  }\n}\n");
    ASSERT_TRUE(only(1, "192.0.2.100"));
    const std::string r1_mac = lab_->router(1).exec("cat /sys/class/net/vr0/address").substr(0, 17);
    const std::string r2_mac = lab_->router(2).exec("cat /sys/class/net/vr0/address").substr(0, 17);

    lab_->bridge().exec("ip link set p1 down");
    EXPECT_TRUE(VrrpLab::wait_until([&] { return xstate("gateway") == "FAULT"; }, 3s));
    ASSERT_TRUE(only(2, "192.0.2.100", 8s)) << "keepalived takes over";
    lab_->client().exec_status("ping -c 1 -W 1 192.0.2.100");
    EXPECT_NE(lab_->client().exec("ip neigh show 192.0.2.100").find(r2_mac), std::string::npos);

    lab_->bridge().exec("ip link set p1 up");
    ASSERT_TRUE(VrrpLab::wait_until([&] { return xstate("gateway") == "MASTER"; }, 8s)) << "preempts back";
    const auto preempted = std::chrono::steady_clock::now();
    EXPECT_TRUE(VrrpLab::wait_until([&] {
        return lab_->client().exec("ip neigh show 192.0.2.100").find(r1_mac) != std::string::npos &&
               lab_->client().exec_status("ping -c 1 -W 1 192.0.2.100") == 0;
    }, 1s)) << lab_->client().exec("ip neigh show");
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - preempted);
    std::cout << "client reached the VIP through r1 " << took.count() << " ms after the preemption\n";
    EXPECT_TRUE(only(1, "192.0.2.100"));
}

}  // namespace
