#include "lab.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <sys/socket.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <stdexcept>

#include "xvrrp/error.hpp"
#include "xvrrp_pass.skel.h"

namespace xvrrp::test {

std::string sh(const std::string& cmd) {
    std::string out;
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    if (!p) throw std::runtime_error("popen failed: " + cmd);
    std::array<char, 4096> buf{};
    while (std::fgets(buf.data(), buf.size(), p)) out += buf.data();
    const int status = ::pclose(p);
    if (status != 0) throw std::runtime_error("command failed (" + std::to_string(status) + "): " + cmd + "\n" + out);
    return out;
}

int sh_status(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

std::string unique_name(const std::string& prefix) {
    static std::atomic<int> counter{0};
    std::string n = prefix + std::to_string(::getpid() % 100000) + "-" + std::to_string(counter++);
    return n.substr(0, 15);
}

namespace {
struct MadeByLabs {
    std::mutex mutex;
    std::set<std::string> namespaces;
    std::map<std::string, std::string> mounts;  // mount point -> folder to remove
};
MadeByLabs& made_by_labs() {
    static MadeByLabs made;
    return made;
}
int signal_pipe[2] = {-1, -1};

void on_fatal_signal(int sig) {
    const unsigned char byte = static_cast<unsigned char>(sig);
    [[maybe_unused]] const auto n = ::write(signal_pipe[1], &byte, 1);
}

void remove_everything_and_exit(int sig) {
    auto& made = made_by_labs();
    const std::lock_guard lock(made.mutex);
    for (const auto& ns : made.namespaces) {
        sh_status("ip netns pids " + ns + " | xargs -r kill -KILL");
        sh_status("ip netns del " + ns);
    }
    for (const auto& [mount_point, dir] : made.mounts) {
        sh_status("umount " + mount_point);
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    std::fprintf(stderr, "stopped by signal %d: %zu namespaces and %zu mounts removed\n", sig, made.namespaces.size(),
                 made.mounts.size());
    ::_exit(128 + sig);
}
}  // namespace

void install_signal_cleanup() {
    if (signal_pipe[0] >= 0) return;
    if (::pipe2(signal_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe for signal cleanup failed");
    std::thread([] {
        unsigned char sig = 0;
        while (::read(signal_pipe[0], &sig, 1) != 1) {}
        remove_everything_and_exit(sig);
    }).detach();
    struct sigaction sa {};
    sa.sa_handler = on_fatal_signal;
    sa.sa_flags = SA_RESTART;
    ::sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
}

void track_lab_mount(const std::string& mount_point, const std::string& dir) {
    auto& made = made_by_labs();
    const std::lock_guard lock(made.mutex);
    made.mounts[mount_point] = dir;
}

void untrack_lab_mount(const std::string& mount_point) {
    auto& made = made_by_labs();
    const std::lock_guard lock(made.mutex);
    made.mounts.erase(mount_point);
}

Netns::Netns(const std::string& prefix) : name_(unique_name(prefix)) {
    {
        auto& made = made_by_labs();
        const std::lock_guard lock(made.mutex);
        made.namespaces.insert(name_);
    }
    sh("ip netns add " + name_);
    sh("ip -n " + name_ + " link set lo up");
}

Netns::~Netns() {
    // Every process left in it first: a daemon an upgrade started is no child of the lab's, and a
    // namespace outlives its name while anything runs inside.
    sh_status("ip netns pids " + name_ + " | xargs -r kill -9");
    sh_status("ip netns del " + name_);
    auto& made = made_by_labs();
    const std::lock_guard lock(made.mutex);
    made.namespaces.erase(name_);
}

std::string Netns::exec(const std::string& cmd) const { return sh("ip netns exec " + name_ + " " + cmd); }

int Netns::exec_status(const std::string& cmd) const { return sh_status("ip netns exec " + name_ + " " + cmd); }

unsigned Netns::ifindex(const std::string& ifname) const {
    NetnsScope in(*this);
    const unsigned idx = ::if_nametoindex(ifname.c_str());
    if (!idx) throw std::runtime_error("no interface " + ifname + " in " + name_);
    return idx;
}

NetnsScope::NetnsScope(const Netns& ns)
    : original_(check_sys(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), "open own netns")) {
    UniqueFd target(check_sys(::open(("/var/run/netns/" + ns.name()).c_str(), O_RDONLY | O_CLOEXEC), "open netns " + ns.name()));
    check_sys(::setns(target.get(), CLONE_NEWNET), "setns " + ns.name());
}

NetnsScope::~NetnsScope() { ::setns(original_.get(), CLONE_NEWNET); }

void add_veth(const Netns& a, const std::string& a_if, const Netns& b, const std::string& b_if) {
    sh("ip link add " + a_if + " netns " + a.name() + " type veth peer name " + b_if + " netns " + b.name());
    sh("ip -n " + a.name() + " link set " + a_if + " up");
    sh("ip -n " + b.name() + " link set " + b_if + " up");
}

void PassProgram::Deleter::operator()(xvrrp_pass_bpf* s) const noexcept { xvrrp_pass_bpf__destroy(s); }

PassProgram::PassProgram() : skel_(xvrrp_pass_bpf__open_and_load()) {
    if (!skel_) throw_errno(errno, "load xvrrp_pass");
}

PassProgram::~PassProgram() = default;

int PassProgram::prog_fd() const { return bpf_program__fd(skel_->progs.xvrrp_pass); }

void send_frame(const Netns& ns, const std::string& ifname, const Bytes& frame, int count) {
    const unsigned idx = ns.ifindex(ifname);
    NetnsScope in(ns);
    UniqueFd s(check_sys(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)), "AF_PACKET socket"));
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = static_cast<int>(idx);
    for (int i = 0; i < count; ++i)
        check_sys(static_cast<int>(::sendto(s.get(), frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to),
                                            sizeof(to))),
                  "send frame on " + ifname);
}

XdpAttachment attach_in(const Netns& ns, const std::string& ifname, int prog_fd, XdpMode mode) {
    const unsigned idx = ns.ifindex(ifname);
    NetnsScope in(ns);
    return XdpAttachment::attach(prog_fd, idx, mode);
}

}  // namespace xvrrp::test
