// xvrrp-demo: the bundled default configuration (config/default.json) on two
// routers and a client in network namespaces: the election, the client's view
// of the VIP, and a failover measured with a 1 ms ping while the master's link
// is cut. Everything is removed at the end.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include "vrrp_lab.hpp"

using namespace xvrrp::test;
using namespace std::chrono_literals;

namespace {

void step(const std::string& what) { std::cout << "\n== " << what << "\n" << std::flush; }

nlohmann::json router_config(const VrrpLab& lab, int i, int priority) {
    std::ifstream in(XVRRP_DEFAULT_CONFIG);
    nlohmann::json c = nlohmann::json::parse(in);
    // The lab's own pins and sockets; everything else as bundled, but for each router's priority.
    c["global"]["pin_root"] = lab.pin_root(i);
    c["global"]["control_socket"] = lab.socket(i);
    for (auto& inst : c["instances"]) inst["priority"] = priority;
    return c;
}

void show_status(const VrrpLab& lab, int i) {
    std::cout << "r" << i << "$ xvrrpctl status\n" << std::flush;
    std::system((std::string(XVRRPCTL_PATH) + " -s " + lab.socket(i) + " status").c_str());
}

int demo() {
    step("lab: routers r1 (192.0.2.1) and r2 (192.0.2.2) and client c1 (192.0.2.10) on one bridge");
    VrrpLab lab(2);
    step("xvrrpd on both with " XVRRP_DEFAULT_CONFIG " (priority 150 on r1, 100 on r2)");
    lab.start(1, router_config(lab, 1, 150));
    lab.start(2, router_config(lab, 2, 100));
    const bool elected = VrrpLab::wait_until([&] { return lab.state(1) == "MASTER" && lab.state(2) == "BACKUP"; }, 10s);
    VrrpLab::wait_until([&] { return lab.state(1, "IPv4", "legacy-v2") == "MASTER"; }, 10s);
    show_status(lab, 1);
    show_status(lab, 2);
    if (!elected) throw std::runtime_error("no election within 10 s; logs in " + lab.dir());

    step("the client reaches the VIPs; XDP answered its ARP and NS with the virtual MACs");
    lab.client().exec_status("ping -c 1 -W 1 192.0.2.100");
    lab.client().exec_status("ping -6 -c 1 -W 1 2001:db8::100");
    std::cout << lab.client().exec("ping -c 2 -i 0.2 192.0.2.100 | tail -2") << lab.client().exec("ip neigh show 192.0.2.100")
              << lab.client().exec("ip -6 neigh show 2001:db8::100");

    step("failover: the client pings 192.0.2.100 every 1 ms; r1's link is cut after 1 s");
    lab.start_ping("192.0.2.100", 3000, 0.001);
    std::this_thread::sleep_for(1s);
    lab.bridge().exec("ip link set p1 down");
    const double gap = lab.finish_ping_longest_gap_ms();
    VrrpLab::wait_until([&] { return lab.state(2) == "MASTER"; }, 5s);
    show_status(lab, 2);
    std::printf("longest gap in the client's replies: %.1f ms (advert interval 100 ms: 3 x 100 ms + skew %.1f ms)\n", gap,
                156 * 100.0 / 256);

    step("r1's link returns: it preempts back (priority 150 > 100)");
    lab.bridge().exec("ip link set p1 up");
    VrrpLab::wait_until([&] { return lab.state(1) == "MASTER" && lab.state(2) == "BACKUP"; }, 5s);
    show_status(lab, 1);

    step("SIGTERM both daemons; remove the lab");
    lab.signal(1, SIGTERM);
    lab.signal(2, SIGTERM);
    lab.wait_exit(1, 5s);
    lab.wait_exit(2, 5s);
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
