// The dataplane on a real veth between two namespaces: native XDP attach,
// the client kernel's own ARP and neighbour discovery answered by XDP with the
// virtual MAC, an unowned VIP left on the interface never announced, a real
// advert frame reaching the ring buffer, detach on scope exit, and the pinned
// maps as bpftool shows them.
#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "lab.hpp"
#include "privileged.hpp"
#include "world.hpp"
#include "xvrrp/event_loop.hpp"
#include "xvrrp/event_ring.hpp"
#include "xvrrp/link_multicast.hpp"
#include "xvrrp/netlink.hpp"

using namespace xvrrp;
using namespace xvrrp::test;
using nlohmann::json;

namespace {

// A 32-bit array key as bpftool takes it: four bytes, little-endian.
std::string le32_bytes(std::uint32_t v) {
    return std::to_string(v & 0xff) + " " + std::to_string((v >> 8) & 0xff) + " " + std::to_string((v >> 16) & 0xff) +
           " " + std::to_string(v >> 24);
}

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
        // The directory names the configuration in use; the configuration says whose it is.
        const auto slot = dp.instance(inst_key(7, 42))->slot;
        const auto dir = json::parse(sh("bpftool -j map dump pinned " + root + "/" XVRRP_MAP_INSTANCES));
        std::optional<unsigned> config;
        for (const auto& e : dir)
            if (e["formatted"]["value"]["state"] == XVRRP_BUCKET_USED) {
                EXPECT_EQ(e["formatted"]["value"]["key"]["vrid"], 42) << e.dump();
                config = e["formatted"]["value"]["config"].get<unsigned>();
            }
        ASSERT_TRUE(config) << "no bucket in use";
        EXPECT_EQ(*config / 2, slot);
        const auto cfg = sh("bpftool map lookup pinned " + root + "/" XVRRP_MAP_INSTANCE_CONFIGS + " key " +
                            le32_bytes(*config));
        for (const char* field : {"\"vrid\": 42", "\"priority\": 100", "\"adver_int_cs\": 100", "\"state\": 1"})
            EXPECT_NE(cfg.find(field), std::string::npos) << field << " in\n" << cfg;
        const auto stats = sh("bpftool map dump pinned " + root + "/" XVRRP_MAP_STATS);
        EXPECT_NE(stats.find("\"packets\""), std::string::npos) << stats;

        // A second Dataplane re-uses the pinned maps: the instance is still there.
        Dataplane again(DataplaneOptions{.pin_root = root});
        EXPECT_TRUE(again.instance(inst_key(7, 42)));
        EXPECT_NE(again.set_instance(inst_key(7, 43), make_inst(3, XVRRP_STATE_BACKUP, kRouterIp)), slot)
            << "the slot in use is not handed out again";
        again.unpin();
    }
    EXPECT_FALSE(std::filesystem::exists(root)) << "unpin removes the maps and the folder";
}

// An upgrade finds maps pinned by a version whose layout differs: the load must not fail on
// them ("couldn't reuse pinned map"); they are replaced, the compatible ones re-used.
TEST(PinnedMaps, AMapOfAnotherLayoutIsReplacedNotFatal) {
    XVRRP_REQUIRE_ROOT();
    PrivateBpffs fs;
    const std::string root = fs.dir() + "/xvrrp";
    {
        Dataplane first(DataplaneOptions{.pin_root = root});
        first.set_instance(inst_key(7, 42), make_inst(3, XVRRP_STATE_BACKUP, kRouterIp));
    }
    // The VIP table as an older version pinned it: a hash map, another value.
    ASSERT_EQ(::unlink((root + "/" XVRRP_MAP_VIPS).c_str()), 0);
    const UniqueFd old(bpf_map_create(BPF_MAP_TYPE_HASH, XVRRP_MAP_VIPS, 24, 12, 64, nullptr));
    ASSERT_GE(old.get(), 0);
    ASSERT_EQ(bpf_obj_pin(old.get(), (root + "/" XVRRP_MAP_VIPS).c_str()), 0);

    Dataplane upgraded(DataplaneOptions{.pin_root = root});
    EXPECT_TRUE(upgraded.instance(inst_key(7, 42))) << "the compatible maps were re-used";
    upgraded.set_vip(vip_key(7, kVipOwned), make_vip(kRouterMac, true), inst_key(7, 42));
    EXPECT_TRUE(upgraded.vip(vip_key(7, kVipOwned)));
    const UniqueFd pinned(bpf_obj_get((root + "/" XVRRP_MAP_VIPS).c_str()));
    bpf_map_info info{};
    __u32 len = sizeof(info);
    ASSERT_EQ(bpf_obj_get_info_by_fd(pinned.get(), &info, &len), 0);
    EXPECT_EQ(info.type, static_cast<__u32>(BPF_MAP_TYPE_ARRAY)) << "the new table is pinned in its place";
    EXPECT_EQ(info.value_size, sizeof(xvrrp_vip_bucket));
    upgraded.unpin();
}

// Started by an upgrade, while the running daemon uses the maps: another layout is refused (the
// new process exits, the old one carries on) and the pinned map is left as it is.
TEST(PinnedMaps, AnUpgradeRefusesAMapOfAnotherLayout) {
    XVRRP_REQUIRE_ROOT();
    PrivateBpffs fs;
    const std::string root = fs.dir() + "/xvrrp";
    { Dataplane first(DataplaneOptions{.pin_root = root}); }
    ASSERT_EQ(::unlink((root + "/" XVRRP_MAP_VIPS).c_str()), 0);
    const UniqueFd old(bpf_map_create(BPF_MAP_TYPE_HASH, XVRRP_MAP_VIPS, 24, 12, 64, nullptr));
    ASSERT_GE(old.get(), 0);
    ASSERT_EQ(bpf_obj_pin(old.get(), (root + "/" XVRRP_MAP_VIPS).c_str()), 0);
    try {
        Dataplane upgrading(DataplaneOptions{.pin_root = root, .refuse_other_layouts = true});
        ADD_FAILURE() << "a map of another layout was accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("has another layout than this version's"), std::string::npos) << e.what();
    }
    const UniqueFd pinned(bpf_obj_get((root + "/" XVRRP_MAP_VIPS).c_str()));
    bpf_map_info info{};
    __u32 len = sizeof(info);
    ASSERT_EQ(bpf_obj_get_info_by_fd(pinned.get(), &info, &len), 0);
    EXPECT_EQ(info.type, static_cast<__u32>(BPF_MAP_TYPE_HASH)) << "left in place for the running daemon";
    Dataplane(DataplaneOptions{.pin_root = root}).unpin();
}

// Keys placed by another version's hash (XVRRP_TABLE_FORMAT) sit where this version never looks:
// an upgrade (the running daemon reads them) is refused and leaves them; a start empties them,
// every slot free again, and stamps its own format.
TEST(PinnedMaps, TablesPlacedByAnotherHashAreRefusedByAnUpgradeAndEmptiedByAStart) {
    XVRRP_REQUIRE_ROOT();
    PrivateBpffs fs;
    const std::string root = fs.dir() + "/xvrrp";
    {
        Dataplane first(DataplaneOptions{.pin_root = root});
        EXPECT_EQ(first.control().table_format, static_cast<__u32>(XVRRP_TABLE_FORMAT)) << "stamped at open";
        first.set_instance(inst_key(7, 42), make_inst(3, XVRRP_STATE_MASTER, kRouterIp));
        first.set_vip(vip_key(7, kVipOwned), make_vip(kRouterMac, true), inst_key(7, 42));
        first.set_heartbeat(monotonic_ns(), 3'000'000'000ULL);
        EXPECT_EQ(first.control().table_format, static_cast<__u32>(XVRRP_TABLE_FORMAT)) << "kept by the heartbeat";
    }
    const UniqueFd ctl_fd(bpf_obj_get((root + "/" XVRRP_MAP_CONTROL).c_str()));
    ASSERT_GE(ctl_fd.get(), 0);
    const __u32 zero = 0;
    xvrrp_ctl ctl{};
    ASSERT_EQ(bpf_map_lookup_elem(ctl_fd.get(), &zero, &ctl), 0);
    ctl.table_format = XVRRP_TABLE_FORMAT - 1;  // what an older version left
    ASSERT_EQ(bpf_map_update_elem(ctl_fd.get(), &zero, &ctl, BPF_ANY), 0);

    try {
        Dataplane upgrading(DataplaneOptions{.pin_root = root, .refuse_other_layouts = true});
        ADD_FAILURE() << "tables of another hash were accepted by an upgrade";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("placed by another version's hash"), std::string::npos) << e.what();
    }
    xvrrp_ctl after{};
    ASSERT_EQ(bpf_map_lookup_elem(ctl_fd.get(), &zero, &after), 0);
    EXPECT_EQ(after.table_format, static_cast<__u32>(XVRRP_TABLE_FORMAT - 1)) << "left as it was for the running daemon";

    Dataplane started(DataplaneOptions{.pin_root = root});
    EXPECT_TRUE(started.instance_keys().empty()) << "the directory was emptied";
    EXPECT_FALSE(started.vip(vip_key(7, kVipOwned))) << "the VIP table was emptied";
    EXPECT_EQ(started.control().table_format, static_cast<__u32>(XVRRP_TABLE_FORMAT));
    EXPECT_EQ(started.control().heartbeat_ns, ctl.heartbeat_ns) << "only the format is rewritten";
    // Every slot is free again: as many instances as there are slots fit.
    for (unsigned vrid = 1; vrid <= 255 && vrid <= XVRRP_MAX_INSTANCES; ++vrid)
        started.set_instance(inst_key(8, static_cast<std::uint8_t>(vrid)), make_inst(3, XVRRP_STATE_BACKUP, kRouterIp));
    EXPECT_EQ(started.instance(inst_key(8, 1))->slot, 0u) << "the lowest slot first, as in an empty directory";
    started.unpin();
}

}  // namespace

// A pass over many instances reads each link once (Rtnl::remember_links): within it, a link
// answers as first read; after it, every call reads the kernel again. A link that is not there
// is down and has no MAC, in a pass or not.
// A veth a0 (in namespace a) and the test thread inside a, with a netlink connection there.
class RtnlLinks : public ::testing::Test {
protected:
    void SetUp() override {
        XVRRP_REQUIRE_ROOT();
        a_.emplace("xvt-a");
        b_.emplace("xvt-b");
        add_veth(*a_, "a0", *b_, "b0");
        inside_.emplace(*a_);
        rtnl.emplace();
        a0 = *rtnl->ifindex("a0");
    }
    void TearDown() override {
        rtnl.reset();
        inside_.reset();
        b_.reset();
        a_.reset();
    }
    std::string exec(const std::string& cmd) const { return a_->exec(cmd); }

    std::optional<Netns> a_, b_;
    std::optional<NetnsScope> inside_;
    std::optional<Rtnl> rtnl;
    unsigned a0 = 0;
};

// What XDP must see on a link: the VRRP groups' MACs from the start, each IPv6 VIP's
// solicited-node MAC while a VIP needs it (two VIPs may share one), nothing of it once the object
// goes, and a moved-from object removes nothing.
TEST_F(RtnlLinks, TheMulticastListHoldsTheGroupsAndTheVipsSolicitedNodes) {
    auto list = [&] { return exec("ip maddr show dev a0"); };
    const std::string v4_group = "01:00:5e:00:00:12", v6_group = "33:33:00:00:00:12";
    const std::string a_node = "33:33:ff:00:01:00", b_node = "33:33:ff:00:02:00";
    {
        LinkMulticastMacs macs("a0");
        EXPECT_NE(list().find(v4_group), std::string::npos) << list();
        EXPECT_NE(list().find(v6_group), std::string::npos) << list();
        const auto a = IpAddress::from("2001:db8::100"), b = IpAddress::from("2001:db8::200");
        const auto a_twin = IpAddress::from("2001:db8:1::100");  // the same low 24 bits as a
        macs.set_needs({a, b, a_twin, IpAddress::from("192.0.2.100")}, {});
        EXPECT_EQ(macs.macs().size(), 4u) << "two groups, two solicited-node MACs; IPv4 needs none";
        EXPECT_NE(list().find(a_node), std::string::npos) << list();
        EXPECT_NE(list().find(b_node), std::string::npos) << list();
        macs.set_needs({a_twin}, {IpAddress::from("224.0.0.19")});
        EXPECT_NE(list().find("01:00:5e:00:00:13"), std::string::npos) << "another advert group: " << list();
        EXPECT_NE(list().find(a_node), std::string::npos) << "still needed by a's twin: " << list();
        EXPECT_EQ(list().find(b_node), std::string::npos) << list();
        LinkMulticastMacs moved(std::move(macs));
        EXPECT_NE(list().find(v4_group), std::string::npos) << "the move took nothing away";
    }
    EXPECT_EQ(list().find(v4_group), std::string::npos) << list();
    EXPECT_EQ(list().find(v6_group), std::string::npos) << list();
    EXPECT_EQ(list().find(a_node), std::string::npos) << list();
    LinkMulticastMacs gone("a0");
    exec("ip link del a0");
    // Destroyed with its link gone: nothing to remove, nothing thrown.
}

// A link without a multicast list (loopback) refuses every entry: the daemon runs on, and a pass
// that asks again every second (instances waiting for an interface) logs the refusal once.
TEST_F(RtnlLinks, ALinkWithoutAMulticastListIsLoggedOnceAndLeftAlone) {
    std::ostringstream logged;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(logged);
    const auto previous = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("t", sink));
    {
        LinkMulticastMacs macs("lo");
        for (int pass = 0; pass < 3; ++pass) macs.set_needs({IpAddress::from("2001:db8::100")}, {});
        EXPECT_TRUE(macs.macs().empty());
    }
    spdlog::set_default_logger(previous);
    const std::string text = logged.str();
    EXPECT_NE(text.find("lo: could not put 01:00:5e:00:00:12 on its multicast list"), std::string::npos) << text;
    std::size_t lines = 0;
    for (std::size_t at = 0; (at = text.find("could not put", at)) != std::string::npos; ++at) ++lines;
    EXPECT_EQ(lines, 3u) << "each MAC once (two groups, one solicited-node), however many passes: " << text;
}

// Asking whether a link takes a foreign MAC leaves its filter as it was: an entry there stays, one
// that was not is not left behind; a macvlan's filter says no.
TEST_F(RtnlLinks, AskingTheUnicastFilterChangesNothing) {
    const Mac vmac{0x00, 0x00, 0x5e, 0x00, 0x01, 0x09};
    auto filter = [&] { return exec("bridge fdb show dev a0 self"); };
    EXPECT_TRUE(rtnl->unicast_filter_takes(a0, vmac));
    EXPECT_EQ(filter().find("00:00:5e:00:01:09"), std::string::npos) << "not left behind: " << filter();
    rtnl->add_unicast_mac(a0, vmac);
    EXPECT_TRUE(rtnl->unicast_filter_takes(a0, vmac));
    EXPECT_NE(filter().find("00:00:5e:00:01:09"), std::string::npos) << "one there stays: " << filter();
    exec("ip link add link a0 name mv0 type macvlan mode bridge");
    EXPECT_FALSE(rtnl->unicast_filter_takes(*rtnl->ifindex("mv0"), vmac));
}

TEST_F(RtnlLinks, APassReadsEachLinkOnceAndLaterCallsReadAgain) {
    const Mac before = rtnl->mac(a0);

    rtnl->remember_links(true);
    EXPECT_TRUE(rtnl->link_up(a0));
    exec("ip link set a0 down && ip link set a0 address 02:00:5e:10:00:aa");
    EXPECT_TRUE(rtnl->link_up(a0)) << "the pass answers from its reading";
    EXPECT_EQ(rtnl->mac(a0), before);
    EXPECT_FALSE(rtnl->link_up(a0 + 1000));
    EXPECT_THROW((void)rtnl->mac(a0 + 1000), std::runtime_error);
    rtnl->remember_links(false);

    EXPECT_FALSE(rtnl->link_up(a0)) << "read again once the pass is over";
    EXPECT_EQ(to_string(rtnl->mac(a0)), "02:00:5e:10:00:aa");
    EXPECT_FALSE(rtnl->link_up(a0 + 1000));
    EXPECT_THROW((void)rtnl->mac(a0 + 1000), std::runtime_error);
}

// The unicast filter in a pass: a MAC already there is left as it is, one added or removed by
// the pass itself is remembered so (a removed one added again is really added again).
TEST_F(RtnlLinks, APassKeepsTheUnicastFilterItChanges) {
    const Mac there{0x00, 0x00, 0x5e, 0x00, 0x01, 0x07}, added{0x00, 0x00, 0x5e, 0x00, 0x02, 0x07};
    auto filter = [&] { return exec("bridge fdb show dev a0 self"); };
    rtnl->add_unicast_mac(a0, there);

    rtnl->remember_links(true);
    rtnl->add_unicast_mac(a0, there);
    rtnl->add_unicast_mac(a0, added);
    EXPECT_NE(filter().find("00:00:5e:00:01:07"), std::string::npos) << filter();
    EXPECT_NE(filter().find("00:00:5e:00:02:07"), std::string::npos) << filter();
    rtnl->remove_unicast_mac(a0, there);
    EXPECT_EQ(filter().find("00:00:5e:00:01:07"), std::string::npos) << filter();
    rtnl->add_unicast_mac(a0, there);
    EXPECT_NE(filter().find("00:00:5e:00:01:07"), std::string::npos) << "added again: " << filter();
    rtnl->remember_links(false);

    rtnl->remove_unicast_mac(a0, added);
    EXPECT_EQ(filter().find("00:00:5e:00:02:07"), std::string::npos) << filter();
}

