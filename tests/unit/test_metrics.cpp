// The metrics' text: names, labels, values (earlier lives added), histograms, escaping; and,
// when promtool is there, the exposition passes `promtool check metrics`.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "xvrrp/metrics.hpp"

using namespace xvrrp;
using namespace xvrrp::metrics;

namespace {

Snapshot two_routers() {
    Snapshot s;
    Router a{.iname = "gateway", .family = Family::V4, .interface = "eth0", .vrid = 51, .state = fsm::State::Master,
             .priority = 140, .base_priority = 150, .last_transition_unix_seconds = 1'764'999'000.5, .slot = 3};
    a.sent.adverts_sent = 1000;
    a.sent.become_master = 2;
    a.sent.release_master = 1;
    a.sent.priority_zero_sent = 1;
    a.received_before.adverts_valid = 7;  // counted before a reload restarted it
    Router b{.iname = "gateway/v6", .family = Family::V6, .interface = "eth0", .vrid = 51, .state = fsm::State::Backup,
             .priority = 100, .base_priority = 100, .slot = 4};
    s.routers = {a, b};
    Tracker t{.name = "web \"front\"", .up = false};
    t.durations.observe(300'000);      // 0.3 ms
    t.durations.observe(3'000'000);    // 3 ms
    t.durations.observe(20'000'000'000);  // 20 s: above every bound
    s.trackers = {t};
    s.reloads_ok = 3;
    s.reloads_failed = 1;
    return s;
}

Readings readings() {
    Readings r;
    r.dataplane[XVRRP_STAT_ADVERT_BAD_TTL].packets = 5;
    r.dataplane[XVRRP_STAT_EVENTS_DROPPED].packets = 2;
    r.dataplane[XVRRP_STAT_ARP_REPLIED].packets = 9;
    xvrrp_inst_stats live{};
    live.adverts_valid = 10;
    live.adverts_prio_zero = 1;
    live.arp_replied = 4;
    live.ns_replied = 6;
    r.instances = {live, std::nullopt};  // the second's slot could not be read
    r.heartbeat_age_seconds = 0.25;
    r.process = Process{.cpu_seconds = 1.5, .start_time_seconds = 1.7e9, .resident_bytes = 4096, .virtual_bytes = 8192,
                        .open_fds = 12, .max_fds = 1024};
    return r;
}

bool has_line(const std::string& text, const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

}  // namespace

TEST(Metrics, RouterSeriesCarryTheirLabelsAndValues) {
    const std::string text = render(two_routers(), readings(), "0.1.0");
    const std::string a = R"({iname="gateway",family="IPv4",interface="eth0",vrid="51"})";
    const std::string b = R"({iname="gateway/v6",family="IPv6",interface="eth0",vrid="51"})";
    EXPECT_TRUE(has_line(text, "xvrrp_vrrp_state" + a + " 2")) << text;
    EXPECT_TRUE(has_line(text, "xvrrp_vrrp_state" + b + " 1"));
    EXPECT_TRUE(has_line(text, "xvrrp_vrrp_priority" + a + " 140"));
    EXPECT_TRUE(has_line(text, "xvrrp_vrrp_base_priority" + a + " 150"));
    EXPECT_TRUE(has_line(text, "xvrrp_vrrp_last_transition_timestamp_seconds" + a + " 1764999000.5"));
    EXPECT_EQ(count(text, "xvrrp_vrrp_last_transition_timestamp_seconds{"), 1u) << "none before a first transition";
    EXPECT_TRUE(has_line(text, "xvrrp_advertisements_received_total" + a + " 17")) << "live 10 + 7 from before";
    EXPECT_TRUE(has_line(text, "xvrrp_advertisements_received_total" + b + " 0")) << "unreadable live: earlier lives only";
    EXPECT_TRUE(has_line(text, "xvrrp_advertisements_sent_total" + a + " 1000"));
    EXPECT_TRUE(has_line(text, "xvrrp_become_master_total" + a + " 2"));
    EXPECT_TRUE(has_line(text, "xvrrp_release_master_total" + a + " 1"));
    EXPECT_TRUE(has_line(text, "xvrrp_priority_zero_received_total" + a + " 1"));
    EXPECT_TRUE(has_line(text, "xvrrp_priority_zero_sent_total" + a + " 1"));
    EXPECT_TRUE(has_line(text, "xvrrp_arp_replies_total" + a + " 4"));
    EXPECT_TRUE(has_line(text, "xvrrp_nd_replies_total" + a + " 6"));
}

TEST(Metrics, MachineSeries) {
    const std::string text = render(two_routers(), readings(), "0.1.0");
    EXPECT_TRUE(has_line(text, R"(xvrrp_advertisements_invalid_total{reason="bad_ttl"} 5)")) << text;
    EXPECT_EQ(count(text, "xvrrp_advertisements_invalid_total{reason=\"unknown_vrid\"}"), 0u) << "passed on, not invalid";
    EXPECT_TRUE(has_line(text, R"(xvrrp_dataplane_packets_total{reason="arp_replied"} 9)"));
    EXPECT_EQ(count(text, "xvrrp_dataplane_packets_total{"), std::size_t{XVRRP_STAT_MAX});
    EXPECT_TRUE(has_line(text, "xvrrp_ringbuf_events_dropped_total 2"));
    EXPECT_TRUE(has_line(text, "xvrrp_heartbeat_age_seconds 0.25"));
    EXPECT_TRUE(has_line(text, R"(xvrrp_config_reloads_total{result="success"} 3)"));
    EXPECT_TRUE(has_line(text, R"(xvrrp_config_reloads_total{result="failure"} 1)"));
    EXPECT_TRUE(has_line(text, R"(xvrrp_build_info{version="0.1.0"} 1)"));
    EXPECT_TRUE(has_line(text, "process_open_fds 12"));
    EXPECT_TRUE(has_line(text, "process_cpu_seconds_total 1.5"));
}

TEST(Metrics, TrackersAndHistogramsEscaped) {
    const std::string text = render(two_routers(), readings(), "0.1.0");
    const std::string t = R"(tracker="web \"front\"")";
    EXPECT_TRUE(has_line(text, "xvrrp_tracker_up{" + t + "} 0")) << text;
    EXPECT_TRUE(has_line(text, "xvrrp_check_duration_seconds_bucket{" + t + ",le=\"0.0005\"} 1"));
    EXPECT_TRUE(has_line(text, "xvrrp_check_duration_seconds_bucket{" + t + ",le=\"0.0025\"} 1"));
    EXPECT_TRUE(has_line(text, "xvrrp_check_duration_seconds_bucket{" + t + ",le=\"0.005\"} 2")) << "cumulative";
    EXPECT_TRUE(has_line(text, "xvrrp_check_duration_seconds_bucket{" + t + ",le=\"10\"} 2"));
    EXPECT_TRUE(has_line(text, "xvrrp_check_duration_seconds_bucket{" + t + ",le=\"+Inf\"} 3"));
    EXPECT_TRUE(has_line(text, "xvrrp_check_duration_seconds_count{" + t + "} 3"));
    EXPECT_TRUE(has_line(text, "xvrrp_check_duration_seconds_sum{" + t + "} 20.0033"));
}

TEST(Metrics, EachFamilyDeclaredOnce) {
    const std::string text = render(two_routers(), readings(), "0.1.0");
    for (const char* family : {"xvrrp_vrrp_state", "xvrrp_advertisements_received_total", "xvrrp_check_duration_seconds",
                               "xvrrp_dataplane_packets_total", "process_cpu_seconds_total"}) {
        EXPECT_EQ(count(text, std::string("# TYPE ") + family + " "), 1u) << family;
        EXPECT_EQ(count(text, std::string("# HELP ") + family + " "), 1u) << family;
    }
    EXPECT_TRUE(has_line(text, "# TYPE xvrrp_check_duration_seconds histogram"));
    EXPECT_TRUE(has_line(text, "# TYPE xvrrp_become_master_total counter"));
    EXPECT_TRUE(has_line(text, "# TYPE xvrrp_vrrp_state gauge"));
}

TEST(Metrics, HistogramBuckets) {
    DurationHistogram h;
    h.observe(1'000'000);  // exactly 1 ms: in the 0.001 bucket (le is inclusive)
    h.observe(1'000'001);
    EXPECT_EQ(h.buckets[1], 1u);
    EXPECT_EQ(h.buckets[2], 1u);
    EXPECT_EQ(h.count, 2u);
    EXPECT_NEAR(h.sum_seconds, 0.002, 1e-9);
}

TEST(Metrics, ThisProcessFromProc) {
    const auto p = read_process();
    ASSERT_TRUE(p);
    EXPECT_GT(p->resident_bytes, 0u);
    EXPECT_GE(p->virtual_bytes, p->resident_bytes);
    EXPECT_GT(p->open_fds, 2u);  // stdin, stdout, stderr at least
    EXPECT_GT(p->max_fds, p->open_fds);
    EXPECT_GT(p->start_time_seconds, 1.6e9);
}

TEST(Metrics, PassesPromtool) {
    const std::filesystem::path promtool = std::filesystem::path(XVRRP_SOURCE_DIR) / ".tools" / "promtool";
    if (!std::filesystem::exists(promtool)) GTEST_SKIP() << promtool << " is missing: scripts/install-deps.sh unpacks it";
    Snapshot s = two_routers();
    Readings r = readings();
    const auto file = std::filesystem::temp_directory_path() / ("xvrrp-metrics-" + std::to_string(::getpid()) + ".txt");
    std::ofstream(file) << render(s, r, "0.1.0");
    const std::string cmd = promtool.string() + " check metrics < " + file.string() + " 2>&1";
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    const int status = ::pclose(p);
    std::filesystem::remove(file);
    EXPECT_EQ(status, 0) << out;
    EXPECT_EQ(out, "") << "promtool's lint found problems";
}
