// The dataplane on a real veth between two namespaces: native XDP attach,
// the client kernel's own ARP and neighbour discovery answered by XDP with the
// virtual MAC, an unowned VIP left on the interface never announced, a real
// advert frame reaching the ring buffer, detach on scope exit, and the pinned
// maps as bpftool shows them.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "lab.hpp"
#include "privileged.hpp"
#include "world.hpp"
#include "xvrrp/event_loop.hpp"
#include "xvrrp/event_ring.hpp"

using namespace xvrrp;
using namespace xvrrp::test;

namespace {

// A private bpffs instance mounted for the test, so nothing is pinned in the host's /sys/fs/bpf.
class PrivateBpffs {
public:
    PrivateBpffs() : dir_("/tmp/" + unique_name("xvt-bpffs")) {
        std::filesystem::create_directories(dir_);
        sh("mount -t bpf bpf " + dir_);
    }
    ~PrivateBpffs() {
        sh_status("umount " + dir_);
        std::filesystem::remove(dir_);
    }
    [[nodiscard]] const std::string& dir() const { return dir_; }

private:
    std::string dir_;
};

class DataplaneLab : public ::testing::Test {
protected:
    void SetUp() override {
        XVRRP_REQUIRE_ROOT();
        router_ = std::make_unique<Netns>("xvt-r");
        client_ = std::make_unique<Netns>("xvt-c");
        add_veth(*router_, "r0", *client_, "c0");
        router_->exec("ip addr add 192.0.2.1/24 dev r0");
        router_->exec("ip addr add 2001:db8::1/64 dev r0 nodad");
        client_->exec("ip addr add 192.0.2.10/24 dev c0");
        client_->exec("ip addr add 2001:db8::a/64 dev c0 nodad");
        r0_ = router_->ifindex("r0");

        dp_ = std::make_unique<Dataplane>(DataplaneOptions{.pin_root = ""});
        dp_->set_instance(inst_key(r0_, 1), make_inst(3, XVRRP_STATE_MASTER, kRouterIp));
        dp_->set_instance(inst_key(r0_, 1, Family::V6), make_inst(3, XVRRP_STATE_MASTER, kRouterIp6));
        dp_->set_vip(vip_key(r0_, kVipOwned), make_vip(virtual_mac(1, Family::V4), true), inst_key(r0_, 1));
        dp_->set_vip(vip_key(r0_, kVipUnowned), make_vip(virtual_mac(1, Family::V4), false), inst_key(r0_, 1));
        dp_->set_vip(vip_key(r0_, kVip6Owned), make_vip(virtual_mac(1, Family::V6), true, true), inst_key(r0_, 1, Family::V6));
        xdp_ = attach_in(*router_, "r0", dp_->prog_fd(), XdpMode::Native);
        // XDP_TX on a veth reaches the peer only when the peer runs an XDP program.
        peer_xdp_ = attach_in(*client_, "c0", pass_.prog_fd(), XdpMode::Native);
    }

    void TearDown() override {
        peer_xdp_ = {};
        xdp_ = {};
        dp_.reset();
        client_.reset();
        router_.reset();
    }

    std::string neigh(const std::string& addr) { return client_->exec("ip neigh show " + addr + " dev c0"); }

    std::unique_ptr<Netns> router_, client_;
    unsigned r0_ = 0;
    std::unique_ptr<Dataplane> dp_;
    PassProgram pass_;
    XdpAttachment xdp_, peer_xdp_;
};

TEST_F(DataplaneLab, AttachesNativeAndDetachesOnScopeExit) {
    EXPECT_EQ(xdp_.mode(), XdpMode::Native);
    EXPECT_NE(router_->exec("ip link show r0").find("xdp "), std::string::npos) << "driver-mode XDP on r0";
    xdp_ = {};
    EXPECT_EQ(router_->exec("ip link show r0").find("xdp"), std::string::npos) << "detached with its owner";
}

TEST_F(DataplaneLab, PinnedAttachmentOutlivesItsOwnerUntilUnpinned) {
    PrivateBpffs fs;
    const std::string pin = fs.dir() + "/link_r0";
    xdp_.pin(pin);
    xdp_ = {};  // the owner goes, as a killed daemon's would
    EXPECT_NE(router_->exec("ip link show r0").find("xdp "), std::string::npos) << "still attached";
    std::filesystem::remove(pin);  // the last reference
    EXPECT_EQ(router_->exec("ip link show r0").find("xdp"), std::string::npos) << "detached with its pin";

    XdpAttachment again = attach_in(*router_, "r0", dp_->prog_fd());
    again.pin(pin);
    again.detach();  // detach() also removes the pin
    EXPECT_FALSE(std::filesystem::exists(pin));
    EXPECT_EQ(router_->exec("ip link show r0").find("xdp"), std::string::npos);
}

TEST_F(DataplaneLab, ClientArpForVipIsAnsweredByXdpWithVirtualMac) {
    const auto before = dp_->stats()[XVRRP_STAT_ARP_REPLIED].packets;
    client_->exec_status("ping -c 1 -W 1 192.0.2.100");  // the router holds no such address: only ARP matters
    EXPECT_NE(neigh("192.0.2.100").find("lladdr 00:00:5e:00:01:01"), std::string::npos) << neigh("192.0.2.100");
    EXPECT_GE(dp_->stats()[XVRRP_STAT_ARP_REPLIED].packets, before + 1);
    EXPECT_GE(dp_->instance_stats(inst_key(r0_, 1))->arp_replied, 1u);
}

TEST_F(DataplaneLab, UnownedVipLeftOnInterfaceIsNeverAnnounced) {
    // The kernel would answer for an address on r0; XDP drops the request first.
    router_->exec("ip addr add 192.0.2.101/32 dev r0");
    client_->exec_status("ping -c 1 -W 1 192.0.2.101");
    EXPECT_EQ(neigh("192.0.2.101").find("lladdr"), std::string::npos) << neigh("192.0.2.101");
    EXPECT_GE(dp_->stats()[XVRRP_STAT_ARP_DROPPED_UNOWNED].packets, 1u);
    // Control: the router's own address is still answered by its kernel (passed by XDP).
    EXPECT_EQ(client_->exec_status("ping -c 1 -W 1 192.0.2.1"), 0);
}

TEST_F(DataplaneLab, OwnedVipIsReachableWhenTheRouterHoldsIt) {
    // Interface-MAC flavour: the client's frames reach r0's own MAC, so the VIP answers pings.
    Mac r0_mac{};
    {
        const auto out = router_->exec("cat /sys/class/net/r0/address");
        r0_mac = *parse_mac(out.substr(0, 17));
    }
    dp_->set_vip(vip_key(r0_, kVipIfaceMac), make_vip(r0_mac, true), inst_key(r0_, 1));
    router_->exec("ip addr add 192.0.2.102/32 dev r0");
    EXPECT_EQ(client_->exec_status("ping -c 1 -W 2 192.0.2.102"), 0);
    EXPECT_NE(neigh("192.0.2.102").find(to_string(r0_mac)), std::string::npos);
}

TEST_F(DataplaneLab, ClientNeighbourSolicitationIsAnsweredWithVirtualMac) {
    client_->exec_status("ping -6 -c 1 -W 1 2001:db8::100");
    const auto n = client_->exec("ip -6 neigh show 2001:db8::100 dev c0");
    // The client kernel accepted the advertisement: checksum, flags and option are right.
    EXPECT_NE(n.find("lladdr 00:00:5e:00:02:01"), std::string::npos) << n;
    EXPECT_NE(n.find("router"), std::string::npos) << n;
    EXPECT_GE(dp_->stats()[XVRRP_STAT_NS_REPLIED].packets, 1u);
}

TEST_F(DataplaneLab, AdvertOnTheWireReachesTheRingBuffer) {
    auto inst = make_inst(3, XVRRP_STATE_BACKUP, kRouterIp);
    dp_->set_instance(inst_key(r0_, 1), inst);
    std::vector<xvrrp_event> events;
    EventRing ring(dp_->events_fd(), [&](const xvrrp_event& e) { events.push_back(e); });
    EventLoop loop;
    loop.add(ring.fd(), [&] { ring.consume(); });

    const Bytes frame = advert_frame(advert(1, 200), IpAddress::from("192.0.2.10"));
    send_frame(*client_, "c0", frame);
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (events.empty() && std::chrono::steady_clock::now() < end) loop.run_once(20);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].type, XVRRP_EV_NEW_MASTER);
    EXPECT_EQ(events[0].priority, 200);
    EXPECT_EQ(events[0].inst.ifindex, r0_);
    EXPECT_EQ(IpAddress::from("192.0.2.10").bytes[3], events[0].addr[3]);
}

TEST(PinnedMaps, BpftoolPrintsNamedFields) {
    XVRRP_REQUIRE_ROOT();
    PrivateBpffs fs;
    const std::string root = fs.dir() + "/xvrrp";
    {
        Dataplane dp(DataplaneOptions{.pin_root = root});
        dp.set_instance(inst_key(7, 42), make_inst(3, XVRRP_STATE_BACKUP, kRouterIp));
        EXPECT_TRUE(std::filesystem::exists(root + "/" XVRRP_MAP_INSTANCES));
        const auto dump = sh("bpftool map dump pinned " + root + "/" XVRRP_MAP_INSTANCES);
        for (const char* field : {"\"vrid\": 42", "\"priority\": 100", "\"adver_int_cs\": 100", "\"state\": 1"})
            EXPECT_NE(dump.find(field), std::string::npos) << field << " in\n" << dump;
        const auto stats = sh("bpftool map dump pinned " + root + "/" XVRRP_MAP_STATS);
        EXPECT_NE(stats.find("\"packets\""), std::string::npos) << stats;

        // A second Dataplane re-uses the pinned maps: the instance is still there.
        Dataplane again(DataplaneOptions{.pin_root = root});
        EXPECT_TRUE(again.instance(inst_key(7, 42)));
        again.unpin();
    }
    EXPECT_FALSE(std::filesystem::exists(root)) << "unpin removes the maps and the folder";
}

}  // namespace
