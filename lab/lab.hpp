// Network-namespace labs: namespaces, veth pairs and XDP attachments that the
// test creates and that are removed on every exit path (destructors), even
// when an assertion fails. Names carry the pid so parallel runs never meet.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "xvrrp/dataplane.hpp"
#include "xvrrp/packet.hpp"
#include "xvrrp/unique_fd.hpp"

struct xvrrp_pass_bpf;

namespace xvrrp::test {

// Runs a shell command; throws with its output when it fails.
std::string sh(const std::string& cmd);
// Runs it and returns the exit status, output discarded.
int sh_status(const std::string& cmd);
// A per-process unique name: prefix + pid + counter, at most 15 characters.
std::string unique_name(const std::string& prefix);

// Destructors remove what a lab made, but a benchmark stopped by a signal runs none. Namespaces
// and the labs' own mounts are also recorded here; after install_signal_cleanup(), SIGINT, SIGTERM
// or SIGHUP kills the processes in them, removes them all and exits (128 + the signal).
void install_signal_cleanup();
void track_lab_mount(const std::string& mount_point, const std::string& dir);
void untrack_lab_mount(const std::string& mount_point);

class Netns {
public:
    explicit Netns(const std::string& prefix);
    ~Netns();
    Netns(const Netns&) = delete;
    Netns& operator=(const Netns&) = delete;

    [[nodiscard]] const std::string& name() const { return name_; }
    // "ip netns exec NAME " + cmd
    std::string exec(const std::string& cmd) const;
    int exec_status(const std::string& cmd) const;
    [[nodiscard]] unsigned ifindex(const std::string& ifname) const;

private:
    std::string name_;
};

// Enters a namespace for the calling thread until destroyed: sockets, netlink
// and XDP attachments made meanwhile belong to it.
class NetnsScope {
public:
    explicit NetnsScope(const Netns& ns);
    ~NetnsScope();
    NetnsScope(const NetnsScope&) = delete;
    NetnsScope& operator=(const NetnsScope&) = delete;

private:
    UniqueFd original_;
};

// A veth pair with one end in each namespace, both up.
void add_veth(const Netns& a, const std::string& a_if, const Netns& b, const std::string& b_if);

// The empty XDP program (bpf/xvrrp_pass.bpf.c): attached to the far end of a
// veth so frames sent with XDP_TX arrive there.
class PassProgram {
public:
    PassProgram();
    ~PassProgram();
    [[nodiscard]] int prog_fd() const;

private:
    struct Deleter {
        void operator()(xvrrp_pass_bpf* s) const noexcept;
    };
    std::unique_ptr<xvrrp_pass_bpf, Deleter> skel_;
};

// Sends a whole Ethernet frame out of ifname in ns with an AF_PACKET socket, count times.
void send_frame(const Netns& ns, const std::string& ifname, const Bytes& frame, int count = 1);

// Attaches prog_fd in native mode to ifname inside ns.
XdpAttachment attach_in(const Netns& ns, const std::string& ifname, int prog_fd, XdpMode mode = XdpMode::Native);

}  // namespace xvrrp::test
