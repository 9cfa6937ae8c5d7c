// The metrics' text: what each metric means is written once here, beside its name.
#include "xvrrp/metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "xvrrp/keepalived_status.hpp"

namespace xvrrp::metrics {

namespace {

std::string escaped(std::string_view v) {
    std::string out;
    for (const char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

// One metric family at a time: HELP and TYPE once, then its samples.
class Text {
public:
    void family(std::string_view name, std::string_view type, std::string_view help) {
        out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    }
    template <class V>
    void sample(std::string_view name, std::string_view labels, V value) {
        if (labels.empty()) out_ += fmt::format("{} {}\n", name, value);
        else out_ += fmt::format("{}{{{}}} {}\n", name, labels, value);
    }
    // A family of one unlabelled sample.
    template <class V>
    void single(std::string_view name, std::string_view type, std::string_view help, V value) {
        family(name, type, help);
        sample(name, "", value);
    }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

std::string router_labels(const Router& r) {
    return fmt::format("iname=\"{}\",family=\"{}\",interface=\"{}\",vrid=\"{}\"", escaped(r.iname),
                       r.family == Family::V4 ? "IPv4" : "IPv6", escaped(r.interface), r.vrid);
}

// The reasons an advert is refused (XDP counts them for the machine, not per instance).
bool is_invalid_advert(xvrrp_stat s) {
    switch (s) {
        case XVRRP_STAT_ADVERT_TRUNCATED:
        case XVRRP_STAT_ADVERT_BAD_IP:
        case XVRRP_STAT_ADVERT_BAD_TTL:
        case XVRRP_STAT_ADVERT_BAD_VERSION:
        case XVRRP_STAT_ADVERT_BAD_TYPE:
        case XVRRP_STAT_ADVERT_BAD_LENGTH:
        case XVRRP_STAT_ADVERT_TOO_LONG:
        case XVRRP_STAT_ADVERT_BAD_CHECKSUM:
        case XVRRP_STAT_ADVERT_BAD_AUTH:
        case XVRRP_STAT_ADVERT_BAD_INTERVAL:
        case XVRRP_STAT_ADVERT_BAD_SOURCE: return true;
        default: return false;
    }
}

}  // namespace

std::string render(const Snapshot& s, const Readings& r, std::string_view version) {
    Text t;
    std::vector<std::string> labels;
    labels.reserve(s.routers.size());
    for (const Router& router : s.routers) labels.push_back(router_labels(router));
    auto received = [&](std::size_t i) {
        const auto live = i < r.instances.size() ? r.instances[i] : std::nullopt;
        return live ? *live + s.routers[i].received_before : s.routers[i].received_before;
    };
    // A family of one sample per router.
    auto per_router = [&](std::string_view name, std::string_view type, std::string_view help, auto value_of) {
        t.family(name, type, help);
        for (std::size_t i = 0; i < s.routers.size(); ++i) t.sample(name, labels[i], value_of(i, s.routers[i]));
    };
    per_router("xvrrp_vrrp_state", "gauge", "State of the VRRP router: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT (as keepalived)",
               [](std::size_t, const Router& x) { return keepalived::state_number(x.state); });
    per_router("xvrrp_vrrp_priority", "gauge", "Effective priority (base priority moved by trackers)",
               [](std::size_t, const Router& x) { return x.priority; });
    per_router("xvrrp_vrrp_base_priority", "gauge", "Configured priority",
               [](std::size_t, const Router& x) { return x.base_priority; });
    t.family("xvrrp_vrrp_last_transition_timestamp_seconds", "gauge", "When the router last changed state (Unix time)");
    for (std::size_t i = 0; i < s.routers.size(); ++i)
        if (const auto at = s.routers[i].last_transition_unix_seconds)
            t.sample("xvrrp_vrrp_last_transition_timestamp_seconds", labels[i], *at);
    per_router("xvrrp_advertisements_received_total", "counter", "Valid adverts received for the router's VRID",
               [&](std::size_t i, const Router&) { return received(i).adverts_valid; });
    per_router("xvrrp_advertisements_sent_total", "counter", "Adverts sent (priority 0 included)",
               [](std::size_t, const Router& x) { return x.sent.adverts_sent; });
    per_router("xvrrp_become_master_total", "counter", "Transitions into MASTER",
               [](std::size_t, const Router& x) { return x.sent.become_master; });
    per_router("xvrrp_release_master_total", "counter", "Transitions out of MASTER",
               [](std::size_t, const Router& x) { return x.sent.release_master; });
    per_router("xvrrp_priority_zero_received_total", "counter", "Priority-0 adverts received (a master resigning)",
               [&](std::size_t i, const Router&) { return received(i).adverts_prio_zero; });
    per_router("xvrrp_priority_zero_sent_total", "counter", "Priority-0 adverts sent (resigning)",
               [](std::size_t, const Router& x) { return x.sent.priority_zero_sent; });
    per_router("xvrrp_arp_replies_total", "counter", "ARP requests for the router's VIPs answered by XDP",
               [&](std::size_t i, const Router&) { return received(i).arp_replied; });
    per_router("xvrrp_nd_replies_total", "counter", "Neighbour solicitations for the router's VIPs answered by XDP",
               [&](std::size_t i, const Router&) { return received(i).ns_replied; });

    t.family("xvrrp_advertisements_invalid_total", "counter", "Adverts dropped by XDP, by the check they failed");
    for (std::uint32_t i = 0; i < XVRRP_STAT_MAX; ++i) {
        const auto stat = static_cast<xvrrp_stat>(i);
        std::string_view reason = stat_name(stat);
        if (!is_invalid_advert(stat)) continue;
        if (reason.starts_with("advert_")) reason.remove_prefix(7);
        t.sample("xvrrp_advertisements_invalid_total", fmt::format("reason=\"{}\"", reason), r.dataplane[i].packets);
    }
    t.family("xvrrp_dataplane_packets_total", "counter", "What XDP and TC did with frames, by reason (see xvrrpctl status)");
    for (std::uint32_t i = 0; i < XVRRP_STAT_MAX; ++i)
        t.sample("xvrrp_dataplane_packets_total", fmt::format("reason=\"{}\"", stat_name(static_cast<xvrrp_stat>(i))),
                 r.dataplane[i].packets);
    t.single("xvrrp_ringbuf_events_dropped_total", "counter", "Events lost to a full ring buffer (the daemon resyncs)",
             r.dataplane[XVRRP_STAT_EVENTS_DROPPED].packets);
    if (r.heartbeat_age_seconds)
        t.single("xvrrp_heartbeat_age_seconds", "gauge", "Time since the daemon's loop last refreshed the XDP heartbeat",
                 *r.heartbeat_age_seconds);

    t.family("xvrrp_tracker_up", "gauge", "1 when the tracker is up");
    for (const Tracker& tr : s.trackers) t.sample("xvrrp_tracker_up", fmt::format("tracker=\"{}\"", escaped(tr.name)), tr.up ? 1 : 0);
    t.family("xvrrp_check_duration_seconds", "histogram", "How long each check took, from its start to its result");
    for (const Tracker& tr : s.trackers) {
        const std::string name = escaped(tr.name);
        std::uint64_t cumulative = 0;
        for (std::size_t b = 0; b < DurationHistogram::kBoundsSeconds.size(); ++b) {
            cumulative += tr.durations.buckets[b];
            t.sample("xvrrp_check_duration_seconds_bucket",
                     fmt::format("tracker=\"{}\",le=\"{}\"", name, DurationHistogram::kBoundsSeconds[b]), cumulative);
        }
        t.sample("xvrrp_check_duration_seconds_bucket", fmt::format("tracker=\"{}\",le=\"+Inf\"", name), tr.durations.count);
        t.sample("xvrrp_check_duration_seconds_sum", fmt::format("tracker=\"{}\"", name), tr.durations.sum_seconds);
        t.sample("xvrrp_check_duration_seconds_count", fmt::format("tracker=\"{}\"", name), tr.durations.count);
    }
    t.family("xvrrp_config_reloads_total", "counter", "Configuration reloads (SIGHUP), by result");
    t.sample("xvrrp_config_reloads_total", "result=\"success\"", s.reloads_ok);
    t.sample("xvrrp_config_reloads_total", "result=\"failure\"", s.reloads_failed);
    t.family("xvrrp_build_info", "gauge", "The running xvrrpd's version");
    t.sample("xvrrp_build_info", fmt::format("version=\"{}\"", escaped(version)), 1);

    if (const auto& p = r.process) {
        t.single("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", p->cpu_seconds);
        t.single("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", p->resident_bytes);
        t.single("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", p->virtual_bytes);
        t.single("process_open_fds", "gauge", "Number of open file descriptors.", p->open_fds);
        t.single("process_max_fds", "gauge", "Maximum number of open file descriptors.", p->max_fds);
        t.single("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
                 p->start_time_seconds);
    }
    return t.take();
}

std::optional<Process> read_process() {
    std::ifstream stat_file("/proc/self/stat");
    std::string line;
    if (!std::getline(stat_file, line)) return std::nullopt;
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    const auto close = line.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream fields(line.substr(close + 2));
    std::vector<std::string> f;  // f[0] is field 3 (state)
    for (std::string w; fields >> w;) f.push_back(w);
    if (f.size() < 22) return std::nullopt;
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const long page = ::sysconf(_SC_PAGESIZE);
    Process p;
    try {
        p.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;           // utime, stime
        const double started_after_boot = std::stod(f[19]) / ticks;              // starttime
        p.virtual_bytes = std::stoull(f[20]);                                     // vsize
        p.resident_bytes = std::stoull(f[21]) * static_cast<std::uint64_t>(page);  // rss (pages)
        std::ifstream kernel_stat("/proc/stat");
        for (std::string l; std::getline(kernel_stat, l);)
            if (l.starts_with("btime ")) p.start_time_seconds = std::stod(l.substr(6)) + started_after_boot;
    } catch (const std::exception&) {
        return std::nullopt;
    }
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (const dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') ++p.open_fds;
        ::closedir(d);
        --p.open_fds;  // the directory's own descriptor
    }
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) p.max_fds = lim.rlim_cur;
    return p;
}

}  // namespace xvrrp::metrics
