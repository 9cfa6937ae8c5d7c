// xvrrpd under faults (issue 6): each test reproduces a way to get two masters, no
// master or a dead daemon from an ordinary fault, and checks that it no longer does.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "daemon_lab.hpp"
#include "xvrrp/kernel_clock.hpp"
#include "flood.hpp"

using namespace xvrrp::test;
using namespace std::chrono_literals;
using nlohmann::json;
using xvrrp::IpAddress;
using xvrrp::Mac;
using xvrrp::parse_mac;

namespace {

// Instances in the pinned directory, as bpftool shows them: the buckets in use.
std::size_t pinned_instances(VrrpLab& lab, int i) {
    const std::string out = lab.router(i).exec("bpftool -j map dump pinned " + lab.pin_root(i) + "/" XVRRP_MAP_INSTANCES);
    std::size_t used = 0;
    for (const auto& entry : json::parse(out))
        used += entry["formatted"]["value"]["state"] == XVRRP_BUCKET_USED;
    return used;
}

// A second xvrrpd with the same pin root or control socket refuses and touches nothing: the
// first keeps its socket, its maps and its XDP link, and stays MASTER.
TEST_F(DaemonLab, ASecondDaemonRefusesAndTouchesNothing) {
    const json cfg = lab_->config(1, 150);
    lab_->start(1, cfg);
    ASSERT_TRUE(becomes(1, "MASTER"));
    const std::size_t instances = pinned_instances(*lab_, 1);
    ASSERT_EQ(instances, 2u);

    const std::string same = lab_->write_config(1, cfg);
    EXPECT_EQ(lab_->run_to_exit(1, {VrrpLab::xvrrpd_path(), "-c", same}, "second.log", 10s), 1);
    EXPECT_NE(lab_->read_log("second.log").find("not starting a second daemon"), std::string::npos)
        << lab_->read_log("second.log");

    // Same pin root, another control socket: the pin root's lock refuses it.
    json other_socket = cfg;
    other_socket["global"]["control_socket"] = lab_->dir() + "/other.sock";
    std::ofstream(lab_->dir() + "/other.json") << other_socket.dump();
    EXPECT_EQ(lab_->run_to_exit(1, {VrrpLab::xvrrpd_path(), "-c", lab_->dir() + "/other.json"}, "third.log", 10s), 1);
    EXPECT_NE(lab_->read_log("third.log").find("pin root"), std::string::npos) << lab_->read_log("third.log");

    EXPECT_EQ(lab_->state(1), "MASTER") << "the first daemon still answers on its socket";
    EXPECT_EQ(pinned_instances(*lab_, 1), instances) << "its maps were not cleared";
    EXPECT_NE(lab_->router(1).exec("ip link show vr0").find("xdp"), std::string::npos);
    EXPECT_EQ(vip_holders(*lab_, 1), 1);
    EXPECT_TRUE(client_reaches_vip(*lab_));

    // SIGKILL releases the locks with the process: a restart is not blocked.
    lab_->signal(1, SIGKILL);
    lab_->wait_exit(1, 3s);
    lab_->start(1, cfg);
    EXPECT_TRUE(becomes(1, "MASTER"));
}

}  // namespace

namespace {

// Two segments: every router has vr0 (192.0.2.0/24) and vr1 (198.51.100.0/24), and each runs
// "gateway" (VRID 51) on vr0 and "seg1" (VRID 52) on vr1, IPv4 only.
class TwoSegmentLab : public DaemonLab {
protected:
    int segments() const override { return 2; }
    json config(int i, int priority, int interval_ms = 100) { return lab_->two_segment_config(i, priority, interval_ms); }
    // r1 (150) master and r2 (100) backup on both segments.
    bool start_r1_master_of_both() {
        lab_->start(1, config(1, 150));
        lab_->start(2, config(2, 100));
        return becomes(1, "MASTER") && becomes(1, "MASTER", 5s, "IPv4", "seg1") && becomes(2, "BACKUP") &&
               becomes(2, "BACKUP", 5s, "IPv4", "seg1");
    }
};

// sendmmsg stops at the first frame the kernel refuses: with r1's vr0 down (ENETDOWN), its vr1
// adverts in the same batch were lost and r2 became a second master on the healthy segment.
TEST_F(TwoSegmentLab, OneDownInterfaceNeverSilencesAnothersAdverts) {
    ASSERT_TRUE(start_r1_master_of_both());

    lab_->router(1).exec("ip link set vr0 down");
    // Master_Down_Interval is ~0.35 s here: two seconds of r1 alive and r2 still BACKUP on vr1.
    for (int k = 0; k < 20; ++k) {
        std::this_thread::sleep_for(100ms);
        ASSERT_EQ(lab_->state(2, "IPv4", "seg1"), "BACKUP") << "after " << (k + 1) * 100 << " ms";
    }
    EXPECT_EQ(vip_holders(*lab_, 2, "198.51.100.100/24", "vr1"), 1);
    EXPECT_TRUE(becomes(2, "MASTER")) << "vr0's own segment fails over";
    // The refused frames are counted against the instance whose interface refused them.
    const json s = lab_->status(1);
    for (const auto& inst : s["instances"]) {
        const int expected_min = inst["name"] == "gateway" ? 1 : 0;
        EXPECT_GE(inst["tx_errors"].get<int>(), expected_min) << inst.dump();
        if (inst["name"] == "seg1") {
            EXPECT_EQ(inst["tx_errors"].get<int>(), 0) << inst.dump();
        }
    }
}

}  // namespace

namespace {

// A flood of adverts on segment 0 (the client alternating two priorities as fast as it can
// send, each advert a change the dataplane reports) leaves segment 1's election alone: r2 never
// hears r1 go silent there, and a real failure of r1 on segment 1 during the flood still fails
// over. (How late the flood makes segment 1's adverts is measured by bench/run.sh flood.)
TEST_F(TwoSegmentLab, AFloodOnOneSegmentLeavesTheOthersElectionAlone) {
    ASSERT_TRUE(start_r1_master_of_both());
    auto seg1 = [&](int i) {
        const json s = lab_->status(i);
        for (const auto& inst : s["instances"])
            if (inst["name"] == "seg1") return inst;
        return json();
    };
    const json r2_before = seg1(2);
    const Mac client_mac = *parse_mac(lab_->client().exec("cat /sys/class/net/eth0/address").substr(0, 17));
    const auto frames = alternating_adverts(client_mac, IpAddress::from("192.0.2.10"), 51, 50, 60,
                                            IpAddress::from("192.0.2.100"));
    auto flood_in_background = [&](FloodResult& result) {
        // jthread: joined on every exit path, so a failed check never ends the binary (and its lab).
        return std::jthread([&] { result = flood(lab_->client(), "eth0", frames, 3'000'000, 3s); });
    };

    FloodResult first;
    std::jthread t = flood_in_background(first);
    int samples = 0, r2_backup = 0;
    for (auto end = std::chrono::steady_clock::now() + 2500ms; std::chrono::steady_clock::now() < end; ++samples) {
        r2_backup += lab_->state(2, "IPv4", "seg1") == "BACKUP";
        std::this_thread::sleep_for(100ms);
    }
    t.join();
    std::cout << "flood: " << first.sent << " adverts in " << first.seconds << " s ("
              << static_cast<int>(first.sent / first.seconds) << "/s)\n";
    EXPECT_GT(first.sent, 100'000u) << "a flood, or the test proves nothing";
    EXPECT_GT(lab_->status(1)["dataplane"].value("events_limited", 0), 0) << "the per-instance rate limit had work";
    EXPECT_EQ(r2_backup, samples) << "r2 stayed BACKUP on segment 1 throughout";
    const json r2_after = seg1(2);
    EXPECT_EQ(r2_after["counters"]["master_down"], r2_before["counters"]["master_down"]) << "r1 never went silent on segment 1";
    EXPECT_EQ(r2_after["transitions"], r2_before["transitions"]);
    EXPECT_EQ(lab_->state(1, "IPv4", "seg1"), "MASTER");

    // A real failure on segment 1 during a flood on segment 0 still fails over.
    FloodResult second;
    t = flood_in_background(second);
    std::this_thread::sleep_for(300ms);
    lab_->bridge().exec("ip link set p1s1 down");
    EXPECT_TRUE(becomes(2, "MASTER", 5s, "IPv4", "seg1"));
    t.join();
    EXPECT_EQ(vip_holders(*lab_, 2, "198.51.100.100/24", "vr1"), 1);
}

// r2's vr0 is deleted while r1 (the master of both segments) dies: r2's daemon lives, takes over
// the segment it still has, and when vr0 returns it re-attaches and takes that one too.
TEST_F(TwoSegmentLab, ADeletedInterfaceNeverKillsTheDaemonAndRejoinsWhenItReturns) {
    ASSERT_TRUE(start_r1_master_of_both());

    lab_->router(2).exec("ip link del vr0");
    lab_->signal(1, SIGKILL);
    EXPECT_TRUE(becomes(2, "MASTER", 5s, "IPv4", "seg1")) << "the other interface fails over";
    EXPECT_EQ(lab_->wait_exit(2, 100ms), -1) << "r2's daemon is alive";
    EXPECT_NE(lab_->router(2).exec("ip -4 addr show dev vr1").find("198.51.100.100/24"), std::string::npos);
    EXPECT_EQ(lab_->state(2), "") << "gateway waits for vr0";

    lab_->rejoin(2, 0);
    lab_->router(2).exec("ip addr add 192.0.2.2/24 dev vr0");
    EXPECT_TRUE(becomes(2, "MASTER", 8s)) << "gateway rejoins on the new vr0 and takes over";
    EXPECT_NE(lab_->router(2).exec("ip link show vr0").find("xdp"), std::string::npos) << "XDP re-attached";
    const std::string maddr = lab_->router(2).exec("ip maddr show dev vr0");
    EXPECT_NE(maddr.find("01:00:5e:00:00:12"), std::string::npos) << "the VRRP group's MAC on the new vr0: " << maddr;
    EXPECT_TRUE(VrrpLab::wait_until([&] { return client_reaches_vip(*lab_); }, 5s));
}

// Carrier loss on the master's interface: FAULT (adverts stop, VIPs released), the backup takes
// over, and when the link returns the router starts again as BACKUP and preempts.
TEST_F(DaemonLab, CarrierLossFaultsTheMasterAndItRejoinsWhenTheLinkReturns) {
    lab_->start(1, lab_->config(1, 150));
    lab_->start(2, lab_->config(2, 100));
    ASSERT_TRUE(becomes(1, "MASTER") && becomes(2, "BACKUP"));
    lab_->bridge().exec("ip link set p1 down");
    EXPECT_TRUE(becomes(1, "FAULT"));
    EXPECT_TRUE(becomes(2, "MASTER"));
    EXPECT_EQ(vip_holders(*lab_, 2), 1) << "r1 released the VIP";
    EXPECT_EQ(lab_->router(1).exec("ip -4 addr show dev vr0").find("192.0.2.100"), std::string::npos);
    lab_->bridge().exec("ip link set p1 up");
    EXPECT_TRUE(becomes(1, "MASTER"));
    EXPECT_TRUE(becomes(2, "BACKUP"));
    EXPECT_TRUE(VrrpLab::wait_until([&] { return client_reaches_vip(*lab_); }, 3s));
}

// The interface's MAC changes under a MASTER with `mac: "interface"` (a bond whose active slave
// changed with fail_over_mac, an address set by provisioning after the daemon started). XDP answers
// ARP and NS for the VIPs from the MAC the router was made with: before, it went on answering with
// the old one, and every client that asked was sent to a MAC nobody has, for as long as the daemon
// ran. Now the answers follow the interface, and the MASTER announces the new MAC at once, so a
// client that knew the old one moves without asking.
TEST_F(DaemonLab, AnInterfaceMacChangeUnderAMasterIsFollowed) {
    json c = lab_->config(1, 150, 100);
    c["instances"][0]["mac"] = "interface";
    c["instances"][0]["announce"] = {{"second_burst_ms", 0}};  // only the burst on becoming MASTER
    lab_->start(1, c);
    ASSERT_TRUE(becomes(1, "MASTER") && becomes(1, "MASTER", 5s, "IPv6"));
    std::this_thread::sleep_for(1s);  // that burst (5 x 100 ms) is over: what comes next is for the change
    ASSERT_TRUE(client_reaches_vip(*lab_));
    ASSERT_EQ(lab_->client().exec_status("ping -6 -c 1 -W 1 2001:db8::100"), 0);
    const std::string old_mac = lab_->router(1).exec("cat /sys/class/net/vr0/address").substr(0, 17);
    ASSERT_NE(lab_->client().exec("ip neigh show 192.0.2.100").find(old_mac), std::string::npos)
        << lab_->client().exec("ip neigh show");

    const std::string new_mac = "02:00:5e:10:00:51";  // locally administered
    const std::size_t from = lab_->log(1).size();
    lab_->router(1).exec("ip link set dev vr0 address " + new_mac);
    // Announced: the client's entries move without the client asking.
    EXPECT_TRUE(VrrpLab::wait_until(
        [&] { return lab_->client().exec("ip neigh show 192.0.2.100").find(new_mac) != std::string::npos; }, 3s))
        << lab_->client().exec("ip neigh show");
    EXPECT_TRUE(VrrpLab::wait_until(
        [&] { return lab_->client().exec("ip -6 neigh show 2001:db8::100").find(new_mac) != std::string::npos; }, 3s))
        << lab_->client().exec("ip -6 neigh show");
    // Answered: a client asking afresh is given the new MAC, and reaches the VIP through it.
    lab_->client().exec("ip neigh flush dev eth0");
    lab_->client().exec("ip -6 neigh flush dev eth0");
    EXPECT_TRUE(client_reaches_vip(*lab_));
    EXPECT_EQ(lab_->client().exec_status("ping -6 -c 1 -W 1 2001:db8::100"), 0);
    EXPECT_NE(lab_->client().exec("ip neigh show 192.0.2.100").find(new_mac), std::string::npos)
        << lab_->client().exec("ip neigh show");
    EXPECT_NE(lab_->client().exec("ip -6 neigh show 2001:db8::100").find(new_mac), std::string::npos)
        << lab_->client().exec("ip -6 neigh show");
    EXPECT_EQ(lab_->state(1), "MASTER");
    EXPECT_EQ(lab_->log(1).find("Entering", from), std::string::npos) << "no transition: " << lab_->log(1).substr(from);
}

// The same change while the daemon is stopped (SIGSTOP) after the link messages overflowed its
// netlink socket (40,000 MTU changes on another interface): the message with the new MAC is dropped,
// and the re-reading of every link that follows an overflow must find the change.
TEST_F(DaemonLab, AMacChangeLostInANetlinkOverflowIsFoundByTheReread) {
    json c = lab_->config(1, 150, 1000);  // 1 s adverts: no backup, the stop costs nothing
    c["instances"][0]["mac"] = "interface";
    lab_->start(1, c);
    ASSERT_TRUE(becomes(1, "MASTER") && becomes(1, "MASTER", 5s, "IPv6"));
    lab_->router(1).exec("ip link add xvfl0 type veth peer name xvfl1");
    std::string batch;
    for (int i = 0; i < 40000; ++i) batch += "link set dev xvfl0 mtu " + std::to_string(1280 + i % 2) + "\n";
    const std::string batch_file = lab_->dir() + "/mtu.batch";
    std::ofstream(batch_file) << batch;

    const std::string new_mac = "02:00:5e:10:00:52";
    lab_->signal(1, SIGSTOP);
    lab_->router(1).exec("ip -batch " + batch_file);  // the socket is full: what follows is dropped
    lab_->router(1).exec("ip link set dev vr0 address " + new_mac);
    lab_->signal(1, SIGCONT);
    ASSERT_TRUE(VrrpLab::wait_until([&] { return lab_->log(1).find("netlink: events were lost") != std::string::npos; }, 5s))
        << "no overflow: the test shows nothing (" << lab_->log(1) << ")";
    EXPECT_TRUE(VrrpLab::wait_until([&] { return lab_->log(1).find("has a new MAC, " + new_mac) != std::string::npos; }, 5s))
        << lab_->log(1);
    lab_->client().exec("ip neigh flush dev eth0");
    EXPECT_TRUE(client_reaches_vip(*lab_));
    EXPECT_NE(lab_->client().exec("ip neigh show 192.0.2.100").find(new_mac), std::string::npos)
        << lab_->client().exec("ip neigh show");
    EXPECT_EQ(lab_->state(1), "MASTER");
}

// Adverts leave from the interface's primary address (RFC 9568 5.1.2.1), and keepalived follows
// it. Renumbered under a MASTER (a new address added, the old primary removed), r1 went on
// advertising from the removed address for as long as it ran; now it takes the new one in place:
// no transition on either router, and the backup sees the master's new address.
TEST_F(DaemonLab, ARenumberedMasterAdvertisesFromItsNewAddressWithoutATransition) {
    lab_->start(1, lab_->config(1, 150, 100));
    lab_->start(2, lab_->config(2, 100, 100));
    ASSERT_TRUE(becomes(1, "MASTER") && becomes(2, "BACKUP"));
    ASSERT_EQ(lab_->status(2)["instances"][0]["master"]["address"], "192.0.2.1");
    const std::size_t from1 = lab_->log(1).size(), from2 = lab_->log(2).size();
    lab_->router(1).exec("sysctl -qw net.ipv4.conf.vr0.promote_secondaries=1");  // the VIP stays
    lab_->router(1).exec("ip addr add 192.0.2.11/24 dev vr0");
    lab_->router(1).exec("ip addr del 192.0.2.1/24 dev vr0");
    EXPECT_TRUE(VrrpLab::wait_until([&] { return lab_->status(2)["instances"][0]["master"]["address"] == "192.0.2.11"; }, 3s))
        << lab_->status(2)["instances"][0].dump() << lab_->log(1).substr(from1);
    EXPECT_EQ(lab_->status(1)["instances"][0]["master"]["address"], "192.0.2.11");
    EXPECT_NE(lab_->log(1).find("adverts leave from 192.0.2.11 now (was 192.0.2.1)", from1), std::string::npos)
        << lab_->log(1).substr(from1);
    std::this_thread::sleep_for(500ms);  // more than Master_Down_Interval: r2 would have taken over
    EXPECT_EQ(lab_->log(1).find("Entering", from1), std::string::npos) << lab_->log(1).substr(from1);
    EXPECT_EQ(lab_->log(2).find("Entering", from2), std::string::npos) << lab_->log(2).substr(from2);
    EXPECT_EQ(lab_->state(1), "MASTER");
    EXPECT_TRUE(client_reaches_vip(*lab_));
}

// With no address of the family left on the interface (a lease that ran out, an address removed
// by hand), the router has nothing RFC 9568 lets it advertise from: keepalived goes to FAULT, and
// so does xvrrpd now (before, it stayed MASTER, advertising from an address it no longer had). The
// backup takes that family over; the other family is not touched; when an address returns the
// router starts again and preempts.
TEST_F(DaemonLab, ARouterWithoutAnAddressOfItsFamilyIsInFaultUntilOneReturns) {
    lab_->start(1, lab_->config(1, 150, 100));
    lab_->start(2, lab_->config(2, 100, 100));
    ASSERT_TRUE(becomes(1, "MASTER") && becomes(2, "BACKUP") && becomes(1, "MASTER", 5s, "IPv6"));
    const std::size_t from = lab_->log(1).size();
    lab_->router(1).exec("ip addr del 192.0.2.1/24 dev vr0");  // the VIP, a secondary of it, goes too
    EXPECT_TRUE(becomes(1, "FAULT"));
    EXPECT_TRUE(becomes(2, "MASTER"));
    EXPECT_NE(lab_->log(1).find("vr0 has no address to advertise from", from), std::string::npos) << lab_->log(1).substr(from);
    const json s1 = lab_->status(1);
    EXPECT_NE(s1["instances"][0].dump().find("vr0 has no IPv4 address"), std::string::npos) << s1["instances"][0].dump();
    EXPECT_EQ(lab_->state(1, "IPv6"), "MASTER") << "IPv6 still has its link-local address";
    EXPECT_EQ(vip_holders(*lab_, 2), 1);
    EXPECT_TRUE(client_reaches_vip(*lab_));

    lab_->router(1).exec("ip addr add 192.0.2.1/24 dev vr0");
    EXPECT_TRUE(becomes(1, "MASTER"));
    EXPECT_TRUE(becomes(2, "BACKUP"));
    EXPECT_NE(lab_->log(1).find("vr0 has its address 192.0.2.1 again", from), std::string::npos) << lab_->log(1).substr(from);
    EXPECT_TRUE(VrrpLab::wait_until([&] { return client_reaches_vip(*lab_); }, 3s));
}

}  // namespace

namespace {

std::uint64_t master_down_count(VrrpLab& lab, int i) { return counter(lab.status(i), "master_down"); }

// Reload is minimal: a priority change goes through the state machine, with no restart, no
// resignation, no transition anywhere and no advert gap (the backup's timer never fires).
TEST_F(DaemonLab, SighupWithOnePriorityChangedCausesNoTransitionAndNoGap) {
    json c1 = lab_->config(1, 150);
    lab_->start(1, c1);
    lab_->start(2, lab_->config(2, 100));
    ASSERT_TRUE(becomes(1, "MASTER") && becomes(2, "BACKUP"));
    const json before1 = lab_->status(1), before2 = lab_->status(2);
    const auto down_before = master_down_count(*lab_, 2);

    c1["instances"][0]["priority"] = 140;
    lab_->write_config(1, c1);
    lab_->signal(1, SIGHUP);
    EXPECT_TRUE(VrrpLab::wait_until([&] { return lab_->status(2)["instances"][0]["master"]["priority"] == 140; }, 3s))
        << "r2 hears the new priority";
    std::this_thread::sleep_for(500ms);
    const json after1 = lab_->status(1), after2 = lab_->status(2);
    for (std::size_t k = 0; k < 2; ++k) {
        EXPECT_EQ(after1["instances"][k]["transitions"], before1["instances"][k]["transitions"]) << after1.dump();
        EXPECT_EQ(after2["instances"][k]["transitions"], before2["instances"][k]["transitions"]) << after2.dump();
    }
    EXPECT_EQ(after1["instances"][0]["priority"], 140);
    EXPECT_EQ(master_down_count(*lab_, 2), down_before) << "no gap long enough for r2's timer";
    EXPECT_EQ(lab_->log(1).find("restarting"), std::string::npos) << lab_->log(1);
}

// Reload is atomic: a configuration naming an interface that does not exist changes nothing,
// and says why (before, the changed instances were stopped before the check failed).
TEST_F(DaemonLab, SighupNamingAMissingInterfaceChangesNothing) {
    json c1 = lab_->config(1, 150);
    lab_->start(1, c1);
    lab_->start(2, lab_->config(2, 100));
    ASSERT_TRUE(becomes(1, "MASTER") && becomes(2, "BACKUP"));
    const json before = lab_->status(1);

    c1["instances"][0]["priority"] = 50;  // would hand the VIP to r2 if applied
    json missing = c1["instances"][0];
    missing["name"] = "elsewhere";
    missing["interface"] = "nosuch0";
    missing["vips"] = {"203.0.113.1/24"};
    c1["instances"].push_back(missing);
    lab_->write_config(1, c1);
    lab_->signal(1, SIGHUP);
    EXPECT_TRUE(VrrpLab::wait_until([&] { return lab_->log(1).find("keeping what runs") != std::string::npos; }, 3s));
    EXPECT_NE(lab_->log(1).find("nosuch0"), std::string::npos);
    std::this_thread::sleep_for(700ms);
    const json after = lab_->status(1);
    EXPECT_EQ(after["instances"].size(), before["instances"].size());
    EXPECT_EQ(after["instances"][0]["priority"], 150);
    EXPECT_EQ(after["instances"][0]["transitions"], before["instances"][0]["transitions"]);
    EXPECT_EQ(lab_->state(1), "MASTER");
    EXPECT_EQ(lab_->state(2), "BACKUP");
}

}  // namespace

namespace {

// Unicast: the tie-break compares the address adverts really come from. r1 sends from
// 192.0.2.201, r2 from 192.0.2.150 (their primaries, .1 and .2, order the other way): at equal
// priority r1 must win, and stay master. Before, each compared the other's source with its own
// primary, both yielded, and the election flapped.
TEST_F(DaemonLab, UnicastTieBreakUsesTheUnicastSource) {
    const char* source[] = {"192.0.2.201", "192.0.2.150"};
    lab_->bridge().exec("ip link set p1 nomaster");
    lab_->bridge().exec("ip link set p2 nomaster");
    for (int i : {1, 2}) {
        lab_->router(i).exec(std::string("ip addr add ") + source[i - 1] + "/24 dev vr0");
        json c = lab_->config(i, 100);
        c["instances"][0]["vips"] = {"192.0.2.100/24"};
        c["instances"][0]["unicast_source"] = source[i - 1];
        c["instances"][0]["unicast_peers"] = {source[2 - i]};
        lab_->start(i, c);
    }
    ASSERT_TRUE(becomes(1, "MASTER") && becomes(2, "MASTER")) << "isolated: both master";
    lab_->bridge().exec("ip link set p1 master br0");
    lab_->bridge().exec("ip link set p2 master br0");
    EXPECT_TRUE(becomes(2, "BACKUP")) << lab_->status(2)["dataplane"].dump();
    const auto transitions = lab_->status(1)["instances"][0]["transitions"];
    std::this_thread::sleep_for(1500ms);
    EXPECT_EQ(lab_->state(1), "MASTER");
    EXPECT_EQ(lab_->state(2), "BACKUP");
    EXPECT_EQ(lab_->status(1)["instances"][0]["transitions"], transitions) << "stable, no flapping";
    EXPECT_EQ(lab_->status(2)["instances"][0]["master"]["address"], "192.0.2.201");
}

// Unicast adverts from a sender that is not a configured peer are dropped in XDP and counted
// (keepalived's check_unicast_src): a stranger with a higher priority takes nothing over.
TEST_F(DaemonLab, UnicastAdvertsFromStrangersAreDropped) {
    ASSERT_TRUE(start_unicast_pair());
    // The client pretends to be a router with priority 254, unicast to r1 and r2.
    const std::string craft =
        "from scapy.all import *\n"
        "import sys\n"
        "for dst in ('192.0.2.1', '192.0.2.2'):\n"
        "    p = IP(src='192.0.2.10', dst=dst, ttl=255, proto=112)/VRRPv3(vrid=51, priority=254, ipcount=1, addrlist=['192.0.2.100'], adv=10)\n"
        "    send(p, iface='eth0', count=20, inter=0.02, verbose=False)\n";
    std::ofstream(lab_->dir() + "/stranger.py") << craft;
    ASSERT_EQ(lab_->client().exec_status("/usr/bin/python3 " + lab_->dir() + "/stranger.py"), 0);
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(lab_->state(1), "MASTER");
    EXPECT_EQ(lab_->state(2), "BACKUP");
    EXPECT_EQ(lab_->status(2)["instances"][0]["master"]["address"], "192.0.2.1");
    EXPECT_GE(lab_->status(1)["dataplane"].value("advert_bad_source", 0), 20);
}

}  // namespace

namespace {

// 250 dual-stack instances (500 routers) make a status response larger than a unix socket's
// buffer. Before, the daemon answered with blocking sends: a client that connected and never read
// stopped its loop, its adverts stopped, and the backup took every instance over.
json many_instances(VrrpLab& lab, int i, int priority) {
    json c = lab.config(i, priority);
    c["instances"] = json::array();
    for (int k = 1; k <= 250; ++k) {
        // Two IPv4 and fourteen IPv6 VIPs each (documentation ranges): a status of about 1 MB.
        json vips = {"198.51.100." + std::to_string(k) + "/32", "203.0.113." + std::to_string(k) + "/32"};
        for (int v = 1; v <= 14; ++v) vips.push_back("2001:db8:" + std::to_string(v) + "::" + std::to_string(k) + "/128");
        // accept_mode off: XDP answers for the VIPs and 4,000 addresses never churn on the interface.
        c["instances"].push_back({{"name", "i" + std::to_string(k)}, {"interface", "vr0"}, {"vrid", k},
                                  {"priority", priority}, {"advert_interval_ms", 100}, {"vips", vips},
                                  {"accept_mode", false}});
    }
    return c;
}

TEST_F(DaemonLab, AClientThatNeverReadsDelaysNoAdvert) {
    lab_->start(1, many_instances(*lab_, 1, 150));
    ASSERT_TRUE(VrrpLab::wait_until([&] { return lab_->state(1, "IPv6", "i250") == "MASTER"; }, 10s));
    lab_->start(2, many_instances(*lab_, 2, 100));
    ASSERT_TRUE(VrrpLab::wait_until([&] {
        const json s = lab_->status(2);
        if (!s.is_object() || s["instances"].size() != 500) return false;
        for (const auto& i : s["instances"])
            if (i["state"] != "BACKUP" || i["master"].is_null()) return false;
        return true;
    }, 20s)) << "r2 backup of all 500 routers: " << [&] {
        std::string odd;
        const json s2 = lab_->status(2);  // held: a range-for over a temporary's member dangles
        for (const auto& i : s2["instances"])
            if (i["state"] != "BACKUP" || i["master"].is_null()) odd += i["name"].get<std::string>() + "/" + i["family"].get<std::string>() + " " + i["state"].get<std::string>() + "; ";
        return odd;
    }();
    const auto t0 = std::chrono::steady_clock::now();
    std::cout << "status of r1: " << lab_->status(1).dump().size() << " bytes in "
              << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count() << " ms\n";
    auto master_downs = [&] {
        std::uint64_t n = 0;
        const json s2 = lab_->status(2);
        for (const auto& i : s2["instances"]) n += i["counters"].value("master_down", std::uint64_t{0});
        return n;
    };
    const auto downs = master_downs();

    // Three clients ask for the status and never read a byte; one connects and never asks.
    const std::string script = lab_->dir() + "/sleepy.py";
    std::ofstream(script) << "import socket, time\n"
                             "socks = []\n"
                             "for ask in (True, True, True, False):\n"
                             "    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
                             "    s.connect('" + lab_->socket(1) + "')\n"
                             "    if ask: s.sendall(b'{\"command\": \"status\"}\\n')\n"
                             "    socks.append(s)\n"
                             "time.sleep(3)\n";
    sh_status("ip netns exec " + lab_->router(1).name() + " /usr/bin/python3 " + script + " &");
    std::this_thread::sleep_for(2500ms);
    EXPECT_EQ(master_downs(), downs) << "r1's adverts never stopped: r2's timers never fired";
    EXPECT_EQ(lab_->state(1, "IPv4", "i1"), "MASTER") << "r1 answers other clients meanwhile";
    EXPECT_EQ(lab_->state(2, "IPv4", "i250"), "BACKUP");
    std::this_thread::sleep_for(700ms);  // the script's clients leave before the lab does
}

}  // namespace

namespace {

// The fail-safe follows the adverts: a killed or stopped master's XDP answers no ARP once its
// adverts have stopped for down_timer_adverts x interval, before the backup takes over. Before,
// it answered for heartbeat_timeout_ms (1 s by default) whatever the interval, so at 10 and 100
// ms both routers answered for a while and the switch's MAC table flapped.
struct Silence {
    int interval_ms;
    int signal;
};

class FailSafeLab : public DaemonLab, public ::testing::WithParamInterface<Silence> {};

TEST_P(FailSafeLab, NoReplyFromTheOldMasterAfterTheBackupTakesOver) {
    const auto [interval, sig] = GetParam();
    for (int i : {1, 2}) {
        json c = lab_->config(i, i == 1 ? 150 : 100, interval);
        c["global"]["heartbeat_timeout_ms"] = 1000;
        c["instances"][0]["vips"] = {"192.0.2.100/24"};
        lab_->start(i, c);
    }
    ASSERT_TRUE(becomes(1, "MASTER") && becomes(2, "BACKUP"));
    lab_->client().exec("ip neigh flush dev eth0");
    ASSERT_TRUE(client_reaches_vip(*lab_));
    ASSERT_GT(arp_replied_by(*lab_, 1), 0u) << "r1 answers while it lives (and the counter is read right)";
    lab_->signal(1, sig);
    ASSERT_TRUE(becomes(2, "MASTER", 5s));
    const auto before = arp_replied_by(*lab_, 1);
    int answered = 0;
    for (int k = 0; k < 10; ++k) {
        lab_->client().exec("ip neigh flush dev eth0");
        answered += lab_->client().exec_status("ping -c 1 -W 1 192.0.2.100") == 0;
    }
    EXPECT_EQ(answered, 10) << "r2 answers";
    EXPECT_EQ(arp_replied_by(*lab_, 1), before) << "r1's XDP answered after r2 took over";
    if (sig == SIGSTOP) lab_->signal(1, SIGCONT);
}

INSTANTIATE_TEST_SUITE_P(Intervals, FailSafeLab,
                         ::testing::Values(Silence{10, SIGKILL}, Silence{100, SIGKILL}, Silence{100, SIGSTOP},
                                           Silence{1000, SIGKILL}),
                         [](const auto& info) {
                             return std::to_string(info.param.interval_ms) + "ms_" +
                                    (info.param.signal == SIGKILL ? "killed" : "stopped");
                         });

}  // namespace

namespace {

// The kernel never answers for a VIP, even with the XDP program gone. r1 runs alone, so any
// answer to the client comes from r1: an ARP reply or a solicited NA is XDP's while it is
// attached, and the kernel's (with the interface MAC, for as long as the VIP stays on the
// interface) once it is not. A live daemon's own announcements (a gratuitous ARP request, an
// unsolicited NA) are not answers, and a client may rightly learn the VIP from them.
class KernelSilenceLab : public DaemonLab {
protected:
    struct Answers {
        int arp_replies = 0;
        int solicited_nas = 0;
    };
    // The client asks three times in each family and counts what answers.
    Answers ask() {
        const std::string script = lab_->dir() + "/ask.py";
        std::ofstream(script) <<
            "from scapy.all import *\n"
            "import json, time\n"
            "mac = get_if_hwaddr('eth0')\n"
            "sniff = AsyncSniffer(iface='eth0', filter='arp or icmp6', store=True)\n"
            "sniff.start(); time.sleep(0.3)\n"
            "sendp(Ether(dst='ff:ff:ff:ff:ff:ff', src=mac)/ARP(op=1, hwsrc=mac, psrc='192.0.2.10', pdst='192.0.2.100'),\n"
            "      iface='eth0', count=3, inter=0.1, verbose=False)\n"
            "vip = '2001:db8::100'\n"
            "snm = inet_ntop(socket.AF_INET6, in6_getnsma(inet_pton(socket.AF_INET6, vip)))\n"
            "sendp(Ether(dst=in6_getnsmac(inet_pton(socket.AF_INET6, snm)), src=mac)/IPv6(src='2001:db8::a', dst=snm, hlim=255)/\n"
            "      ICMPv6ND_NS(tgt=vip)/ICMPv6NDOptSrcLLAddr(lladdr=mac), iface='eth0', count=3, inter=0.1, verbose=False)\n"
            "time.sleep(0.7)\n"
            "got = sniff.stop()\n"
            "arp = sum(1 for p in got if ARP in p and p[ARP].op == 2 and p[ARP].psrc == '192.0.2.100')\n"
            "na = sum(1 for p in got if ICMPv6ND_NA in p and p[ICMPv6ND_NA].tgt == vip and p[ICMPv6ND_NA].S == 1)\n"
            "print(json.dumps({'arp': arp, 'na': na}))\n";
        const json got = json::parse(lab_->client().exec("/usr/bin/python3 " + script));
        return {got["arp"].get<int>(), got["na"].get<int>()};
    }
    bool xdp_attached() { return lab_->router(1).exec("ip link show vr0").find("xdp") != std::string::npos; }
    bool vips_left() {
        return lab_->router(1).exec("ip addr show dev vr0").find("192.0.2.100") != std::string::npos &&
               lab_->router(1).exec("ip addr show dev vr0").find("2001:db8::100") != std::string::npos;
    }
    void start_master(const json& cfg) {
        lab_->start(1, cfg);
        ASSERT_TRUE(becomes(1, "MASTER") && becomes(1, "MASTER", 5s, "IPv6"));
        const Answers alive = ask();
        ASSERT_EQ(alive.arp_replies, 3) << "r1's XDP answers while it lives (and the probe sees answers)";
        ASSERT_EQ(alive.solicited_nas, 3);
    }
    void expect_no_answer() {
        const Answers a = ask();
        EXPECT_EQ(a.arp_replies, 0) << "r1's kernel answered ARP for the VIP";
        EXPECT_EQ(a.solicited_nas, 0) << "r1's kernel answered NS for the VIP";
    }
};

// Pins on a bpffs that dies with the daemon: under `ip netns exec` /sys is the command's own, and
// the daemon mounts a bpffs there itself (as in a container). Killed, its mount namespace, pins
// and XDP link go with it; the VIPs stay on the interface.
TEST_F(KernelSilenceLab, KilledWithPrivatePinsTheKernelNeverAnswersForAVip) {
    json c = lab_->config(1, 150);
    c["global"]["pin_root"] = "/sys/fs/bpf/xvrrp-private";
    ASSERT_NO_FATAL_FAILURE(start_master(c));
    EXPECT_NE(lab_->log(1).find("mounted a bpf filesystem"), std::string::npos) << "the daemon warns";
    lab_->signal(1, SIGKILL);
    lab_->wait_exit(1, 3s);
    ASSERT_TRUE(VrrpLab::wait_until([&] { return !xdp_attached(); }, 3s)) << "XDP left with the private bpffs";
    ASSERT_TRUE(vips_left()) << "the case under test: VIPs left on the interface";
    expect_no_answer();
}

// An operator detaches XDP (`ip link set dev vr0 xdp off`, or `bpftool link detach` for the
// daemon's pinned link) under a live master: its kernel still answers for no VIP.
TEST_F(KernelSilenceLab, XdpDetachedUnderALiveMasterTheKernelNeverAnswersForAVip) {
    ASSERT_NO_FATAL_FAILURE(start_master(lab_->config(1, 150)));
    lab_->router(1).exec_status("ip link set dev vr0 xdp off");
    if (xdp_attached()) lab_->router(1).exec("bpftool link detach pinned " + lab_->pin_root(1) + "/link_vr0");
    ASSERT_FALSE(xdp_attached());
    ASSERT_TRUE(vips_left());
    expect_no_answer();
    EXPECT_GE(lab_->status(1)["dataplane"].value("kernel_claim_dropped", 0), 6) << "counted";
    EXPECT_EQ(lab_->state(1), "MASTER") << "the daemon lives on";
}

// XDP's fail-safe clock starts on the coarse clock helper and reads jiffies once the daemon has
// measured the kernel's tick beside its loop (about 24 ticks): the tick is the running kernel's.
TEST_F(KernelSilenceLab, TheFailSafeClockGetsTheKernelsTickOnceMeasured) {
    const std::uint64_t tick = xvrrp::kernel_tick_ns();
    if (!tick) GTEST_SKIP() << "this kernel's tick is not known here: XDP keeps the helper";
    ASSERT_NO_FATAL_FAILURE(start_master(lab_->config(1, 150)));
    auto bpftool = [&](const std::string& args) { return json::parse(lab_->router(1).exec("bpftool -j " + args)); };
    // The daemon's program behind its pinned link, and that program's .bss.
    const auto prog = bpftool("link show pinned " + lab_->pin_root(1) + "/link_vr0")["prog_id"].get<int>();
    std::optional<int> bss;
    const json maps = bpftool("prog show id " + std::to_string(prog))["map_ids"];  // kept: the loop reads it
    for (const auto& id : maps) {
        const std::string name = bpftool("map show id " + std::to_string(id.get<int>()))["name"];
        if (name.size() >= 4 && name.compare(name.size() - 4, 4, ".bss") == 0) bss = id.get<int>();
    }
    ASSERT_TRUE(bss) << "no .bss map on the daemon's XDP program " << prog;
    auto tick_in_xdp = [&]() -> std::uint64_t {
        const json vars = bpftool("map dump id " + std::to_string(*bss))[0]["formatted"]["value"][".bss"];
        for (const auto& var : vars)
            if (var.contains("xvrrp_tick_ns")) return var["xvrrp_tick_ns"].get<std::uint64_t>();
        return 0;
    };
    ASSERT_TRUE(VrrpLab::wait_until([&] { return tick_in_xdp() != 0; }, 3s)) << "the tick never reached XDP";
    EXPECT_EQ(tick_in_xdp(), tick) << "the running kernel's tick";
    const Answers a = ask();
    EXPECT_EQ(a.arp_replies, 3) << "XDP answers on the jiffies clock";
    EXPECT_EQ(a.solicited_nas, 3);
}

}  // namespace

// Many routers fail over at once. With hundreds of peers the kernel could not give every one a
// master-down timer (bpf_timer_init -ENOMEM on 6.18), XDP marked them armed all the same, and the
// routers without a timer took over only at the controller's 5 s resync (found by bench mass).
// Now the daemon's sweep of the peer entries watches the masters that have no kernel timer.
TEST_F(TwoSegmentLab, EveryRouterTakesOverWhenTheMasterOfFiveHundredDies) {
    constexpr int kInstances = 500;  // 250 VRIDs on each segment, IPv6 VIPs, 100 ms adverts
    auto config_for = [&](int router, int priority) {
        json c = lab_->config(router, priority, 100);
        c["instances"] = json::array();
        for (int i = 0; i < kInstances; ++i) {
            const int segment = i / 250, vrid = i % 250 + 1;
            char vip[48];
            std::snprintf(vip, sizeof(vip), "2001:db8:%x::%x/64", segment + 1, vrid);
            c["instances"].push_back({{"name", "vr" + std::to_string(i)}, {"interface", "vr" + std::to_string(segment)},
                                      {"vrid", vrid}, {"priority", priority}, {"advert_interval_ms", 100},
                                      {"vips", {vip}}, {"announce", {{"repeat", 1}}}});
        }
        return c;
    };
    auto count = [&](int router, const std::string& state) {
        const json s = lab_->status(router);  // kept: the loop reads into it
        int n = 0;
        if (s.is_object())
            for (const auto& i : s["instances"]) n += i["state"] == state;
        return n;
    };
    lab_->start(1, config_for(1, 150));
    lab_->start(2, config_for(2, 100));
    ASSERT_TRUE(VrrpLab::wait_until([&] { return count(1, "MASTER") == kInstances && count(2, "BACKUP") == kInstances; }, 30s));
    std::this_thread::sleep_for(1s);  // every backup has heard its master for a while
    const json before = lab_->status(2);
    std::map<std::string, int> watchers;
    for (const auto& i : before["instances"]) ++watchers[i.value("master_down_timer", "")];
    std::cout << "r2: " << before["dataplane"].value("timer_errors", 0) << " master-down timers the kernel could not give; "
              << watchers["kernel"] << " masters watched by kernel timers, " << watchers["sweep"] << " by the sweep\n";
    EXPECT_EQ(watchers["kernel"] + watchers["sweep"], kInstances) << "every master watched, none left to polling";

    lab_->signal(1, SIGKILL);
    // Master_Down_Interval is 361 ms; the resync that used to rescue the rest comes every 5 s.
    EXPECT_TRUE(VrrpLab::wait_until([&] { return count(2, "MASTER") == kInstances; }, 2s))
        << count(2, "MASTER") << " of " << kInstances << " routers took over within 2 s";
    // How long the takeover of all of them took, from r2's log (informational).
    std::istringstream log(lab_->log(2));
    std::vector<std::string> stamps;
    for (std::string line; std::getline(log, line);)
        if (line.find("Entering MASTER STATE (master down)") != std::string::npos) stamps.push_back(line.substr(11, 12));
    if (!stamps.empty()) std::cout << stamps.size() << " takeovers logged from " << stamps.front() << " to " << stamps.back() << "\n";
}
