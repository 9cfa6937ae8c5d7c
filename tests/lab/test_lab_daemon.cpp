// xvrrpd end to end: real daemons in namespaces on one bridge with a client.
#include <gtest/gtest.h>
#include <signal.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <thread>

#include "daemon_lab.hpp"

using namespace xvrrp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// A real NIC drops multicast frames whose MAC is not in its filter before XDP sees them; veth has
// no filter, a macvlan has one (the link's multicast list, hashed), so the routers here sit on a
// macvlan over their veth. The daemon puts the VRRP groups' MACs (01:00:5e:00:00:12,
// 33:33:00:00:00:12) on the link's list, as keepalived's group membership does: the backup hears
// the master, and the list has them while the daemon runs and not after it stopped.
TEST_F(DaemonLab, BehindAMulticastFilterTheBackupHearsTheMaster) {
    for (int i : {1, 2}) {
        lab_->use_macvlan(i);
        ASSERT_EQ(lab_->router(i).exec("ip maddr show dev mv0").find("01:00:5e:00:00:12"), std::string::npos) << "not there before";
    }
    auto on_mv0 = [&](int i) {
        json c = lab_->config(i, i == 1 ? 150 : 100, 100);
        c["interfaces"] = {{"mv0", {{"xdp_mode", "auto"}}}};
        c["instances"][0]["interface"] = "mv0";
        c["instances"][0]["mac"] = "interface";
        return c;
    };
    lab_->start(1, on_mv0(1));
    ASSERT_TRUE(becomes(1, "MASTER") && becomes(1, "MASTER", 5s, "IPv6"));
    lab_->start(2, on_mv0(2));
    ASSERT_TRUE(VrrpLab::wait_until([&] { return !lab_->status(2).is_null(); }, 3s));
    std::this_thread::sleep_for(1s);  // r2's Master_Down_Interval (0.36 s) passed more than twice
    for (const char* family : {"IPv4", "IPv6"}) {
        EXPECT_EQ(lab_->state(1, family), "MASTER") << family;
        EXPECT_EQ(lab_->state(2, family), "BACKUP") << family << ": r2 did not hear r1's adverts";
    }
    EXPECT_EQ(lab_->log(2).find("Entering MASTER"), std::string::npos) << lab_->log(2);
    for (int i : {1, 2}) {
        const std::string maddr = lab_->router(i).exec("ip maddr show dev mv0");
        EXPECT_NE(maddr.find("01:00:5e:00:00:12"), std::string::npos) << maddr;
        EXPECT_NE(maddr.find("33:33:00:00:00:12"), std::string::npos) << maddr;
    }
    EXPECT_TRUE(client_reaches_vip(*lab_));
    // An upgrade leaves them (the old daemon exits without cleaning up, the new one's additions
    // are the same entries), and the backup goes on hearing the master.
    const std::string out = xvrrpctl(2, "upgrade");
    ASSERT_EQ(out.rfind("upgraded: pid ", 0), 0u) << out;
    std::this_thread::sleep_for(500ms);
    EXPECT_NE(lab_->router(2).exec("ip maddr show dev mv0").find("01:00:5e:00:00:12"), std::string::npos);
    EXPECT_EQ(lab_->state(2), "BACKUP");
    const pid_t upgraded = lab_->status(2)["pid"].get<int>();
    ASSERT_EQ(::kill(upgraded, SIGTERM), 0);
    ASSERT_TRUE(VrrpLab::wait_until([&] { return VrrpLab::process_gone(upgraded); }, 5s));
    const std::string after = lab_->router(2).exec("ip maddr show dev mv0");
    EXPECT_EQ(after.find("01:00:5e:00:00:12"), std::string::npos) << "a stopped daemon takes its entries away: " << after;
    EXPECT_EQ(after.find("33:33:00:00:00:12"), std::string::npos) << after;
}

// Behind the same filter, a client solicits an IPv6 VIP at its solicited-node group
// (ff02::1:ffXX:XXXX, MAC 33:33:ff:XX:XX:XX). The kernel joins that group only for addresses on
// the interface; without accept mode the master holds no VIP address, so the daemon puts each
// IPv6 VIP's group MAC on the list itself, or XDP would never see the solicitation.
TEST_F(DaemonLab, BehindAMulticastFilterAnIpv6VipWithoutAcceptModeIsResolved) {
    lab_->use_macvlan(1);
    json c = lab_->config(1, 150, 100);
    c["interfaces"] = {{"mv0", {{"xdp_mode", "auto"}}}};
    c["instances"][0]["interface"] = "mv0";
    c["instances"][0]["accept_mode"] = false;
    c["instances"][0]["mac"] = "interface";  // a macvlan passes no unicast MAC but its own: no virtual MAC here
    lab_->start(1, c);
    ASSERT_TRUE(becomes(1, "MASTER", 5s, "IPv6"));
    const std::string mv0_mac = lab_->router(1).exec("cat /sys/class/net/mv0/address").substr(0, 17);
    EXPECT_EQ(lab_->router(1).exec("ip -6 addr show dev mv0").find("2001:db8::100"), std::string::npos) << "no accept mode: no address";
    std::this_thread::sleep_for(1500ms);  // the announcements are over: the client learns only by asking
    lab_->client().exec("ip -6 neigh flush dev eth0");
    const auto before = counter(lab_->status(1), "ns_replied", "IPv6");
    lab_->client().exec_status("ping -6 -c 1 -W 1 2001:db8::100");  // resolves the VIP first (the echo itself goes unanswered)
    EXPECT_NE(lab_->client().exec("ip -6 neigh show 2001:db8::100").find(mv0_mac), std::string::npos)
        << lab_->client().exec("ip -6 neigh show") << lab_->router(1).exec("ip maddr show dev mv0");
    EXPECT_GT(counter(lab_->status(1), "ns_replied", "IPv6"), before);
}

// A macvlan receives no unicast MAC but its own (its unicast filter refuses others), so a virtual
// MAC could never reach it: a MASTER there would advertise and serve nothing (before 2026-12-07 it
// did, "retrying every second", and no backup took over). The start is refused with the reason,
// and so is a reload to it, which keeps what runs.
TEST_F(DaemonLab, AVirtualMacOnALinkThatRefusesItIsRefusedUpFront) {
    lab_->use_macvlan(1);
    json c = lab_->config(1, 150, 100);
    c["interfaces"] = {{"mv0", {{"xdp_mode", "auto"}}}};
    c["instances"][0]["interface"] = "mv0";
    lab_->start(1, c);
    EXPECT_EQ(lab_->wait_exit(1, 5s), 1) << lab_->log(1);
    EXPECT_NE(lab_->log(1).find("mv0 receives no other MAC than its own (its unicast filter refuses 00:00:5e:00:01:33"),
              std::string::npos) << lab_->log(1);
    EXPECT_EQ(lab_->router(1).exec("ip link show mv0").find("xdp"), std::string::npos) << "nothing attached";

    json works = c;
    works["instances"][0]["mac"] = "interface";
    lab_->start(1, works);
    ASSERT_TRUE(becomes(1, "MASTER"));
    lab_->write_config(1, c);
    const std::size_t from = lab_->log(1).size();
    lab_->signal(1, SIGHUP);
    ASSERT_TRUE(VrrpLab::wait_until([&] { return lab_->log(1).find("reload:", from) != std::string::npos; }, 3s));
    EXPECT_NE(lab_->log(1).find("receives no other MAC than its own", from), std::string::npos) << lab_->log(1).substr(from);
    EXPECT_NE(lab_->log(1).find("(keeping what runs)", from), std::string::npos) << lab_->log(1).substr(from);
    EXPECT_EQ(lab_->state(1), "MASTER");
    EXPECT_EQ(lab_->log(1).find("Entering", from), std::string::npos) << "nothing moved";
    EXPECT_TRUE(client_reaches_vip(*lab_));
}

TEST_F(DaemonLab, ElectsByPriorityAndTheVipLivesOnTheMasterOnly) {
    lab_->start(1, lab_->config(1, 150));
    lab_->start(2, lab_->config(2, 100));
    ASSERT_TRUE(becomes(1, "MASTER"));
    ASSERT_TRUE(becomes(2, "BACKUP"));
    EXPECT_TRUE(becomes(1, "MASTER", 1s) && lab_->state(1, "IPv6") == "MASTER");
    EXPECT_EQ(vip_holders(*lab_, 2), 1);
    EXPECT_NE(lab_->router(1).exec("ip -6 addr show dev vr0").find("2001:db8::100"), std::string::npos);

    // The client's ARP is answered by r1's XDP with the virtual MAC, and the VIP answers pings. XDP_TX
    // frames bypass the stack, so a capture of what r1's kernel sends shows its own ARP request for the
    // client (the capture works) and no ARP reply at all (the kernel answered nothing).
    const auto before = counter(lab_->status(1), "arp_replied");
    lab_->router(1).exec("ip neigh flush dev vr0");
    const std::string capture = lab_->dir() + "/r1-arp-out.txt";
    sh_status("ip netns exec " + lab_->router(1).name() + " timeout 3 tcpdump -n -l -i vr0 -Q out arp > " + capture + " 2>&1 &");
    std::this_thread::sleep_for(1s);
    EXPECT_TRUE(client_reaches_vip(*lab_));
    std::this_thread::sleep_for(2500ms);
    const std::string sent = sh("cat " + capture);
    EXPECT_NE(sent.find("Request who-has 192.0.2.10 tell 192.0.2.1"), std::string::npos) << sent;
    EXPECT_EQ(sent.find("Reply"), std::string::npos) << sent;
    EXPECT_NE(lab_->client().exec("ip neigh show 192.0.2.100").find("00:00:5e:00:01:33"), std::string::npos)
        << lab_->client().exec("ip neigh show");
    EXPECT_GT(counter(lab_->status(1), "arp_replied"), before);
    // IPv6: the solicitation is answered by XDP, the VIP answers, and the client keeps the virtual
    // MAC even after r1's kernel solicits it from the VIP (TC egress puts the virtual MAC in that NS).
    const auto ns_before = counter(lab_->status(1), "ns_replied", "IPv6");
    EXPECT_EQ(lab_->client().exec_status("ping -6 -c 2 -i 0.5 -W 1 2001:db8::100"), 0);
    EXPECT_GT(counter(lab_->status(1), "ns_replied", "IPv6"), ns_before);
    EXPECT_NE(lab_->client().exec("ip -6 neigh show 2001:db8::100").find("00:00:5e:00:02:33"), std::string::npos)
        << lab_->client().exec("ip -6 neigh show");

    const json s2 = lab_->status(2);
    EXPECT_EQ(s2["instances"][0]["master"]["address"], "192.0.2.1");
    EXPECT_EQ(s2["instances"][0]["master"]["priority"], 150);
}

TEST_F(DaemonLab, EqualPrioritiesElectTheHigherAddress) {
    // Two masters that cannot hear each other (both ports out of the bridge, carrier up) meet
    // when the segment heals: RFC 9568 6.4.3's tie-break keeps the one with the higher primary
    // address. (A backup that hears an equal master first keeps it, as the RFC says; that is not
    // this case. Ports taken down would put both in FAULT instead.)
    lab_->bridge().exec("ip link set p1 nomaster");
    lab_->bridge().exec("ip link set p2 nomaster");
    lab_->start(1, lab_->config(1, 100));
    lab_->start(2, lab_->config(2, 100));
    ASSERT_TRUE(becomes(1, "MASTER") && becomes(2, "MASTER"));
    lab_->bridge().exec("ip link set p1 master br0");
    lab_->bridge().exec("ip link set p2 master br0");
    EXPECT_TRUE(becomes(1, "BACKUP")) << lab_->status(1).dump();
    EXPECT_EQ(lab_->state(2), "MASTER");
    EXPECT_EQ(vip_holders(*lab_, 2), 1);
}

TEST_F(DaemonLab, FailsOverWhenTheMastersLinkIsCut) {
    lab_->start(1, lab_->config(1, 150));
    lab_->start(2, lab_->config(2, 100));
    ASSERT_TRUE(becomes(1, "MASTER") && becomes(2, "BACKUP"));
    lab_->bridge().exec("ip link set p1 down");
    EXPECT_TRUE(becomes(2, "MASTER"));
    EXPECT_TRUE(VrrpLab::wait_until([&] { return client_reaches_vip(*lab_); }, 5s));
}

// A daemon that is killed or stopped: the backup takes over, and the first master's XDP program
// (still attached: its link is pinned) answers nothing once its heartbeat is stale, even with the
// VIP left on its interface.
void dead_master_owns_nothing(VrrpLab& lab, int signal, const std::function<bool(int, const std::string&)>& becomes) {
    lab.start(1, lab.config(1, 150));
    lab.start(2, lab.config(2, 100));
    ASSERT_TRUE(becomes(1, "MASTER") && becomes(2, "BACKUP"));
    lab.signal(1, signal);
    EXPECT_TRUE(becomes(2, "MASTER"));
    std::this_thread::sleep_for(700ms);  // past heartbeat_timeout_ms (500 here)
    EXPECT_NE(lab.router(1).exec("ip link show vr0").find("xdp"), std::string::npos) << "fail-safe: XDP stays";
    const auto before = arp_replied_by(lab, 1);
    lab.client().exec("ip neigh flush dev eth0");
    EXPECT_TRUE(client_reaches_vip(lab));
    EXPECT_NE(lab.client().exec("ip neigh show 192.0.2.100").find("00:00:5e:00:01:33"), std::string::npos);
    EXPECT_EQ(arp_replied_by(lab, 1), before) << "only r2 answered";
}

TEST_F(DaemonLab, KilledDaemonStopsAnsweringAndTheBackupTakesOver) {
    dead_master_owns_nothing(*lab_, SIGKILL, [&](int i, const std::string& s) { return becomes(i, s); });
}

TEST_F(DaemonLab, StoppedDaemonStopsAnsweringAndTheBackupTakesOver) {
    dead_master_owns_nothing(*lab_, SIGSTOP, [&](int i, const std::string& s) { return becomes(i, s); });
    // Resumed, r1 (priority 150) meets r2 as a second master and wins the election back.
    lab_->signal(1, SIGCONT);
    EXPECT_TRUE(becomes(1, "MASTER"));
    EXPECT_TRUE(becomes(2, "BACKUP"));
}

TEST_F(DaemonLab, PreemptsBackUnlessPreemptionIsOff) {
    lab_->start(2, lab_->config(2, 100));
    ASSERT_TRUE(becomes(2, "MASTER"));
    lab_->start(1, lab_->config(1, 150));
    EXPECT_TRUE(becomes(1, "MASTER"));
    EXPECT_TRUE(becomes(2, "BACKUP"));

    lab_->signal(1, SIGTERM);
    ASSERT_EQ(lab_->wait_exit(1, 5s), 0);
    ASSERT_TRUE(becomes(2, "MASTER"));
    json no_preempt = lab_->config(1, 150);
    no_preempt["instances"][0]["preempt"] = false;
    lab_->start(1, no_preempt);
    EXPECT_TRUE(becomes(1, "BACKUP"));
    std::this_thread::sleep_for(1s);  // ten advert intervals, three Master_Down_Intervals
    EXPECT_EQ(lab_->state(1), "BACKUP");
    EXPECT_EQ(lab_->state(2), "MASTER");
    EXPECT_EQ(vip_holders(*lab_, 2), 1);
}

TEST_F(DaemonLab, SigtermResignsWithPriorityZeroAndCleansUp) {
    lab_->start(1, lab_->config(1, 150, 1000));  // 1 s adverts: Master_Down_Interval 3.4 s, skew 0.6 s
    lab_->start(2, lab_->config(2, 100, 1000));
    ASSERT_TRUE(becomes(1, "MASTER", 10s) && becomes(2, "BACKUP", 10s));
    const auto t0 = std::chrono::steady_clock::now();
    lab_->signal(1, SIGTERM);
    EXPECT_EQ(lab_->wait_exit(1, 5s), 0);
    ASSERT_TRUE(becomes(2, "MASTER", 10s));
    // Skew-only takeover: well before a Master_Down_Interval (3.4 s) could have run out.
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
    EXPECT_GE(counter(lab_->status(2), "adverts_priority_zero"), 1u);
    EXPECT_EQ(lab_->router(1).exec("ip addr show dev vr0").find("192.0.2.100"), std::string::npos) << "VIP removed";
    EXPECT_EQ(lab_->router(1).exec("ip link show vr0").find("xdp"), std::string::npos) << "XDP detached";
    EXPECT_FALSE(std::filesystem::exists(lab_->pin_root(1) + "/" XVRRP_MAP_INSTANCES)) << "maps unpinned";
}

TEST_F(DaemonLab, SighupWithABrokenConfigChangesNothing) {
    lab_->start(1, lab_->config(1, 150));
    lab_->start(2, lab_->config(2, 100));
    ASSERT_TRUE(becomes(1, "MASTER") && becomes(2, "BACKUP"));
    const auto transitions = lab_->status(1)["instances"][0]["transitions"];
    std::ofstream(lab_->dir() + "/r1.json") << R"({"instances": [{"name": "gateway", "vrid": 300}]})";
    lab_->signal(1, SIGHUP);
    EXPECT_TRUE(VrrpLab::wait_until([&] { return lab_->log(1).find("keeping the running configuration") != std::string::npos; }, 3s));
    EXPECT_NE(lab_->log(1).find("instances[0].interface: is required"), std::string::npos);
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(lab_->state(1), "MASTER");
    EXPECT_EQ(lab_->status(1)["instances"][0]["transitions"], transitions);
    EXPECT_TRUE(client_reaches_vip(*lab_));
}

TEST_F(DaemonLab, SighupAppliesAChangedInstanceAndLeavesOthersAlone) {
    json c1 = lab_->config(1, 150);
    json extra = c1["instances"][0];
    extra["name"] = "second";
    extra["vrid"] = 52;
    extra["vips"] = {"192.0.2.200/24"};
    c1["instances"].push_back(extra);
    lab_->start(1, c1);
    lab_->start(2, lab_->config(2, 100));
    ASSERT_TRUE(becomes(1, "MASTER") && becomes(2, "BACKUP"));
    ASSERT_TRUE(VrrpLab::wait_until([&] { return lab_->state(1, "IPv4", "second") == "MASTER"; }, 5s));
    const auto status_before = lab_->status(1);
    // r1 lowers "gateway" below r2: r2 preempts it; "second" is untouched (no new transition).
    c1["instances"][0]["priority"] = 50;
    lab_->write_config(1, c1);
    lab_->signal(1, SIGHUP);
    EXPECT_TRUE(becomes(2, "MASTER"));
    EXPECT_TRUE(becomes(1, "BACKUP"));
    const auto status_after = lab_->status(1);
    auto second = [](const json& s) {
        for (const auto& i : s["instances"])
            if (i["name"] == "second") return i;
        return json();
    };
    EXPECT_EQ(second(status_after)["state"], "MASTER");
    EXPECT_EQ(second(status_after)["transitions"], second(status_before)["transitions"]);
}

TEST_F(DaemonLab, UnicastPeersElectAndFailOver) {
    ASSERT_TRUE(start_unicast_pair());
    EXPECT_EQ(lab_->status(2)["instances"][0]["master"]["address"], "192.0.2.1");
    lab_->bridge().exec("ip link set p1 down");
    EXPECT_TRUE(becomes(2, "MASTER"));
    EXPECT_TRUE(VrrpLab::wait_until([&] { return client_reaches_vip(*lab_); }, 5s));
}

TEST_F(DaemonLab, WithoutAcceptModeTheMasterAnswersArpButDoesNotHoldTheAddress) {
    json c = lab_->config(1, 150);
    c["instances"][0]["accept_mode"] = false;
    lab_->start(1, c);
    ASSERT_TRUE(becomes(1, "MASTER"));
    // RFC 9568 6.4.3: a master that is not the owner must not accept packets for the VIPs.
    EXPECT_EQ(vip_holders(*lab_, 1), 0);
    EXPECT_FALSE(client_reaches_vip(*lab_));
    EXPECT_NE(lab_->client().exec("ip neigh show 192.0.2.100").find("00:00:5e:00:01:33"), std::string::npos)
        << "XDP still answers ARP: hosts use the VIP as their gateway";
}

TEST_F(DaemonLab, TheAddressOwnerAlwaysHoldsTheAddress) {
    json c = lab_->config(1, 255);
    c["instances"][0]["accept_mode"] = false;
    lab_->start(1, c);
    ASSERT_TRUE(becomes(1, "MASTER", 1s)) << "the owner does not wait for Master_Down_Interval";
    EXPECT_EQ(vip_holders(*lab_, 1), 1);
    EXPECT_TRUE(client_reaches_vip(*lab_));
}

TEST_F(DaemonLab, V3ChecksumAsV2PeersUnderstandEachOther) {
    for (int i : {1, 2}) {
        json c = lab_->config(i, i == 1 ? 150 : 100);
        c["instances"][0]["vips"] = {"192.0.2.100/24"};
        c["instances"][0]["v3_checksum_as_v2"] = true;
        lab_->start(i, c);
    }
    ASSERT_TRUE(becomes(1, "MASTER") && becomes(2, "BACKUP"));
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(lab_->state(2), "BACKUP") << "r2 accepts r1's old-style checksums";
    EXPECT_GT(counter(lab_->status(2), "adverts_valid"), 3u);
}

TEST_F(DaemonLab, MasterReannouncesItsVipsPeriodically) {
    json c = lab_->config(1, 150);
    c["instances"][0]["vips"] = {"192.0.2.100/24"};
    c["instances"][0]["announce"] = {{"repeat", 1}, {"refresh_ms", 200}};
    lab_->start(1, c);
    ASSERT_TRUE(becomes(1, "MASTER"));
    const std::string seen = lab_->client().exec("timeout 1.5 tcpdump -n -l -e -i eth0 arp; true");
    std::size_t garps = 0;
    for (std::size_t at = 0; (at = seen.find("00:00:5e:00:01:33 > ff:ff:ff:ff:ff:ff", at)) != std::string::npos; ++at) ++garps;
    EXPECT_GE(garps, 5u) << seen;  // every 200 ms for 1.5 s
}

TEST_F(DaemonLab, RestoresAVipDeletedWhileMasterAndReportsStatus) {
    lab_->start(1, lab_->config(1, 150));
    ASSERT_TRUE(becomes(1, "MASTER"));
    lab_->router(1).exec("ip addr del 192.0.2.100/24 dev vr0");
    EXPECT_TRUE(VrrpLab::wait_until([&] { return vip_holders(*lab_, 1) == 1; }, 2s)) << "restored by the master";
    EXPECT_NE(lab_->log(1).find("was removed while MASTER: restoring it"), std::string::npos);

    // xvrrpctl status: the table, and the JSON as xvrrpd sends it.
    const std::string table = sh(std::string(XVRRPCTL_PATH) + " -s " + lab_->socket(1) + " status");
    EXPECT_NE(table.find("gateway          IPv4  vr0          51  3 MASTER  150      self"), std::string::npos) << table;
    const json s = json::parse(sh(std::string(XVRRPCTL_PATH) + " -s " + lab_->socket(1) + " status --json"));
    ASSERT_EQ(s["instances"].size(), 2u);
    EXPECT_EQ(s["instances"][0]["advert_interval_ms"], 100);
    EXPECT_EQ(s["instances"][1]["family"], "IPv6");
    EXPECT_TRUE(s["dataplane"].contains("arp_replied"));
    EXPECT_NE(sh_status(std::string(XVRRPCTL_PATH) + " -s " + lab_->dir() + "/nothing.sock status"), 0);
}

// Control clients that connect and never ask fill the daemon's slots (16); the loop's timer closes
// each at its deadline (5 s) without any other wake-up needed, and the socket answers again. The
// election goes on meanwhile.
TEST_F(DaemonLab, SilentControlClientsAreClosedAtTheirDeadline) {
    lab_->start(1, lab_->config(1, 150));
    ASSERT_TRUE(becomes(1, "MASTER"));
    std::vector<int> silent;
    for (int i = 0; i < 16; ++i) {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT_GE(fd, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        const std::string path = lab_->socket(1);
        std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
        ASSERT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
        silent.push_back(fd);
    }
    std::this_thread::sleep_for(200ms);
    EXPECT_TRUE(lab_->status(1).is_null()) << "every slot taken: a 17th client is refused";
    const auto t0 = std::chrono::steady_clock::now();
    int closed = 0;
    for (const int fd : silent) {
        timeval tv{.tv_sec = 8, .tv_usec = 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        char c;
        closed += ::recv(fd, &c, 1, 0) == 0;
        ::close(fd);
    }
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(closed, 16) << "each silent client closed by the daemon";
    EXPECT_LT(waited, 7.0) << "at the 5 s deadline, not later";
    EXPECT_TRUE(VrrpLab::wait_until([&] { return !lab_->status(1).is_null(); }, 2s)) << "the socket answers again";
    EXPECT_EQ(lab_->state(1), "MASTER");
}

// A VIP address the kernel refuses puts that router in its error state after the takeover while
// the IPv4 router takes over all the same, and the retry adds the address once the kernel accepts
// it again. Address changes are carried out after every router's ownership (AddressQueue); their
// failures still reach their router. r2 puts its IPv6 VIP on an interface of its own (`dev`), where
// the kernel refuses IPv6 addresses while IPv6 is disabled; vr0 keeps its link-local address (a
// router with none has nothing to advertise from and is in FAULT: another test).
TEST_F(DaemonLab, AVipAddressTheKernelRefusesIsRetriedUntilItIsThere) {
    lab_->router(2).exec("ip link add xvd0 type veth peer name xvd1");
    lab_->router(2).exec("ip link set xvd0 up");
    json c2 = lab_->config(2, 100);
    c2["instances"][0]["vips"][1] = {{"address", "2001:db8::100/64"}, {"dev", "xvd0"}};
    lab_->start(1, lab_->config(1, 150));
    lab_->start(2, c2);
    ASSERT_TRUE(becomes(1, "MASTER") && becomes(2, "BACKUP"));
    ASSERT_TRUE(VrrpLab::wait_until([&] { return lab_->state(2, "IPv6") == "BACKUP"; }, 5s));
    auto v6_error = [&] {
        const json s = lab_->status(2);
        if (s.is_object())
            for (const auto& i : s["instances"])
                if (i["family"] == "IPv6") return i.value("error", std::string("?"));
        return std::string("?");
    };
    ASSERT_EQ(v6_error(), "");
    lab_->router(2).exec("sysctl -qw net.ipv6.conf.xvd0.disable_ipv6=1");
    lab_->signal(1, SIGKILL);
    ASSERT_TRUE(VrrpLab::wait_until([&] { return lab_->state(2, "IPv6") == "MASTER"; }, 5s));
    EXPECT_TRUE(VrrpLab::wait_until([&] { return v6_error().find("2001:db8::100") != std::string::npos; }, 3s))
        << "the refused address is the router's error: " << v6_error();
    EXPECT_EQ(lab_->state(2), "MASTER");
    EXPECT_NE(lab_->router(2).exec("ip -4 addr show dev vr0").find("192.0.2.100"), std::string::npos)
        << "the IPv4 router's address is there";

    lab_->router(2).exec("sysctl -qw net.ipv6.conf.xvd0.disable_ipv6=0");
    EXPECT_TRUE(VrrpLab::wait_until(
        [&] { return lab_->router(2).exec("ip -6 addr show dev xvd0").find("2001:db8::100") != std::string::npos; }, 3s))
        << "added by the retry (every second)";
    EXPECT_TRUE(VrrpLab::wait_until([&] { return v6_error().empty(); }, 3s)) << v6_error();
    EXPECT_EQ(lab_->state(2, "IPv6"), "MASTER");
}

}  // namespace
