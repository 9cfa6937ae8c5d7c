// A VRRP lab for end-to-end tests, benchmarks and the demo: routers r1..rN
// and a client c1 on one bridge (in its own namespace), each router running
// the real xvrrpd (or keepalived) with its own configuration. Everything is
// removed on every exit path.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lab.hpp"

namespace xvrrp::test {

class VrrpLab {
public:
    // segments: bridges br0..; every router has vr<k> on segment k (and 198.51.100.<i>/24 on vr1);
    // the client is on segment 0.
    explicit VrrpLab(int routers, int segments = 1);
    ~VrrpLab();
    VrrpLab(const VrrpLab&) = delete;
    VrrpLab& operator=(const VrrpLab&) = delete;

    [[nodiscard]] Netns& router(int i) { return *routers_.at(static_cast<std::size_t>(i - 1)); }
    [[nodiscard]] Netns& client() { return *client_; }
    [[nodiscard]] Netns& bridge() { return *bridge_; }
    // 192.0.2.<i>, the router's primary address.
    [[nodiscard]] static std::string router_ip(int i) { return "192.0.2." + std::to_string(i); }
    [[nodiscard]] const std::string& dir() const { return dir_; }
    // The pid of the process started for router i (xvrrpd, or keepalived's parent).
    [[nodiscard]] pid_t pid(int i) const { return pids_.at(static_cast<std::size_t>(i - 1)); }

    // A configuration for router i: one v3 instance "gateway" (VRID 51, VIPs 192.0.2.100/24 and
    // 2001:db8::100/64) with the given priority and interval; pins and socket inside the lab.
    [[nodiscard]] nlohmann::json config(int i, int priority, int interval_ms = 100) const;
    // Two segments: "gateway" (VRID 51, 192.0.2.100/24) on vr0 and "seg1" (VRID 52,
    // 198.51.100.100/24) on vr1, IPv4 only; router i has 198.51.100.<i>/24 on vr1.
    [[nodiscard]] nlohmann::json two_segment_config(int i, int priority, int interval_ms = 100) const;
    std::string write_config(int i, const nlohmann::json& cfg);

    void start(int i, const nlohmann::json& cfg);  // xvrrpd in router i's namespace
    [[nodiscard]] static std::string xvrrpd_path();
    // Router i's daemon (xvrrpd or keepalived): the process signal(), wait_exit() and log() mean.
    void start_process(int i, const std::vector<std::string>& argv, const std::string& log_name);
    // A process beside router i's daemon (a service a check probes): killed with the lab.
    void start_helper(int i, const std::vector<std::string>& argv, const std::string& log_name);
    // keepalived (-n, VRRP only) in router i's namespace with this configuration text. With a tag it
    // is a second daemon beside the router's own (its own files; killed with the lab).
    void start_keepalived(int i, const std::string& conf, const std::string& tag = "");
    // Runs a command in router i's namespace to its end; its exit status, or -1 after the timeout.
    int run_to_exit(int i, const std::vector<std::string>& argv, const std::string& log_name,
                    std::chrono::milliseconds timeout);
    [[nodiscard]] std::string read_log(const std::string& log_name) const;
    // SIGKILL to keepalived and its VRRP child, as a crash would.
    void kill_keepalived(int i);
    void signal(int i, int sig);
    // Waits for router i's daemon to exit; its exit status, or -1 after the timeout.
    int wait_exit(int i, std::chrono::milliseconds timeout);
    [[nodiscard]] std::string log(int i) const;
    [[nodiscard]] std::string socket(int i) const { return dir_ + "/r" + std::to_string(i) + ".sock"; }
    [[nodiscard]] std::string pin_root(int i) const { return bpffs_ + "/r" + std::to_string(i); }

    // xvrrpd's status (xvrrpctl status --json), or null when it does not answer.
    [[nodiscard]] nlohmann::json status(int i) const;
    // The state of instance name / family on router i ("MASTER", "BACKUP", ... or "" if unknown).
    [[nodiscard]] std::string state(int i, const std::string& family = "IPv4", const std::string& name = "gateway") const;

    // A client ping running in the background (ping -D: each reply with its time), and the
    // longest time between two consecutive replies once it is done.
    void start_ping(const std::string& target, int count, double interval_s);
    double finish_ping_longest_gap_ms();
    // After finish_ping_longest_gap_ms: ping's summary, echo requests sent and replies received
    // (-1, -1 when it printed none).
    [[nodiscard]] std::pair<int, int> ping_counts() const;

    // Router i's interface on segment k again, after a test deleted it (veth to the bridge, up, no address).
    void rejoin(int i, int segment);
    // The client on segment k too, as eth<k> (up, no address); it is on segment 0 (eth0) from the start.
    void join_client(int segment);
    // Router i's address moves from vr0 to a macvlan "mv0" over it (bridge mode, up). veth filters
    // no multicast; a macvlan does, by its multicast list, as a NIC's filter would.
    void use_macvlan(int i);

    static bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit);
    // Whether process pid has ended: gone, or a zombie for whoever reaps it.
    static bool process_gone(pid_t pid);

private:
    std::unique_ptr<Netns> bridge_, client_;
    std::vector<std::unique_ptr<Netns>> routers_;
    std::vector<XdpAttachment> port_xdp_;
    std::unique_ptr<PassProgram> pass_;
    std::string dir_, bpffs_;
    void join(Netns& ns, const std::string& ifname, const std::string& port, int segment);
    static std::string port_name(int router, int segment);
    pid_t spawn(int i, const std::vector<std::string>& argv, const std::string& log_name);
    std::vector<pid_t> pids_;
    std::vector<pid_t> extra_pids_;
    pid_t ping_pid_ = -1;
};

}  // namespace xvrrp::test
