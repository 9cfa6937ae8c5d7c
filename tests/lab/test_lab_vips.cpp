// VIPs, routes and rules as keepalived writes them: `203.0.113.10/24 dev eth1 label eth1:vip scope link`. The
// instance runs on vr0; one VIP lives on vr1, which no instance uses: the address goes there with
// its label and scope while MASTER, moves with the instance, and the new master's announcement
// on vr1 (from vr1's own MAC) updates a client on that segment at once.
#include <csignal>
#include <sstream>

#include "daemon_lab.hpp"

namespace xvrrp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

class VipObjectLab : public DaemonLab {
protected:
    int segments() const override { return 2; }
    json config(int i, int priority) {
        json c = lab_->config(i, priority);
        c["instances"][0]["vips"] = json::parse(R"([
          {"address": "192.0.2.100/24", "label": "vr0:gw"},
          {"address": "203.0.113.100/24", "dev": "vr1", "label": "vr1:vip", "scope": "link"},
          "2001:db8::100/64"])");
        return c;
    }
    std::string mac_of(int i, const std::string& dev) {
        return json::parse(lab_->router(i).exec("ip -j link show dev " + dev))[0]["address"];
    }
    // The client's neighbour entry for the VIP on segment 1 ("" when it has none).
    std::string client_neighbour() {
        const auto entries = json::parse(lab_->client().exec("ip -j neigh show 203.0.113.100 dev eth1"));
        return entries.empty() ? "" : entries[0].value("lladdr", "");
    }
};

TEST_F(VipObjectLab, AVipOnAnotherInterfaceMovesWithItsLabelScopeAndAnnouncement) {
    lab_->join_client(1);
    lab_->client().exec("ip addr add 203.0.113.50/24 dev eth1");
    lab_->start(1, config(1, 150));
    lab_->start(2, config(2, 100));
    ASSERT_TRUE(becomes(1, "MASTER"));
    ASSERT_TRUE(becomes(2, "BACKUP"));

    ASSERT_TRUE(VrrpLab::wait_until([&] { return vip_holders(*lab_, 2, "203.0.113.100/24", "vr1") == 1; }, 3s));
    const std::string r1_vr1 = lab_->router(1).exec("ip -4 addr show dev vr1");
    EXPECT_NE(r1_vr1.find("203.0.113.100/24 scope link vr1:vip"), std::string::npos) << r1_vr1;
    const std::string r1_vr0 = lab_->router(1).exec("ip -4 addr show dev vr0");
    EXPECT_NE(r1_vr0.find("192.0.2.100/24 scope global secondary vr0:gw"), std::string::npos) << r1_vr0;
    EXPECT_EQ(lab_->router(2).exec("ip -4 addr show dev vr1").find("203.0.113.100"), std::string::npos);

    // The kernel answers for it on vr1 (XDP answers on the instance's interface only).
    ASSERT_EQ(lab_->client().exec_status("ping -c 1 -W 1 203.0.113.100"), 0);
    EXPECT_EQ(client_neighbour(), mac_of(1, "vr1"));

    // r1 stops: r2 takes the VIP, and its announcement on vr1 moves the client's entry before
    // any ARP of the client's own could (the entry stays REACHABLE for far longer than this).
    lab_->signal(1, SIGTERM);
    ASSERT_EQ(lab_->wait_exit(1, 5s), 0);
    ASSERT_TRUE(becomes(2, "MASTER"));
    EXPECT_TRUE(VrrpLab::wait_until([&] { return client_neighbour() == mac_of(2, "vr1"); }, 2s))
        << "the client still has " << client_neighbour() << "; r2's vr1 is " << mac_of(2, "vr1");
    EXPECT_EQ(lab_->router(1).exec("ip -4 addr show dev vr1").find("203.0.113.100"), std::string::npos)
        << "r1 removed it on stopping";
    const std::string r2_vr1 = lab_->router(2).exec("ip -4 addr show dev vr1");
    EXPECT_NE(r2_vr1.find("203.0.113.100/24 scope link vr1:vip"), std::string::npos) << r2_vr1;
    EXPECT_EQ(lab_->client().exec_status("ping -c 1 -W 1 203.0.113.100"), 0);
}

// The VIP's interface does not exist (yet): the router reports it and retries; once the
// interface appears, the address goes on it without a restart, and the instance's own VIPs never
// waited for it.
TEST_F(VipObjectLab, AVipWhoseInterfaceIsMissingIsRetriedUntilItAppears) {
    json c = config(1, 150);
    c["instances"][0]["vips"][1]["dev"] = "vipdev";
    lab_->start(1, c);
    ASSERT_TRUE(becomes(1, "MASTER"));
    EXPECT_EQ(vip_holders(*lab_, 1, "192.0.2.100/24", "vr0"), 1);
    ASSERT_TRUE(VrrpLab::wait_until([&] { return lab_->status(1)["instances"][0]["error"].get<std::string>().find("vipdev") !=
                                        std::string::npos; }, 3s))
        << lab_->status(1).dump();
    lab_->router(1).exec("ip link add vipdev type veth peer name vipdevp");
    lab_->router(1).exec("ip link set vipdev up");
    EXPECT_TRUE(VrrpLab::wait_until([&] { return vip_holders(*lab_, 1, "203.0.113.100/24", "vipdev") == 1; }, 4s))
        << "retried every second";
    EXPECT_TRUE(VrrpLab::wait_until([&] { return lab_->status(1)["instances"][0]["error"] == ""; }, 4s));
    EXPECT_EQ(lab_->state(1), "MASTER");
}

// Linux refuses a secondary address whose scope differs from its subnet's primary (vr1 holds
// 198.51.100.1/24, global): the router says so in its error and keeps the rest of its VIPs.
TEST_F(VipObjectLab, AScopeTheKernelRefusesIsReportedAndTheOtherVipsStay) {
    json c = config(1, 150);
    c["instances"][0]["vips"][1]["address"] = "198.51.100.100/24";
    lab_->start(1, c);
    ASSERT_TRUE(becomes(1, "MASTER"));
    ASSERT_TRUE(VrrpLab::wait_until([&] { return lab_->status(1)["instances"][0]["error"].get<std::string>().find(
                                                     "the scope must be that of the interface's address in the same subnet") !=
                                                 std::string::npos; }, 3s))
        << lab_->status(1).dump();
    EXPECT_EQ(vip_holders(*lab_, 1, "192.0.2.100/24", "vr0"), 1);
    EXPECT_TRUE(client_reaches_vip(*lab_));
}

// keepalived's virtual_routes and virtual_rules: in the kernel on the master only, moved with the
// VIPs, removed on stopping, and a rule never added twice (a master elected again).
TEST_F(VipObjectLab, VirtualRoutesAndRulesFollowTheMaster) {
    auto with_routes = [&](int i, int priority) {
        json c = lab_->config(i, priority);
        c["instances"][0]["virtual_routes"] = json::parse(R"([
          {"to": "203.0.113.0/24", "via": "192.0.2.254", "table": 100, "src": "192.0.2.100"},
          {"to": "2001:db8:5::/48", "type": "blackhole", "table": 100}])");
        c["instances"][0]["virtual_rules"] = json::parse(R"([{"from": "192.0.2.100", "table": 100, "priority": 1000}])");
        return c;
    };
    // Table 100's lines ("table all": `show table 100` fails while the table does not exist).
    auto table100 = [&](int i, const std::string& family) {
        std::istringstream all(lab_->router(i).exec("ip " + family + " route show table all"));
        std::string out;
        for (std::string line; std::getline(all, line);)
            if (line.find(" table 100 ") != std::string::npos) out += line + "\n";
        return out;
    };
    auto routes = [&](int i) { return table100(i, "-4"); };
    auto routes6 = [&](int i) { return table100(i, "-6"); };
    auto rules = [&](int i) {
        const std::string all = lab_->router(i).exec("ip rule show");
        int n = 0;
        for (std::size_t at = all.find("1000:\tfrom 192.0.2.100 lookup 100"); at != std::string::npos;
             at = all.find("1000:\tfrom 192.0.2.100 lookup 100", at + 1))
            ++n;
        return n;
    };
    const std::string route4 = "203.0.113.0/24 via 192.0.2.254 dev vr0 table 100 proto static src 192.0.2.100";
    auto holds = [&](int i) {
        return routes(i).find(route4) != std::string::npos && routes6(i).find("blackhole 2001:db8:5::/48") != std::string::npos &&
               rules(i) == 1;
    };
    auto holds_none = [&](int i) { return routes(i).empty() && routes6(i).empty() && rules(i) == 0; };

    lab_->start(1, with_routes(1, 150));
    lab_->start(2, with_routes(2, 100));
    ASSERT_TRUE(becomes(1, "MASTER"));
    ASSERT_TRUE(becomes(2, "BACKUP"));
    EXPECT_TRUE(VrrpLab::wait_until([&] { return holds(1); }, 3s)) << routes(1) << routes6(1) << lab_->router(1).exec("ip rule show");
    EXPECT_TRUE(holds_none(2)) << routes(2) << routes6(2);

    lab_->signal(1, SIGTERM);
    ASSERT_EQ(lab_->wait_exit(1, 5s), 0);
    ASSERT_TRUE(becomes(2, "MASTER"));
    EXPECT_TRUE(VrrpLab::wait_until([&] { return holds(2); }, 3s)) << routes(2) << routes6(2);
    EXPECT_TRUE(holds_none(1)) << "removed on stopping: " << routes(1) << routes6(1);

    // r1 back with the higher priority: preempts; r2 gives them up; one rule each time.
    lab_->start(1, with_routes(1, 150));
    ASSERT_TRUE(becomes(1, "MASTER"));
    EXPECT_TRUE(VrrpLab::wait_until([&] { return holds(1) && holds_none(2); }, 3s)) << routes(2) << routes6(2);
    EXPECT_EQ(rules(1), 1);
}

}  // namespace
}  // namespace xvrrp::test
