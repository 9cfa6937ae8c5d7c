// xvrrp-demo: the dataplane in a two-namespace lab, step by step. A client
// asks for a VIP by ARP and neighbour discovery and gets the XDP program's
// answers (virtual MAC), a keepalived-style advert reaches the controller's
// ring buffer, and the counters and maps are shown as bpftool prints them.

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "lab.hpp"
#include "world.hpp"
#include "xvrrp/event_loop.hpp"
#include "xvrrp/event_ring.hpp"

using namespace xvrrp;
using namespace xvrrp::test;

namespace {

void step(const std::string& what) { std::cout << "\n== " << what << "\n"; }

const char* event_name(std::uint8_t t) {
    switch (t) {
        case XVRRP_EV_NEW_MASTER: return "NEW_MASTER";
        case XVRRP_EV_PRIO_ZERO: return "PRIO_ZERO";
        case XVRRP_EV_PREEMPT: return "PREEMPT";
        case XVRRP_EV_LOWER: return "LOWER";
        case XVRRP_EV_MASTER_DOWN: return "MASTER_DOWN";
        default: return "?";
    }
}

struct PrivateBpffs {
    std::string dir = "/tmp/" + unique_name("xvd-bpffs");
    PrivateBpffs() {
        std::filesystem::create_directories(dir);
        sh("mount -t bpf bpf " + dir);
    }
    ~PrivateBpffs() {
        sh_status("umount " + dir);
        std::filesystem::remove(dir);
    }
};

int demo() {
    step("lab: namespaces router and client, veth r0 <-> c0 (192.0.2.0/24, 2001:db8::/64)");
    Netns router("xvd-r"), client("xvd-c");
    add_veth(router, "r0", client, "c0");
    router.exec("ip addr add 192.0.2.1/24 dev r0");
    router.exec("ip addr add 2001:db8::1/64 dev r0 nodad");
    client.exec("ip addr add 192.0.2.10/24 dev c0");
    client.exec("ip addr add 2001:db8::a/64 dev c0 nodad");
    const unsigned r0 = router.ifindex("r0");

    PrivateBpffs fs;
    const std::string pins = fs.dir + "/xvrrp";
    step("load the XDP program, pin its maps under " + pins + ", attach natively to r0");
    Dataplane dp(DataplaneOptions{.pin_root = pins});
    const auto v4 = inst_key(r0, 51), v6 = inst_key(r0, 51, Family::V6);
    dp.set_instance(v4, make_inst(3, XVRRP_STATE_BACKUP, kRouterIp));
    dp.set_instance(v6, make_inst(3, XVRRP_STATE_MASTER, kRouterIp6));
    dp.set_vip(vip_key(r0, kVipOwned), make_vip(virtual_mac(51, Family::V4), true), v4);
    dp.set_vip(vip_key(r0, kVipUnowned), make_vip(virtual_mac(51, Family::V4), false), v4);
    dp.set_vip(vip_key(r0, kVip6Owned), make_vip(virtual_mac(51, Family::V6), true, true), v6);
    XdpAttachment xdp = attach_in(router, "r0", dp.prog_fd(), XdpMode::Native);
    PassProgram pass;
    XdpAttachment peer = attach_in(client, "c0", pass.prog_fd(), XdpMode::Native);
    std::cout << router.exec("ip -d link show r0 | grep -o 'prog/xdp id [0-9]*.*' || true");

    step("client resolves 192.0.2.100 (owned VIP): XDP answers with the virtual MAC");
    client.exec_status("ping -c 1 -W 1 192.0.2.100");
    std::cout << client.exec("ip neigh show 192.0.2.100 dev c0");
    step("client resolves 192.0.2.101 (configured, not owned, even left on r0): dropped, never announced");
    router.exec("ip addr add 192.0.2.101/32 dev r0");
    client.exec_status("ping -c 1 -W 1 192.0.2.101");
    std::cout << client.exec("ip neigh show 192.0.2.101 dev c0");
    step("client resolves 2001:db8::100 (owned IPv6 VIP): XDP answers NS with NA");
    client.exec_status("ping -6 -c 1 -W 1 2001:db8::100");
    std::cout << client.exec("ip -6 neigh show 2001:db8::100 dev c0");

    step("a VRRPv3 advert (VRID 51, priority 150) from the client reaches the ring buffer");
    std::vector<xvrrp_event> events;
    EventRing ring(dp.events_fd(), [&](const xvrrp_event& e) { events.push_back(e); });
    EventLoop loop;
    loop.add(ring.fd(), [&] { ring.consume(); });
    const Bytes frame = advert_frame(advert(51, 150), kClientIp);
    send_frame(client, "c0", frame, 5);
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (events.empty() && std::chrono::steady_clock::now() < end) loop.run_once(20);
    for (const auto& e : events)
        std::printf("event %s vrid %u priority %u interval %u cs from %u.%u.%u.%u\n", event_name(e.type), e.inst.vrid,
                    e.priority, e.adver_int_cs, e.addr[0], e.addr[1], e.addr[2], e.addr[3]);
    std::cout << "(5 adverts sent, " << events.size() << " event: only changes are reported)\n";

    step("counters (summed over CPUs)");
    const auto stats = dp.stats();
    for (std::uint32_t i = 0; i < XVRRP_STAT_MAX; ++i)
        if (stats[i].packets) std::printf("  %-24s %8llu\n", std::string(stat_name(static_cast<xvrrp_stat>(i))).c_str(),
                                          static_cast<unsigned long long>(stats[i].packets));

    step("bpftool map dump pinned " + pins + "/xvrrp_inst");
    std::cout << sh("bpftool map dump pinned " + pins + "/xvrrp_inst");
    step("bpftool map dump pinned " + pins + "/xvrrp_peer (first entry)");
    std::cout << sh("bpftool map lookup pinned " + pins + "/xvrrp_peer key 0 0 0 0");

    step("clean up: detach, unpin, delete namespaces");
    peer = {};
    xdp = {};
    dp.unpin();
    return 0;
}

}  // namespace

int main() {
    if (::geteuid() != 0) {
        std::cerr << "xvrrp-demo: run as root (it creates network namespaces and loads XDP)\n";
        return 2;
    }
    try {
        return demo();
    } catch (const std::exception& e) {
        std::cerr << "xvrrp-demo: " << e.what() << "\n";
        return 1;
    }
}
