#include "xvrrp/upgrade.hpp"

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "xvrrp/error.hpp"

extern char** environ;

namespace xvrrp {

namespace {
constexpr int kChannelFd = 3;  // in N
constexpr std::size_t kMaxMessage = 4 << 20;  // a handover of thousands of routers fits
}  // namespace

namespace {
nlohmann::json sent_json(const RouterCounters& c) {
    nlohmann::json out = nlohmann::json::object();
    for_each_router_counter(c, [&](const CounterInfo& i, std::uint64_t v) {
        if (v) out[std::string(i.name)] = v;
    });
    return out;
}
RouterCounters sent_from(const nlohmann::json& j) {
    RouterCounters c;
#define XVRRP_ROUTER_STAT_READ(field, name, help) c.field = j.value(name, std::uint64_t{0});
    XVRRP_ROUTER_STATS(XVRRP_ROUTER_STAT_READ)
#undef XVRRP_ROUTER_STAT_READ
    return c;
}
nlohmann::json received_json(const xvrrp_inst_stats& s) {
    nlohmann::json out = nlohmann::json::object();
    for_each_instance_counter(s, [&](const CounterInfo& i, std::uint64_t v) {
        if (v) out[std::string(i.name)] = v;
    });
    return out;
}
xvrrp_inst_stats received_from(const nlohmann::json& j) {
    xvrrp_inst_stats s{};
#define XVRRP_INST_STAT_READ(field, name, help) s.field = j.value(name, std::uint64_t{0});
    XVRRP_INST_STATS(XVRRP_INST_STAT_READ)
#undef XVRRP_INST_STAT_READ
    return s;
}
nlohmann::json optional_ns(const std::optional<Nanos>& t) { return t ? nlohmann::json(*t) : nlohmann::json(nullptr); }
std::optional<Nanos> optional_ns_from(const nlohmann::json& j) {
    return j.is_null() ? std::nullopt : std::optional<Nanos>(j.get<Nanos>());
}
nlohmann::json schedule_json(const std::optional<RouterDriver::Schedule>& s) {
    if (!s) return nullptr;
    return {{"advert_at_ns", s->advert_at}, {"announce_left", s->announce_left}, {"next_announce_ns", s->next_announce},
            {"second_burst_ns", optional_ns(s->second_burst_at)}, {"next_refresh_ns", optional_ns(s->next_refresh)}};
}
std::optional<RouterDriver::Schedule> schedule_from(const nlohmann::json& j) {
    if (j.is_null()) return std::nullopt;
    return RouterDriver::Schedule{.advert_at = j.at("advert_at_ns").get<Nanos>(),
                                  .announce_left = j.at("announce_left").get<std::uint32_t>(),
                                  .next_announce = j.at("next_announce_ns").get<Nanos>(),
                                  .second_burst_at = optional_ns_from(j.at("second_burst_ns")),
                                  .next_refresh = optional_ns_from(j.at("next_refresh_ns"))};
}
int family_number(Family f) { return f == Family::V4 ? 4 : 6; }
Family family_from(const nlohmann::json& j) { return j.get<int>() == 6 ? Family::V6 : Family::V4; }
}  // namespace

nlohmann::json to_json(const Handover& h) {
    nlohmann::json routers = nlohmann::json::array(), earlier = nlohmann::json::array(), trackers = nlohmann::json::array();
    for (const auto& r : h.routers)
        routers.push_back({{"name", r.name},
                           {"family", family_number(r.family)},
                           {"state", static_cast<int>(r.state)},
                           {"transitions", r.transitions},
                           {"since_transition_ns", r.since_transition_ns},
                           {"sent", sent_json(r.sent)},
                           {"schedule", schedule_json(r.schedule)},
                           {"preempt_at_ns", optional_ns(r.preempt_at)}});
    for (const auto& e : h.earlier)
        earlier.push_back({{"name", e.name}, {"family", family_number(e.family)}, {"sent", sent_json(e.sent)},
                           {"received", received_json(e.received)}});
    for (const auto& t : h.trackers)
        trackers.push_back({{"name", t.name}, {"kind", static_cast<int>(t.kind)}, {"up", t.up}, {"value", t.value},
                            {"detail", t.detail}, {"checks", t.checks}, {"failures", t.failures},
                            {"duration_ns", t.duration_ns},
                            {"durations", {{"buckets", t.durations.buckets}, {"count", t.durations.count},
                                           {"sum_seconds", t.durations.sum_seconds}}}});
    return {{"version", Handover::kVersion}, {"routers", routers}, {"reloads_ok", h.reloads_ok},
            {"reloads_failed", h.reloads_failed}, {"maintenance", h.maintenance}, {"earlier", earlier},
            {"trackers", trackers}, {"groups", h.groups}, {"config", h.config},
            {"notify_waiting", h.notify_waiting}, {"frozen_at_ns", h.frozen_at_ns}};
}

Handover handover_from_json(const nlohmann::json& j) {
    if (!j.is_object() || j.value("version", 0) != Handover::kVersion)
        throw std::runtime_error("handover: version " + (j.is_object() && j.contains("version") ? j["version"].dump() : "none") +
                                 ", this xvrrpd reads version " + std::to_string(Handover::kVersion));
    try {
        Handover h;
        for (const auto& r : j.at("routers")) {
            HandoverRouter x;
            x.name = r.at("name").get<std::string>();
            x.family = family_from(r.at("family"));
            const int state = r.at("state").get<int>();
            if (state < 0 || state > static_cast<int>(fsm::State::Fault)) throw std::runtime_error("bad state");
            x.state = static_cast<fsm::State>(state);
            x.transitions = r.at("transitions").get<std::uint64_t>();
            x.since_transition_ns = r.at("since_transition_ns").get<std::uint64_t>();
            x.sent = sent_from(r.at("sent"));
            if (r.contains("schedule")) x.schedule = schedule_from(r.at("schedule"));
            if (r.contains("preempt_at_ns")) x.preempt_at = optional_ns_from(r.at("preempt_at_ns"));
            h.routers.push_back(std::move(x));
        }
        for (const auto& e : j.at("earlier"))
            h.earlier.push_back(HandoverEarlier{.name = e.at("name").get<std::string>(), .family = family_from(e.at("family")),
                                                .sent = sent_from(e.at("sent")), .received = received_from(e.at("received"))});
        for (const auto& t : j.at("trackers")) {
            TrackerView v;
            v.name = t.at("name").get<std::string>();
            v.kind = static_cast<config::TrackerKind>(t.at("kind").get<int>());
            v.up = t.at("up").get<bool>();
            v.value = t.at("value").get<long long>();
            v.detail = t.at("detail").get<std::string>();
            v.checks = t.at("checks").get<std::uint64_t>();
            v.failures = t.at("failures").get<std::uint64_t>();
            v.duration_ns = t.at("duration_ns").get<std::uint64_t>();
            const auto& d = t.at("durations");
            const auto buckets = d.at("buckets").get<std::vector<std::uint64_t>>();
            if (buckets.size() != v.durations.buckets.size()) throw std::runtime_error("histogram buckets differ");
            std::copy(buckets.begin(), buckets.end(), v.durations.buckets.begin());
            v.durations.count = d.at("count").get<std::uint64_t>();
            v.durations.sum_seconds = d.at("sum_seconds").get<double>();
            h.trackers.push_back(std::move(v));
        }
        h.reloads_ok = j.at("reloads_ok").get<std::uint64_t>();
        h.reloads_failed = j.at("reloads_failed").get<std::uint64_t>();
        h.maintenance = j.at("maintenance").get<std::vector<std::string>>();
        if (j.contains("groups")) h.groups = j.at("groups").get<std::map<std::string, int>>();
        if (j.contains("config")) h.config = j.at("config").get<std::string>();
        if (j.contains("frozen_at_ns")) h.frozen_at_ns = j.at("frozen_at_ns").get<std::uint64_t>();
        if (j.contains("notify_waiting"))
            h.notify_waiting = j.at("notify_waiting").get<std::map<std::string, std::vector<std::vector<std::string>>>>();
        return h;
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(std::string("handover: malformed: ") + e.what());
    }
}

std::string config_digest(std::string_view text) {
    std::uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a 64
    for (const unsigned char c : text) hash = (hash ^ c) * 0x100000001b3ULL;
    char out[48];
    std::snprintf(out, sizeof out, "fnv1a64:%zu:%016llx", text.size(), static_cast<unsigned long long>(hash));
    return out;
}

void UpgradeChannel::send(const nlohmann::json& message) {
    const std::string text = message.dump();
    if (::send(fd_.get(), text.data(), text.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(text.size()))
        throw_errno(errno, "upgrade channel: send");
}

std::optional<nlohmann::json> UpgradeChannel::receive(std::chrono::milliseconds limit) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return std::nullopt;
    // The message's own length (MSG_TRUNC): a buffer of kMaxMessage, zeroed, cost every receive
    // 1-3 ms of page faults, and the state's receive lies inside the advert gap of an upgrade.
    char probe = 0;
    const ssize_t size = ::recv(fd_.get(), &probe, 1, MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC);
    if (size <= 0) return std::nullopt;  // closed (0) or nothing after all
    std::string buf(static_cast<std::size_t>(size), '\0');
    const ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n <= 0) return std::nullopt;
    buf.resize(static_cast<std::size_t>(n));
    try {
        return nlohmann::json::parse(buf);
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    }
}

bool UpgradeChannel::wait(std::chrono::nanoseconds limit) {
    pollfd p{fd_.get(), POLLIN, 0};
    const auto ns = std::max<std::int64_t>(0, limit.count());
    const timespec ts{.tv_sec = static_cast<time_t>(ns / 1'000'000'000), .tv_nsec = static_cast<long>(ns % 1'000'000'000)};
    return ::ppoll(&p, 1, &ts, nullptr) > 0;  // POLLHUP or POLLERR come whether asked or not
}

std::pair<UniqueFd, UniqueFd> UpgradeChannel::pair() {
    int ends[2];
    check_sys(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends), "upgrade: socketpair");
    UniqueFd a(ends[0]), b(ends[1]);
    const int size = static_cast<int>(kMaxMessage);
    for (const int fd : {a.get(), b.get()})
        for (const auto& [force, plain] : {std::pair{SO_SNDBUFFORCE, SO_SNDBUF}, std::pair{SO_RCVBUFFORCE, SO_RCVBUF}})
            if (::setsockopt(fd, SOL_SOCKET, force, &size, sizeof(size)) != 0)
                ::setsockopt(fd, SOL_SOCKET, plain, &size, sizeof(size));  // capped: large handovers may not fit
    return {std::move(a), std::move(b)};
}

Successor start_successor(const std::vector<std::string>& argv) {
    auto [ours, theirs] = UpgradeChannel::pair();

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, theirs.get(), kChannelFd);  // dup2 clears CLOEXEC
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR2}) sigaddset(&defaults, s);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    // systemd's WATCHDOG_PID names this process: the new one, which becomes the main PID
    // (MAINPID=), would take the watchdog for someone else's and never feed it (systemd would
    // then kill the service WatchdogSec after every upgrade). It goes when it names us.
    const std::string our_watchdog = "WATCHDOG_PID=" + std::to_string(::getpid());
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e)
        if (std::strncmp(*e, "XVRRP_UPGRADE_FD=", 17) != 0 && our_watchdog != *e) env_strings.emplace_back(*e);
    env_strings.push_back("XVRRP_UPGRADE_FD=" + std::to_string(kChannelFd));
    std::vector<char*> envp, args;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_copy = argv;
    for (auto& a : argv_copy) args.push_back(a.data());
    args.push_back(nullptr);

    pid_t pid = -1;
    const int err = ::posix_spawn(&pid, args[0], &actions, &attr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (err != 0) throw_errno(err, "upgrade: start " + argv.front());
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) {
        ::kill(pid, SIGKILL);
        throw_errno(errno, "upgrade: pidfd_open");
    }
    return Successor{.pid = pid, .pidfd = UniqueFd(pidfd), .channel = UpgradeChannel(std::move(ours))};
}

}  // namespace xvrrp
