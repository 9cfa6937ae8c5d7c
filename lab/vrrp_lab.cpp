#include "vrrp_lab.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace xvrrp::test {

namespace {
std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}
}  // namespace

VrrpLab::VrrpLab(int routers, int segments) : dir_("/tmp/" + unique_name("xvt-lab")), bpffs_(dir_ + "/bpffs") {
    std::filesystem::create_directories(bpffs_);
    // Pins live in a bpffs of the lab's own, mounted where every namespace sees it, so a
    // killed daemon's pinned XDP link stays attached (as on a real host) and nothing
    // reaches the host's /sys/fs/bpf.
    track_lab_mount(bpffs_, dir_);
    sh("mount -t bpf bpf " + bpffs_);
    bridge_ = std::make_unique<Netns>("xvt-sw");
    client_ = std::make_unique<Netns>("xvt-c");
    for (int k = 0; k < segments; ++k) {
        bridge_->exec("ip link add br" + std::to_string(k) + " type bridge");
        bridge_->exec("ip link set br" + std::to_string(k) + " up");
    }
    pass_ = std::make_unique<PassProgram>();
    // No duplicate address detection: link-local addresses are usable at once.
    const std::string no_dad = "sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0";
    for (int i = 1; i <= routers; ++i) {
        routers_.push_back(std::make_unique<Netns>("xvt-r" + std::to_string(i)));
        Netns& r = *routers_.back();
        r.exec(no_dad);
        for (int k = 0; k < segments; ++k)
            join(r, "vr" + std::to_string(k), port_name(i, k), k);
        r.exec("ip addr add " + router_ip(i) + "/24 dev vr0");
        if (segments > 1) r.exec("ip addr add 198.51.100." + std::to_string(i) + "/24 dev vr1");
    }
    client_->exec(no_dad);
    join(*client_, "eth0", "pc", 0);
    client_->exec("ip addr add 192.0.2.10/24 dev eth0");
    client_->exec("ip addr add 2001:db8::a/64 dev eth0 nodad");
    pids_.assign(static_cast<std::size_t>(routers), -1);
}

std::string VrrpLab::port_name(int router, int segment) {
    return "p" + std::to_string(router) + (segment ? "s" + std::to_string(segment) : "");
}

void VrrpLab::join(Netns& ns, const std::string& ifname, const std::string& port, int segment) {
    add_veth(ns, ifname, *bridge_, port);
    bridge_->exec("ip link set " + port + " master br" + std::to_string(segment));
    // Replies sent with XDP_TX reach the bridge only through a port with an XDP program.
    port_xdp_.push_back(attach_in(*bridge_, port, pass_->prog_fd()));
}

void VrrpLab::rejoin(int i, int segment) { join(router(i), "vr" + std::to_string(segment), port_name(i, segment), segment); }

void VrrpLab::join_client(int segment) {
    join(*client_, "eth" + std::to_string(segment), "pcs" + std::to_string(segment), segment);
}

void VrrpLab::use_macvlan(int i) {
    Netns& r = router(i);
    r.exec("ip link add link vr0 name mv0 type macvlan mode bridge");
    r.exec("ip link set mv0 up");
    r.exec("ip addr del " + router_ip(i) + "/24 dev vr0");
    r.exec("ip addr add " + router_ip(i) + "/24 dev mv0");
}

VrrpLab::~VrrpLab() {
    if (ping_pid_ > 0) {
        ::kill(ping_pid_, SIGKILL);
        ::waitpid(ping_pid_, nullptr, 0);
    }
    for (pid_t pid : extra_pids_) pids_.push_back(pid);
    for (pid_t& pid : pids_) {
        if (pid <= 0) continue;
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    }
    // keepalived's VRRP child outlives its parent's SIGKILL: every process started with one of
    // this lab's keepalived files goes (the lab's folder name is unique).
    sh_status("pkill -KILL -f '" + dir_ + "/ka-'");
    port_xdp_.clear();
    routers_.clear();
    client_.reset();
    bridge_.reset();
    sh_status("umount " + bpffs_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    untrack_lab_mount(bpffs_);
}

nlohmann::json VrrpLab::config(int i, int priority, int interval_ms) const {
    return {{"global", {{"pin_root", pin_root(i)}, {"control_socket", socket(i)}, {"heartbeat_timeout_ms", 500}}},
            {"interfaces", {{"vr0", {{"xdp_mode", "native"}}}}},
            {"instances",
             {{{"name", "gateway"},
               {"interface", "vr0"},
               {"vrid", 51},
               {"priority", priority},
               {"advert_interval_ms", interval_ms},
               {"vips", {"192.0.2.100/24", "2001:db8::100/64"}}}}}};
}

nlohmann::json VrrpLab::two_segment_config(int i, int priority, int interval_ms) const {
    nlohmann::json c = config(i, priority, interval_ms);
    c["instances"][0]["vips"] = {"192.0.2.100/24"};
    c["instances"].push_back({{"name", "seg1"},
                              {"interface", "vr1"},
                              {"vrid", 52},
                              {"priority", priority},
                              {"advert_interval_ms", interval_ms},
                              {"vips", {"198.51.100.100/24"}}});
    return c;
}

std::string VrrpLab::write_config(int i, const nlohmann::json& cfg) {
    const std::string path = dir_ + "/r" + std::to_string(i) + ".json";
    std::ofstream(path) << cfg.dump(2);
    return path;
}

std::string VrrpLab::xvrrpd_path() { return XVRRPD_PATH; }

void VrrpLab::start(int i, const nlohmann::json& cfg) {
    start_process(i, {XVRRPD_PATH, "-c", write_config(i, cfg), "--log-level", "debug"}, "r" + std::to_string(i) + ".log");
}

void VrrpLab::start_process(int i, const std::vector<std::string>& argv, const std::string& log_name) {
    // A daemon still running in this slot would outlive the lab untracked (and keep its namespace).
    const pid_t old = pids_.at(static_cast<std::size_t>(i - 1));
    if (old > 0 && ::waitpid(old, nullptr, WNOHANG) == 0)
        throw std::logic_error("router " + std::to_string(i) + " still runs pid " + std::to_string(old) +
                               ": stop it first, or use start_helper for a process beside it");
    pids_.at(static_cast<std::size_t>(i - 1)) = spawn(i, argv, log_name);
}

pid_t VrrpLab::spawn(int i, const std::vector<std::string>& argv, const std::string& log_name) {
    const std::string ns = router(i).name();
    const std::string log_path = dir_ + "/" + log_name;
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        std::vector<std::string> full{"ip", "netns", "exec", ns};
        full.insert(full.end(), argv.begin(), argv.end());
        std::vector<char*> args;
        for (auto& a : full) args.push_back(a.data());
        args.push_back(nullptr);
        ::execvp("ip", args.data());
        ::_exit(127);
    }
    return pid;
}

void VrrpLab::start_keepalived(int i, const std::string& conf, const std::string& tag) {
    const std::string base = dir_ + "/ka-r" + std::to_string(i) + (tag.empty() ? "" : "-" + tag);
    std::ofstream(base + ".conf") << conf;
    const std::vector<std::string> argv{"keepalived", "-n", "-l", "-D", "--vrrp", "-f", base + ".conf",
                                        "-p", base + ".pid", "-r", base + "-vrrp.pid"};
    if (tag.empty()) return start_process(i, argv, "r" + std::to_string(i) + ".log");
    start_helper(i, argv, "r" + std::to_string(i) + "-" + tag + ".log");
}

void VrrpLab::start_helper(int i, const std::vector<std::string>& argv, const std::string& log_name) {
    extra_pids_.push_back(spawn(i, argv, log_name));
}

void VrrpLab::kill_keepalived(int i) {
    const std::string base = dir_ + "/ka-r" + std::to_string(i);
    pid_t child = 0;
    std::ifstream(base + "-vrrp.pid") >> child;
    if (child > 0) ::kill(child, SIGKILL);
    signal(i, SIGKILL);
    wait_exit(i, std::chrono::seconds(3));
    wait_until([&] { return child <= 0 || ::kill(child, 0) != 0; }, std::chrono::seconds(3));
    std::filesystem::remove(base + ".pid");
    std::filesystem::remove(base + "-vrrp.pid");
}

int VrrpLab::run_to_exit(int i, const std::vector<std::string>& argv, const std::string& log_name,
                         std::chrono::milliseconds timeout) {
    const pid_t pid = spawn(i, argv, log_name);
    int status = 0;
    if (!wait_until([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, timeout)) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string VrrpLab::read_log(const std::string& log_name) const { return read_file(dir_ + "/" + log_name); }

void VrrpLab::signal(int i, int sig) { ::kill(pids_.at(static_cast<std::size_t>(i - 1)), sig); }

int VrrpLab::wait_exit(int i, std::chrono::milliseconds timeout) {
    pid_t& pid = pids_.at(static_cast<std::size_t>(i - 1));
    int status = 0;
    const bool done = wait_until([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, timeout);
    if (!done) return -1;
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string VrrpLab::log(int i) const { return read_log("r" + std::to_string(i) + ".log"); }

nlohmann::json VrrpLab::status(int i) const {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    const std::string path = socket(i);
    std::strncpy(sa.sun_path, path.c_str(), sizeof(sa.sun_path) - 1);
    std::string text;
    const std::string ask = "{\"command\": \"status\"}\n";
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0 &&
        ::send(fd, ask.data(), ask.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(ask.size())) {
        char buf[65536];
        for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) text.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    const auto reply = nlohmann::json::parse(text, nullptr, false);
    return reply.is_object() && reply.value("ok", false) ? reply["result"] : nlohmann::json();
}

std::string VrrpLab::state(int i, const std::string& family, const std::string& name) const {
    const auto s = status(i);
    if (!s.is_object()) return "";
    for (const auto& inst : s["instances"])
        if (inst["name"] == name && inst["family"] == family) return inst["state"];
    return "";
}

void VrrpLab::start_ping(const std::string& target, int count, double interval_s) {
    const std::string out = dir_ + "/ping.txt";
    const std::string interval = std::to_string(interval_s);
    ping_pid_ = ::fork();
    if (ping_pid_ == 0) {
        const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(fd, 1);
        ::execlp("ip", "ip", "netns", "exec", client_->name().c_str(), "ping", "-D", "-n", "-i", interval.c_str(), "-c",
                 std::to_string(count).c_str(), "-W", "1", target.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
}

double VrrpLab::finish_ping_longest_gap_ms() {
    if (ping_pid_ > 0) ::waitpid(ping_pid_, nullptr, 0);
    ping_pid_ = -1;
    std::istringstream lines(read_file(dir_ + "/ping.txt"));
    std::string line;
    double last = -1, longest = 0;
    while (std::getline(lines, line)) {
        // "[1764086400.123456] 64 bytes from 192.0.2.100: icmp_seq=1 ttl=64 time=0.05 ms"
        if (line.size() < 3 || line[0] != '[' || line.find("bytes from") == std::string::npos) continue;
        const double t = std::stod(line.substr(1, line.find(']') - 1));
        if (last >= 0) longest = std::max(longest, (t - last) * 1000.0);
        last = t;
    }
    return last < 0 ? -1 : longest;
}

std::pair<int, int> VrrpLab::ping_counts() const {
    const std::string out = read_file(dir_ + "/ping.txt");
    const auto at = out.find(" packets transmitted, ");
    if (at == std::string::npos) return {-1, -1};
    const auto line_start = out.rfind('\n', at) + 1;
    return {std::stoi(out.substr(line_start, at - line_start)), std::stoi(out.substr(at + 22))};
}

bool VrrpLab::wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return done();
}

bool VrrpLab::process_gone(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    return !std::getline(stat, line) || line.find(") Z ") != std::string::npos;
}

}  // namespace xvrrp::test
