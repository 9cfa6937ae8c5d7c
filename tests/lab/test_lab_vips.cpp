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
    // One VIP, held on a vmac_interface.
    json vmac_config(int i, int priority, const std::string& vip, const std::string& vmac) {
        json c = lab_->config(i, priority);
        c["instances"][0]["vips"] = {vip};
        c["instances"][0]["vmac_interface"] = vmac;
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

// keepalived's use_vmac: a macvlan "vrrp.51" with the virtual MAC holds the VIP (firewall rules
// name it), on both routers; XDP still answers ARP on the parent. A stop removes it; a daemon
// killed and started again takes the one it left.
TEST_F(VipObjectLab, AVmacInterfaceHoldsTheVipsWithTheVirtualMac) {
    auto with_vmac = [&](int i, int priority) { return vmac_config(i, priority, "192.0.2.100/24", "vrrp.51"); };
    auto vmac = [&](int i) {
        const auto links = json::parse(lab_->router(i).exec("ip -j -d link show"));
        for (const auto& l : links)
            if (l["ifname"] == "vrrp.51") return l;
        return json();
    };
    // Routers holding the VIP on vrrp.51 (`-o`: one line per address; the link may be gone).
    auto holders = [&] {
        int n = 0;
        for (int i : {1, 2}) {
            std::istringstream lines(lab_->router(i).exec("ip -4 -o addr show"));
            for (std::string l; std::getline(lines, l);)
                n += l.find(" vrrp.51 ") != std::string::npos && l.find(" 192.0.2.100/24 ") != std::string::npos;
        }
        return n;
    };
    const std::string virtual_mac = "00:00:5e:00:01:33";
    lab_->start(1, with_vmac(1, 150));
    lab_->start(2, with_vmac(2, 100));
    ASSERT_TRUE(becomes(1, "MASTER"));
    ASSERT_TRUE(becomes(2, "BACKUP"));
    for (int i : {1, 2}) {
        const json l = vmac(i);
        ASSERT_TRUE(l.is_object()) << "r" << i << " has no vrrp.51";
        EXPECT_EQ(l["address"], virtual_mac);
        EXPECT_EQ(l["linkinfo"]["info_kind"], "macvlan");
        EXPECT_EQ(l["link"], "vr0");
        EXPECT_EQ(lab_->router(i).exec("cat /proc/sys/net/ipv4/conf/vrrp.51/arp_ignore"), "1\n");
    }
    ASSERT_TRUE(VrrpLab::wait_until([&] { return holders() == 1; }, 3s));
    EXPECT_NE(lab_->router(1).exec("ip -4 addr show dev vrrp.51").find("192.0.2.100/24"), std::string::npos);
    EXPECT_EQ(vip_holders(*lab_, 2, "192.0.2.100/24", "vr0"), 0) << "not on the parent";
    // What is sent to the VIP arrives on vrrp.51, where firewall rules written for it match.
    auto vmac_rx = [&](int i) {
        return json::parse(lab_->router(i).exec("ip -s -j link show dev vrrp.51"))[0]["stats64"]["rx"]["packets"].get<std::uint64_t>();
    };
    const std::uint64_t rx_before = vmac_rx(1);
    ASSERT_TRUE(client_reaches_vip(*lab_));
    EXPECT_NE(lab_->client().exec("ip neigh show 192.0.2.100").find(virtual_mac), std::string::npos);
    const std::uint64_t rx_ping = vmac_rx(1);
    ASSERT_EQ(lab_->client().exec_status("ping -c 20 -i 0.01 -W 1 192.0.2.100"), 0);
    EXPECT_GE(vmac_rx(1), rx_ping + 20) << "the 20 echo requests came in on vrrp.51";
    EXPECT_GE(rx_ping, rx_before);

    lab_->signal(1, SIGTERM);
    ASSERT_EQ(lab_->wait_exit(1, 5s), 0);
    ASSERT_TRUE(becomes(2, "MASTER"));
    EXPECT_TRUE(vmac(1).is_null()) << "removed with the daemon";
    EXPECT_TRUE(VrrpLab::wait_until([&] { return holders() == 1; }, 3s));
    EXPECT_TRUE(client_reaches_vip(*lab_));

    // Killed, r2 leaves vrrp.51 behind; started again, it takes it as it is.
    lab_->signal(2, SIGKILL);
    lab_->wait_exit(2, 3s);
    ASSERT_TRUE(vmac(2).is_object());
    lab_->start(2, with_vmac(2, 100));
    ASSERT_TRUE(becomes(2, "MASTER"));
    EXPECT_TRUE(VrrpLab::wait_until([&] { return holders() == 1; }, 3s));
    EXPECT_TRUE(client_reaches_vip(*lab_));
}

// The same for IPv6: the macvlan carries 00:00:5e:00:02:VRID, no link-local of its own (both
// routers would have the same one), and the client reaches the VIP through it.
TEST_F(VipObjectLab, AnIpv6VmacInterfaceHasNoLinkLocalOfItsOwn) {
    auto with_vmac = [&](int i, int priority) { return vmac_config(i, priority, "2001:db8::100/64", "vrrp6.51"); };
    lab_->start(1, with_vmac(1, 150));
    lab_->start(2, with_vmac(2, 100));
    ASSERT_TRUE(becomes(1, "MASTER", 5s, "IPv6"));
    ASSERT_TRUE(becomes(2, "BACKUP", 5s, "IPv6"));
    for (int i : {1, 2}) {
        EXPECT_NE(lab_->router(i).exec("ip link show dev vrrp6.51").find("00:00:5e:00:02:33"), std::string::npos);
        EXPECT_EQ(lab_->router(i).exec("ip -6 addr show dev vrrp6.51").find("fe80:"), std::string::npos) << "r" << i;
    }
    ASSERT_TRUE(VrrpLab::wait_until([&] {
        return lab_->router(1).exec("ip -6 addr show dev vrrp6.51").find("2001:db8::100/64") != std::string::npos;
    }, 3s));
    EXPECT_EQ(lab_->router(2).exec("ip -6 addr show dev vrrp6.51").find("2001:db8::100"), std::string::npos);
    EXPECT_EQ(lab_->client().exec_status("ping -6 -c 1 -W 1 2001:db8::100"), 0)
        << lab_->client().exec("ip -6 neigh") << lab_->router(1).exec("ip -6 neigh");
    EXPECT_NE(lab_->client().exec("ip -6 neigh show 2001:db8::100").find("00:00:5e:00:02:33"), std::string::npos);
}

// A vmac_interface name taken by something else is refused at start, naming it, and the other
// interface is left alone.
TEST_F(VipObjectLab, AVmacInterfaceNameTakenBySomethingElseIsRefusedAndLeftAlone) {
    lab_->router(1).exec("ip link add vrrp.51 type veth peer name vrrp.51p");
    lab_->start(1, vmac_config(1, 150, "192.0.2.100/24", "vrrp.51"));
    EXPECT_NE(lab_->wait_exit(1, 5s), 0);
    EXPECT_NE(lab_->log(1).find("vmac_interface vrrp.51 exists and is not a macvlan of ours"), std::string::npos) << lab_->log(1);
    EXPECT_EQ(lab_->router(1).exec_status("ip link show vrrp.51p"), 0) << "not ours: not deleted";
}

}  // namespace
}  // namespace xvrrp::test
