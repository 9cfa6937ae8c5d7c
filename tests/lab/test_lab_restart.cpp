// A restart that must not move the VIP: a master killed (SIGKILL, a crash) and started again
// within its heartbeat timeout resumes what the dataplane still serves (crash adopt): MASTER at
// once, the backup never takes over, the client loses no reply. A stale heartbeat or other
// instances: a fresh start, as before.
#include <bpf/bpf.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <future>
#include <iostream>
#include <sstream>
#include <thread>

#include "daemon_lab.hpp"
#include "xvrrp/abi.h"
#include "xvrrp/unique_fd.hpp"

namespace xvrrp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

class RestartLab : public DaemonLab {
protected:
    // r1 150 and r2 100 at 1 s adverts (Master_Down_Interval 3.6 s for r2), heartbeat 1 s.
    json config(int i) {
        json c = lab_->config(i, i == 1 ? 150 : 100, 1000);
        c["global"]["heartbeat_timeout_ms"] = 1000;
        return c;
    }
    void start_pair() {
        lab_->start(1, config(1));
        lab_->start(2, config(2));
        ASSERT_TRUE(becomes(1, "MASTER", 8s) && becomes(2, "BACKUP", 8s));
        ASSERT_TRUE(becomes(1, "MASTER", 8s, "IPv6"));
    }
    int transitions(int i, std::size_t k = 0) {
        const json s = lab_->status(i);
        return s.is_null() ? -1 : s["instances"][k]["transitions"].get<int>();
    }
    // After one failed upgrade: r1's daemon (pid) answers again, counted the failure, MASTER still;
    // past r2's Master_Down_Interval (3.6 s) neither router has moved and the VIP answers.
    void expect_served_on(int pid, int r1_before, int r2_before) {
        const json s = lab_->status(1);
        ASSERT_FALSE(s.is_null()) << "the control socket is back";
        EXPECT_EQ(s["pid"].get<int>(), pid);
        EXPECT_EQ(s["upgrade"]["failures"], 1);
        EXPECT_EQ(lab_->state(1), "MASTER");
        std::this_thread::sleep_for(4s);
        EXPECT_EQ(transitions(2), r2_before) << "r2 never left BACKUP";
        EXPECT_EQ(transitions(1), r1_before);
        EXPECT_TRUE(client_reaches_vip(*lab_));
    }
};

TEST_F(RestartLab, KilledMasterRestartedWithinTheHeartbeatResumesAndTheVipNeverMoves) {
    ASSERT_NO_FATAL_FAILURE(start_pair());
    const int r2_before = transitions(2);
    const int r2_v6_before = transitions(2, 1);
    lab_->client().exec("ping -c 1 -W 1 192.0.2.100 >/dev/null");
    const std::string mac_before = lab_->client().exec("ip neigh show 192.0.2.100");
    ASSERT_NE(mac_before.find("00:00:5e:00:01:33"), std::string::npos) << mac_before;

    lab_->start_ping("192.0.2.100", 300, 0.01);  // 3 s at 10 ms
    std::this_thread::sleep_for(500ms);
    lab_->signal(1, SIGKILL);
    lab_->wait_exit(1, 1s);
    const std::string log = start_and_log(1, config(1));  // within heartbeat_timeout_ms
    EXPECT_NE(log.find("resuming the 2 routers a daemon left"), std::string::npos) << log;
    EXPECT_EQ(lab_->state(1), "MASTER") << "MASTER at once, not BACKUP first";
    EXPECT_EQ(lab_->state(1, "IPv6"), "MASTER");
    EXPECT_NE(log.find("(gateway) Entering MASTER STATE (resumed after a restart)"), std::string::npos);
    EXPECT_EQ(log.find("Entering BACKUP STATE"), std::string::npos) << log;
    lab_->finish_ping_longest_gap_ms();
    const auto [sent, received] = lab_->ping_counts();
    EXPECT_GT(sent, 250);
    EXPECT_EQ(received, sent) << "no echo request to the VIP went unanswered";

    // Well past r2's Master_Down_Interval: it never took over.
    std::this_thread::sleep_for(4s);
    EXPECT_EQ(lab_->state(2), "BACKUP");
    EXPECT_EQ(transitions(2), r2_before) << "r2 never left BACKUP";
    EXPECT_EQ(transitions(2, 1), r2_v6_before);
    EXPECT_EQ(vip_holders(*lab_, 2), 1);
    EXPECT_NE(lab_->client().exec("ip neigh show 192.0.2.100").find("00:00:5e:00:01:33"), std::string::npos);
    EXPECT_TRUE(client_reaches_vip(*lab_));
}

TEST_F(RestartLab, AStaleHeartbeatOrOtherInstancesStartAfresh) {
    ASSERT_NO_FATAL_FAILURE(start_pair());
    lab_->signal(1, SIGKILL);
    lab_->wait_exit(1, 1s);
    std::this_thread::sleep_for(1500ms);  // past heartbeat_timeout_ms: the kernel silenced the VIPs
    std::string log = start_and_log(1, config(1));
    EXPECT_NE(log.find("past its heartbeat timeout): starting afresh"), std::string::npos) << log;
    EXPECT_NE(log.find("(gateway) Entering BACKUP STATE (startup)"), std::string::npos);
    ASSERT_TRUE(becomes(1, "MASTER", 10s)) << "and wins the election again";

    // Another instance set (no IPv6 here): not adopted even with a fresh heartbeat.
    lab_->signal(1, SIGKILL);
    lab_->wait_exit(1, 1s);
    json v4_only = config(1);
    v4_only["instances"][0]["vips"] = {"192.0.2.100/24"};
    log = start_and_log(1, v4_only);
    EXPECT_NE(log.find("left other instances than configured: starting afresh"), std::string::npos) << log;
    EXPECT_TRUE(becomes(1, "MASTER", 10s));
}

// The dataplane says MASTER but a better master was heard meanwhile (its adverts reached r1's
// XDP while r1's daemon was dead): BACKUP, not a second master.
TEST_F(RestartLab, ABetterMasterHeardMeansBackup) {
    json c1 = config(1);
    c1["global"]["heartbeat_timeout_ms"] = 20000;  // fresh all along: the peer entry decides
    lab_->start(1, c1);
    lab_->start(2, config(2));
    ASSERT_TRUE(becomes(1, "MASTER", 8s) && becomes(2, "BACKUP", 8s));
    ASSERT_TRUE(becomes(1, "MASTER", 8s, "IPv6"));
    json better = config(2);
    better["instances"][0]["priority"] = 200;
    lab_->write_config(2, better);
    lab_->signal(2, SIGHUP);  // a priority change: no restart, r2 stays BACKUP under a live r1
    lab_->signal(1, SIGKILL);
    lab_->wait_exit(1, 1s);
    ASSERT_TRUE(becomes(2, "MASTER", 6s)) << "r2 takes over at 200";
    std::this_thread::sleep_for(1500ms);  // an advert of r2's reaches r1's XDP (its peer entry)
    const std::string log = start_and_log(1, c1);
    EXPECT_NE(log.find("resuming the 2 routers"), std::string::npos) << log;
    EXPECT_NE(log.find("(gateway) not resumed as MASTER: a better master (200) was heard"), std::string::npos) << log;
    EXPECT_EQ(log.find("(gateway) Entering MASTER STATE"), std::string::npos) << log;
    EXPECT_EQ(lab_->state(1), "BACKUP");
    EXPECT_EQ(lab_->state(2), "MASTER");
}

// xvrrpctl upgrade, 20 times in a row, at 1 s, 100 ms and 10 ms adverts, IPv4 and IPv6: r1's
// adverts on the bridge never stop (no gap over the interval + 20 %, or at 10 ms none skipped),
// r2 never leaves BACKUP, r1's
// transition count is unchanged, no notify script runs, the client's ping to the VIP loses
// nothing, its neighbour entry keeps the virtual MAC, and a TCP download from the VIP completes.
class UpgradeLab : public RestartLab, public ::testing::WithParamInterface<int> {};

// Timestamps (s) of r1's IPv4 adverts crossing its bridge port, from tcpdump -tt.
std::vector<double> advert_times(const std::string& tcpdump_out) {
    std::vector<double> out;
    std::istringstream in(tcpdump_out);
    for (std::string line; std::getline(in, line);)
        if (line.find("VRRP") != std::string::npos) out.push_back(std::stod(line.substr(0, line.find(' '))));
    return out;
}

TEST_P(UpgradeLab, UpgradesInARowMoveNoVip) {
    const int interval = GetParam();
    constexpr int kUpgrades = 20;
    ScratchDir dir;
    auto with = [&](int i) {
        json c = lab_->config(i, i == 1 ? 150 : 100, interval);
        c["instances"][0]["notify"] = {{"master", {"/bin/sh", "-c", "echo master >> " + dir.file("notify-r" + std::to_string(i))}},
                                       {"backup", {"/bin/sh", "-c", "echo backup >> " + dir.file("notify-r" + std::to_string(i))}}};
        return c;
    };
    lab_->start(1, with(1));
    lab_->start(2, with(2));
    ASSERT_TRUE(becomes(1, "MASTER", 8s) && becomes(2, "BACKUP", 8s));
    ASSERT_TRUE(becomes(1, "MASTER", 8s, "IPv6"));
    // A 2 MB file served from the VIP, downloaded at 400 kB/s (about 5 s) across the upgrades.
    dir.write("body", std::string(2 << 20, 'x'));
    lab_->start_helper(1, {HTTP_STUB_PATH, "192.0.2.100", "8080", dir.file("")}, "stub.log");
    ASSERT_TRUE(VrrpLab::wait_until([&] { return lab_->client().exec_status("curl -s -o /dev/null --max-time 1 http://192.0.2.100:8080/ -r 0-0") == 0; }, 3s));
    std::this_thread::sleep_for(500ms);  // notify scripts of the election have run
    const std::string r1_notified = dir.read("notify-r1");
    const json r1_before = lab_->status(1), r2_before = lab_->status(2);

    // The capture's first 3 s, with the ping and the download already going, are the baseline:
    // this machine's own jitter under the same load, without an upgrade.
    auto capture = std::async(std::launch::async, [&] {
        return lab_->bridge().exec("timeout 10 tcpdump -tt -n -l -i p1 'ip proto 112 and src host 192.0.2.1' 2>/dev/null; true");
    });
    std::this_thread::sleep_for(500ms);  // tcpdump is listening
    lab_->start_ping("192.0.2.100", 1700, 0.005);  // 8.5 s at 5 ms
    auto download = std::async(std::launch::async, [&] {
        return lab_->client().exec("curl -s -o /dev/null --limit-rate 400k -w '%{http_code} %{size_download}' http://192.0.2.100:8080/");
    });
    std::this_thread::sleep_for(3s);
    const double upgrades_from = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();

    const std::string ctl = std::string(XVRRPCTL_PATH) + " -s " + lab_->socket(1);
    int pid = r1_before["pid"].get<int>();
    for (int k = 0; k < kUpgrades; ++k) {
        const std::string out = lab_->router(1).exec(ctl + " upgrade 2>&1");
        ASSERT_EQ(out.rfind("upgraded: pid " + std::to_string(pid) + " -> ", 0), 0u) << "upgrade " << k << ": " << out;
        pid = std::stoi(out.substr(out.find("-> ") + 3));
    }
    lab_->finish_ping_longest_gap_ms();
    const auto [sent, received] = lab_->ping_counts();
    EXPECT_GT(sent, 500);
    EXPECT_EQ(received, sent) << "no echo request to the VIP went unanswered";
    EXPECT_EQ(download.get(), "200 " + std::to_string(2 << 20)) << "the download from the VIP completed";

    const double upgrades_to = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    const auto times = advert_times(capture.get());
    double longest = 0, longest_end = 0, baseline = 0;  // s: gaps ending during the upgrades, and before them
    for (std::size_t k = 1; k < times.size(); ++k) {
        const double gap = times[k] - times[k - 1];
        if (times[k] < upgrades_from) baseline = std::max(baseline, gap);
        else if (times[k - 1] <= upgrades_to && gap > longest) longest = gap, longest_end = times[k];
    }
    // The gap's end in the daemon log's clock (local time), to find what the daemons did then.
    const auto end_ms = static_cast<std::time_t>(longest_end * 1000);
    std::tm at{};
    const std::time_t end_s = end_ms / 1000;
    ::localtime_r(&end_s, &at);
    char end_text[32];
    std::snprintf(end_text + std::strftime(end_text, sizeof end_text, "%T", &at), 8, ".%03d", static_cast<int>(end_ms % 1000));
    // And the longest freeze the new daemons logged: from the old one's last advert to their commit.
    double longest_freeze = 0;
    std::istringstream log(lab_->log(1));
    for (std::string line; std::getline(log, line);)
        if (const auto at = line.find("ms after the old daemon froze"); at != std::string::npos)
            longest_freeze = std::max(longest_freeze, std::stod(line.substr(line.rfind(", ", at) + 2)));
    std::cout << times.size() << " adverts captured at " << interval << " ms; longest gap " << longest * 1000
              << " ms during the upgrades (ending at " << end_text << "), " << baseline * 1000
              << " ms before them; longest freeze " << longest_freeze << " ms\n";
    EXPECT_GT(times.size(), 5u);
    // No gap over the interval + 20 %. At 10 ms this shared machine's own jitter under the same
    // load is of that order (10-13.5 ms seen before any upgrade, the test's 3 s baseline): there
    // no advert skipped, that is no gap of two intervals, or over the machine's own longest gap
    // without an upgrade + half an interval where that is more. (The bound was the latter alone
    // until 2026-12-07: with a baseline of 11 ms it failed 1 run in 4 on a gap of 16.7 ms, an
    // advert 6.7 ms late, while a skipped one, as in the CI failure of a handover that zeroed a
    // 4 MiB buffer, gaps 20 ms or more. How late adverts are is measured by bench/run.sh upgrade.)
    const double bound = interval >= 100 ? interval * 1.2 : std::max(interval * 2.0, baseline * 1000 + interval * 0.5);
    EXPECT_LT(longest * 1000, bound) << "an advert was late or skipped";

    const json r1_after = lab_->status(1), r2_after = lab_->status(2);
    ASSERT_FALSE(r1_after.is_null());
    EXPECT_EQ(r1_after["pid"].get<int>(), pid);
    for (std::size_t k = 0; k < 2; ++k) {
        EXPECT_EQ(r1_after["instances"][k]["state"], "MASTER");
        EXPECT_EQ(r1_after["instances"][k]["transitions"], r1_before["instances"][k]["transitions"]) << "the upgrades left no trace";
        EXPECT_GE(r1_after["instances"][k]["counters"]["adverts_sent"].get<int>(),
                  r1_before["instances"][k]["counters"]["adverts_sent"].get<int>()) << "counters carried over";
        EXPECT_EQ(r2_after["instances"][k]["state"], "BACKUP");
        EXPECT_EQ(r2_after["instances"][k]["transitions"], r2_before["instances"][k]["transitions"])
            << "r2 never took over: r1's adverts never stopped long enough";
    }
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(dir.read("notify-r1"), r1_notified) << "no notify script ran for an upgrade";
    EXPECT_NE(lab_->client().exec("ip neigh show 192.0.2.100").find("00:00:5e:00:01:33"), std::string::npos);
    EXPECT_EQ(vip_holders(*lab_, 2), 1);
}

INSTANTIATE_TEST_SUITE_P(Intervals, UpgradeLab, ::testing::Values(1000, 100, 10),
                         [](const auto& info) { return std::to_string(info.param) + "ms"; });

// A tracker's state and counts go over with the upgrade: a failing check keeps the priority where
// it was (no start-over from the tracker's initial state, which would advertise 150 until the
// check failed again).
TEST_F(RestartLab, TrackersKeepTheirStateAcrossAnUpgrade) {
    json c1 = config(1);
    c1["trackers"] = {{"web", {{"type", "tcp"}, {"address", VrrpLab::router_ip(1)}, {"port", 8081}, {"interval_ms", 200}}}};
    c1["instances"][0]["track"] = {{{"tracker", "web"}, {"weight", -20}}};
    lab_->start(1, c1);
    lab_->start(2, config(2));
    ASSERT_TRUE(becomes(1, "MASTER", 8s) && becomes(2, "BACKUP", 8s));
    ASSERT_TRUE(VrrpLab::wait_until([&] { return lab_->status(1)["instances"][0]["priority"] == 130; }, 5s));
    const json before = lab_->status(1);
    const std::size_t first_life = lab_->log(1).size();
    const std::string out = xvrrpctl(1, "upgrade");
    ASSERT_EQ(out.rfind("upgraded: pid ", 0), 0u) << out;
    const json after = lab_->status(1);
    EXPECT_EQ(after["instances"][0]["priority"], 130);
    EXPECT_EQ(after["trackers"][0]["up"], false);
    EXPECT_GE(after["trackers"][0]["failures"].get<int>(), before["trackers"][0]["failures"].get<int>());
    EXPECT_EQ(after["instances"][0]["transitions"], before["instances"][0]["transitions"]);
    // The new process starts its routers at 130 (the start logs it), never at 150.
    EXPECT_EQ(lab_->log(1).find("effective priority 130 -> 150", first_life), std::string::npos) << lab_->log(1).substr(first_life);
    EXPECT_NE(lab_->log(1).find("(gateway) starts at effective priority 130 (base 150, trackers -20)", first_life),
              std::string::npos)
        << lab_->log(1).substr(first_life);
    EXPECT_EQ(lab_->log(1).find("effective priority 150 -> 130", first_life), std::string::npos) << lab_->log(1).substr(first_life);
    EXPECT_EQ(lab_->log(1).find("tracker web is", first_life), std::string::npos) << "no tracker change after the upgrade";
}

// The configuration on disk changed since the daemon last loaded it (an instance removed, one
// added) when the upgrade comes: the new daemon resumes what ran, then applies the file as a
// reload would. The unchanged instance never moves; the removed one resigns (r2 takes it at once);
// the added one starts.
class TwoSegmentRestartLab : public RestartLab {
protected:
    int segments() const override { return 2; }
};

TEST_F(TwoSegmentRestartLab, AnUpgradeAppliesAChangedConfigOnlyAfterResumingWhatRan) {
    lab_->start(1, lab_->two_segment_config(1, 150));
    lab_->start(2, lab_->two_segment_config(2, 100));
    ASSERT_TRUE(becomes(1, "MASTER", 5s) && becomes(1, "MASTER", 5s, "IPv4", "seg1"));
    ASSERT_TRUE(becomes(2, "BACKUP", 5s) && becomes(2, "BACKUP", 5s, "IPv4", "seg1"));
    const int r1_gateway = transitions(1, 0);
    const int r2_gateway = transitions(2, 0);

    json next = lab_->two_segment_config(1, 150);
    next["instances"].erase(1);  // seg1 goes
    next["instances"].push_back({{"name", "extra"}, {"interface", "vr0"}, {"vrid", 60}, {"priority", 150},
                                 {"advert_interval_ms", 100}, {"vips", {"192.0.2.160/24"}}});
    lab_->write_config(1, next);
    const std::size_t from = lab_->log(1).size();
    const std::string out = xvrrpctl(1, "upgrade");
    ASSERT_EQ(out.rfind("upgraded: pid ", 0), 0u) << out << lab_->log(1).substr(from);
    const std::string log = lab_->log(1).substr(from);
    EXPECT_NE(log.find("upgrade: resuming the 2 routers handed over"), std::string::npos) << log;
    EXPECT_NE(log.find("with the configuration the old daemon runs"), std::string::npos) << log;
    EXPECT_NE(log.find("upgrade: applying the configuration on disk"), std::string::npos) << log;
    EXPECT_NE(log.find("(seg1) removed"), std::string::npos) << log;
    EXPECT_EQ(log.find("(gateway) Entering BACKUP"), std::string::npos) << log;
    EXPECT_TRUE(becomes(2, "MASTER", 1s, "IPv4", "seg1")) << "r1's seg1 resigned: r2 takes it after Skew_Time";
    EXPECT_TRUE(becomes(1, "MASTER", 3s, "IPv4", "extra")) << "the added instance starts";
    std::this_thread::sleep_for(500ms);  // past r2's Master_Down_Interval at 100 ms adverts
    const json s1 = lab_->status(1);
    ASSERT_EQ(s1["instances"].size(), 2u) << s1;
    EXPECT_EQ(s1["instances"][0]["name"], "gateway");
    EXPECT_EQ(s1["instances"][0]["state"], "MASTER");
    EXPECT_EQ(transitions(1, 0), r1_gateway) << "gateway never moved on r1";
    EXPECT_EQ(lab_->state(2), "BACKUP");
    EXPECT_EQ(transitions(2, 0), r2_gateway) << "nor on r2";
    EXPECT_TRUE(client_reaches_vip(*lab_));

    // The new daemon runs the file from now on: a second upgrade finds nothing to apply.
    const std::size_t again = lab_->log(1).size();
    const std::string out2 = xvrrpctl(1, "upgrade");
    ASSERT_EQ(out2.rfind("upgraded: pid ", 0), 0u) << out2;
    EXPECT_EQ(lab_->log(1).find("applying the configuration on disk", again), std::string::npos) << lab_->log(1).substr(again);
    EXPECT_NE(lab_->log(1).find("the old daemon runs the file this one read", again), std::string::npos)
        << "the same text is not handed over: " << lab_->log(1).substr(again);
    EXPECT_EQ(lab_->state(1, "IPv4", "extra"), "MASTER");
}

// A BACKUP waiting out preempt_delay before it takes over from a worse master keeps its wait
// across an upgrade: it preempts when the old daemon would have, not a whole delay after the
// upgrade. r2 (100) MASTER first, then r1 (150, preempt_delay 3 s) at 100 ms adverts, upgraded
// 2 s after its start.
TEST_F(RestartLab, ABackupsPreemptDelayGoesOnAcrossAnUpgrade) {
    lab_->start(2, lab_->config(2, 100, 100));
    ASSERT_TRUE(becomes(2, "MASTER", 8s));
    json c1 = lab_->config(1, 150, 100);
    c1["instances"][0]["preempt_delay_ms"] = 3000;
    const auto t0 = std::chrono::steady_clock::now();
    lab_->start(1, c1);
    ASSERT_TRUE(becomes(1, "BACKUP", 2s));
    std::this_thread::sleep_until(t0 + 2s);
    const std::string out = xvrrpctl(1, "upgrade");
    ASSERT_EQ(out.rfind("upgraded: pid ", 0), 0u) << out;
    // Handed over, the wait ends 3 s after r1 first heard r2 (after t0), then r1's
    // Master_Down_Interval (0.34 s) passes: between t0 + 3.3 s and about t0 + 3.6 s. Dropped at
    // the upgrade: MASTER by about t0 + 2.6 s. Begun again: not before t0 + 5.3 s.
    std::this_thread::sleep_until(t0 + 2900ms);
    EXPECT_EQ(lab_->state(1), "BACKUP") << "the wait is not dropped either";
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(t0 + 4500ms - std::chrono::steady_clock::now());
    EXPECT_TRUE(becomes(1, "MASTER", left)) << "r1 preempts on the old daemon's schedule";
    EXPECT_TRUE(becomes(2, "BACKUP", 1s));
}

// Failures before the new daemon commits leave the running one as it was: a config the new
// binary refuses, and a new daemon killed while the old one waits for it (SIGUSR2 this time).
TEST_F(RestartLab, AFailedUpgradeLeavesTheRunningDaemonAsItWas) {
    ASSERT_NO_FATAL_FAILURE(start_pair());
    const std::string ctl = std::string(XVRRPCTL_PATH) + " -s " + lab_->socket(1);
    const int pid = lab_->status(1)["pid"].get<int>();
    lab_->write_config(1, json{{"instances", "not a list"}});
    const std::string out = lab_->router(1).exec(ctl + " upgrade 2>&1; echo rc=$?");
    EXPECT_NE(out.find("upgrade failed: the new daemon"), std::string::npos) << out;
    EXPECT_NE(out.find("rc=1"), std::string::npos) << out;
    const json after = lab_->status(1);
    ASSERT_FALSE(after.is_null()) << "the control socket is back";
    EXPECT_EQ(after["pid"].get<int>(), pid);
    EXPECT_EQ(after["instances"][0]["state"], "MASTER");
    EXPECT_EQ(after["upgrade"]["failures"], 1);

    // A good config again, but the new daemon is killed as soon as it appears.
    lab_->write_config(1, config(1));
    lab_->signal(1, SIGUSR2);
    std::string killed;
    ASSERT_TRUE(VrrpLab::wait_until([&] {
        // The old daemon's child by name: a pattern on the command line would also match the
        // shell running pgrep, and kill that instead.
        const std::string p = sh("pgrep -P " + std::to_string(pid) + " -x xvrrpd | head -1");
        if (p.empty()) return false;
        sh("kill -9 " + p);
        killed = p;
        return true;
    }, 3s));
    ASSERT_TRUE(VrrpLab::wait_until([&] {
        const json s = lab_->status(1);
        return !s.is_null() && s["upgrade"]["failures"] == 2;
    }, 5s)) << lab_->log(1);
    EXPECT_EQ(lab_->status(1)["pid"].get<int>(), pid);
    EXPECT_EQ(lab_->state(1), "MASTER");
    std::this_thread::sleep_for(4s);
    EXPECT_EQ(lab_->state(2), "BACKUP") << "r1 advertised on";
    EXPECT_TRUE(client_reaches_vip(*lab_));
}

// A new version whose maps differ (here: the pinned VIP map replaced by one of another layout, as
// a binary of another map layout would find it) refuses the upgrade before anything moved: the
// old daemon, which holds its own maps open, carries on as it was.
TEST_F(RestartLab, AMapLayoutMismatchRefusesTheUpgradeAndTheOldDaemonCarriesOn) {
    ASSERT_NO_FATAL_FAILURE(start_pair());
    const int pid = lab_->status(1)["pid"].get<int>();
    const int r1_before = transitions(1);
    const int r2_before = transitions(2);
    const std::string pin = lab_->pin_root(1) + "/" XVRRP_MAP_VIPS;
    ASSERT_EQ(::unlink(pin.c_str()), 0);
    const UniqueFd other(bpf_map_create(BPF_MAP_TYPE_HASH, XVRRP_MAP_VIPS, 24, 12, 64, nullptr));
    ASSERT_GE(other.get(), 0);
    ASSERT_EQ(bpf_obj_pin(other.get(), pin.c_str()), 0);
    const std::size_t from = lab_->log(1).size();
    const std::string out = xvrrpctl(1, "upgrade");
    EXPECT_NE(out.find("upgrade failed: the new daemon"), std::string::npos) << out;
    EXPECT_NE(out.find("rc=1"), std::string::npos) << out;
    const std::string log = lab_->log(1).substr(from);
    EXPECT_NE(log.find("has another layout than this version's"), std::string::npos) << log;
    EXPECT_EQ(log.find("upgrade: resuming"), std::string::npos) << "refused before the handover: " << log;
    expect_served_on(pid, r1_before, r2_before);  // the old daemon's VIP map (its own fd) still serves
}

// The new daemon dies or hangs at the worst moment: it has resumed every router (written the
// dataplane, taken the XDP links, advertised) and not yet committed. The old one (at once, or
// after its 1 s limit) takes everything back: its programs on the links again, r2 never takes
// over, the client's ping loses nothing.
class FailedUpgradeLab : public RestartLab, public ::testing::WithParamInterface<std::string> {};

TEST_P(FailedUpgradeLab, TheOldDaemonTakesEverythingBack) {
    const std::string path = lab_->write_config(1, config(1));
    lab_->start_process(1, {"env", "XVRRP_FAILPOINT=" + GetParam(), VrrpLab::xvrrpd_path(), "-c", path, "--log-level", "debug"},
                        "r1.log");
    lab_->start(2, config(2));
    ASSERT_TRUE(becomes(1, "MASTER", 8s) && becomes(2, "BACKUP", 8s));
    ASSERT_TRUE(becomes(1, "MASTER", 8s, "IPv6"));
    auto xdp_prog = [&] {  // the program on r1's vr0, by id
        const std::string link = lab_->router(1).exec("ip -d link show vr0");
        const auto at = link.find("prog/xdp id ");
        return at == std::string::npos ? std::string() : link.substr(at + 12, link.find(' ', at + 12) - at - 12);
    };
    const std::string prog_before = xdp_prog();
    ASSERT_FALSE(prog_before.empty());
    const int pid = lab_->status(1)["pid"].get<int>();
    const int r1_before = transitions(1);
    const int r2_before = transitions(2);
    lab_->start_ping("192.0.2.100", 300, 0.01);  // 3 s at 10 ms
    std::this_thread::sleep_for(300ms);
    const std::size_t from = lab_->log(1).size();
    const std::string out = xvrrpctl(1, "upgrade");
    EXPECT_NE(out.find("rc=1"), std::string::npos) << out;
    EXPECT_NE(out.find(GetParam() == "upgrade-hang" ? "did not take over within 1 s" : "upgrade failed: the new daemon"),
              std::string::npos)
        << out;
    const std::string log = lab_->log(1).substr(from);
    EXPECT_NE(log.find("upgrade: resuming the 2 routers handed over"), std::string::npos) << "it failed after resuming: " << log;
    EXPECT_EQ(lab_->state(1, "IPv6"), "MASTER");
    EXPECT_EQ(xdp_prog(), prog_before) << "the old daemon's program is on the link again";
    lab_->finish_ping_longest_gap_ms();
    const auto [sent, received] = lab_->ping_counts();
    EXPECT_GT(sent, 250);
    EXPECT_EQ(received, sent);
    expect_served_on(pid, r1_before, r2_before);
}

INSTANTIATE_TEST_SUITE_P(Failpoints, FailedUpgradeLab, ::testing::Values("upgrade-commit", "upgrade-hang"),
                         [](const auto& info) { return info.param == "upgrade-commit" ? std::string("Killed") : std::string("Hung"); });

// The new daemon hangs after resuming (a stalled disk, a stopped process) at 100 ms adverts: the
// old one waits its whole second for the commit, almost three of r2's Master_Down_Intervals.
// Its masters advertise meanwhile, so r2 never takes over and nothing moves twice.
TEST_F(RestartLab, AHungUpgradeAt100msMovesNoVip) {
    json c1 = lab_->config(1, 150, 100), c2 = lab_->config(2, 100, 100);
    c1["global"]["heartbeat_timeout_ms"] = 1000;
    const std::string path = lab_->write_config(1, c1);
    lab_->start_process(1, {"env", "XVRRP_FAILPOINT=upgrade-hang", VrrpLab::xvrrpd_path(), "-c", path, "--log-level", "debug"},
                        "r1.log");
    lab_->start(2, c2);
    ASSERT_TRUE(becomes(1, "MASTER", 8s) && becomes(2, "BACKUP", 8s));
    ASSERT_TRUE(becomes(1, "MASTER", 8s, "IPv6") && becomes(2, "BACKUP", 8s, "IPv6"));
    const int r1_before = transitions(1), r1_v6_before = transitions(1, 1);
    const int r2_before = transitions(2), r2_v6_before = transitions(2, 1);
    const std::size_t r2_from = lab_->log(2).size();
    const std::string out = xvrrpctl(1, "upgrade");
    EXPECT_NE(out.find("did not take over within 1 s"), std::string::npos) << out;
    std::this_thread::sleep_for(500ms);  // past r2's Master_Down_Interval once more, the old daemon back
    EXPECT_EQ(lab_->log(2).find("Entering MASTER", r2_from), std::string::npos) << lab_->log(2).substr(r2_from);
    EXPECT_EQ(transitions(2), r2_before);
    EXPECT_EQ(transitions(2, 1), r2_v6_before);
    EXPECT_EQ(transitions(1), r1_before);
    EXPECT_EQ(transitions(1, 1), r1_v6_before);
    EXPECT_EQ(lab_->state(1), "MASTER");
    EXPECT_TRUE(client_reaches_vip(*lab_));
}

// The backup's daemon upgraded, then killed and started again: it stays BACKUP under the live
// master (its adverts go on being heard although the dataplane reports only changes), r1 never
// hears a challenger. At 100 ms adverts, so a backup that missed the master would take over
// within 360 ms.
TEST_F(RestartLab, TheBackupUpgradedOrRestartedStaysBackup) {
    json c1 = lab_->config(1, 150, 100), c2 = lab_->config(2, 100, 100);
    lab_->start(1, c1);
    lab_->start(2, c2);
    ASSERT_TRUE(becomes(1, "MASTER", 5s) && becomes(2, "BACKUP", 5s));
    ASSERT_TRUE(becomes(2, "BACKUP", 5s, "IPv6"));
    const int r1_before = transitions(1);
    const std::string ctl = std::string(XVRRPCTL_PATH) + " -s " + lab_->socket(2);
    const std::size_t from = lab_->log(2).size();
    for (int k = 0; k < 5; ++k) {
        const std::string out = lab_->router(2).exec(ctl + " upgrade 2>&1");
        ASSERT_EQ(out.rfind("upgraded: pid ", 0), 0u) << out;
        std::this_thread::sleep_for(500ms);  // past Master_Down_Interval
        EXPECT_EQ(lab_->state(2), "BACKUP") << "after upgrade " << k;
        EXPECT_EQ(lab_->state(2, "IPv6"), "BACKUP") << "after upgrade " << k;
    }
    EXPECT_EQ(lab_->log(2).find("Entering MASTER", from), std::string::npos) << lab_->log(2).substr(from);
    const int pid = lab_->status(2)["pid"].get<int>();
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    ASSERT_TRUE(VrrpLab::wait_until([&] { return lab_->status(2).is_null(); }, 2s));
    std::this_thread::sleep_for(100ms);
    lab_->start(2, c2);
    ASSERT_TRUE(VrrpLab::wait_until([&] { return !lab_->status(2).is_null(); }, 3s));
    std::this_thread::sleep_for(600ms);
    EXPECT_EQ(lab_->state(2), "BACKUP");
    EXPECT_EQ(lab_->state(2, "IPv6"), "BACKUP");
    EXPECT_EQ(lab_->log(2).find("Entering MASTER", from), std::string::npos) << lab_->log(2).substr(from);
    EXPECT_EQ(transitions(1), r1_before) << "r1 never moved";
    EXPECT_EQ(vip_holders(*lab_, 1), 1);
}

// Notify scripts still waiting when the upgrade comes (a slow script, three transitions in a row)
// run in the new daemon, in order: none is lost with the old process.
TEST_F(RestartLab, NotifyScriptsWaitingAtTheUpgradeRunAfterIt) {
    ScratchDir dir;
    json c1 = lab_->config(1, 150, 100);
    c1["instances"][0]["vips"] = {"192.0.2.100/24"};
    c1["instances"][0]["notify"] = {{"any", {"/bin/sh", "-c", "sleep 0.4; echo $3 >> " + dir.file("notified"), "sh"}}};
    lab_->start(1, c1);
    lab_->start(2, lab_->config(2, 100, 100));
    ASSERT_TRUE(becomes(1, "MASTER", 5s) && becomes(2, "BACKUP", 5s));
    ASSERT_TRUE(VrrpLab::wait_until([&] { return dir.read("notified") == "BACKUP\nMASTER\n"; }, 5s)) << dir.read("notified");
    const std::string ctl = std::string(XVRRPCTL_PATH) + " -s " + lab_->socket(1);
    lab_->router(1).exec(ctl + " maintenance on >/dev/null");   // FAULT: its script starts
    ASSERT_TRUE(becomes(2, "MASTER", 2s));
    lab_->router(1).exec(ctl + " maintenance off >/dev/null");  // BACKUP, then MASTER (preempts): both wait
    ASSERT_TRUE(becomes(1, "MASTER", 2s));
    const std::string out = lab_->router(1).exec(ctl + " upgrade 2>&1");
    ASSERT_EQ(out.rfind("upgraded: pid ", 0), 0u) << out;
    EXPECT_TRUE(VrrpLab::wait_until([&] { return dir.read("notified") == "BACKUP\nMASTER\nFAULT\nBACKUP\nMASTER\n"; }, 5s))
        << dir.read("notified");
    EXPECT_EQ(lab_->state(1), "MASTER");
}

// The old daemon is killed right after it handed its state over (SIGKILL, an OOM kill): the new
// one, which has everything, runs on as if it had committed. r2 never takes over.
TEST_F(RestartLab, TheOldDaemonKilledAfterHandingOverLeavesTheNewOneRunning) {
    const std::string path = lab_->write_config(1, config(1));
    lab_->start_process(1, {"env", "XVRRP_FAILPOINT=upgrade-handed-over", VrrpLab::xvrrpd_path(), "-c", path, "--log-level", "debug"},
                        "r1.log");
    lab_->start(2, config(2));
    ASSERT_TRUE(becomes(1, "MASTER", 8s) && becomes(2, "BACKUP", 8s));
    const int pid = lab_->status(1)["pid"].get<int>();
    const int r1_before = transitions(1);
    const int r2_before = transitions(2);
    const std::size_t from = lab_->log(1).size();
    const std::string out = xvrrpctl(1, "upgrade");
    EXPECT_EQ(out.rfind("upgraded: pid " + std::to_string(pid) + " -> ", 0), 0u) << "the new daemon answers: " << out;
    ASSERT_TRUE(VrrpLab::wait_until([&] {
        const json s = lab_->status(1);
        return !s.is_null() && s["pid"].get<int>() != pid;
    }, 3s)) << lab_->log(1).substr(from);
    // Killed at the failpoint, the old daemon never read the commit: either the new one found
    // it gone ("the old daemon is gone") or its commit went to a socket nobody read again. Which
    // of the two is a race of the kernel's (how soon the killed process's sockets close), and
    // the new daemon runs on after either.
    ASSERT_TRUE(VrrpLab::wait_until([&] { return VrrpLab::process_gone(pid); }, 3s)) << "the old daemon was killed";
    const std::string log = lab_->log(1).substr(from);
    EXPECT_EQ(log.find("exits without resigning"), std::string::npos) << "the old daemon saw no commit: " << log;
    EXPECT_NE(log.find("upgrade: took over (pid "), std::string::npos) << log;
    EXPECT_EQ(lab_->state(1), "MASTER");
    std::this_thread::sleep_for(4s);  // past r2's Master_Down_Interval (3.6 s)
    EXPECT_EQ(transitions(2), r2_before) << "r2 never left BACKUP";
    EXPECT_EQ(transitions(1), r1_before);
    EXPECT_TRUE(client_reaches_vip(*lab_));
}

// Without a heartbeat timeout (the fail-safe off) an upgrade resumes all the same: the handover,
// not the heartbeat's age, says the dataplane is live.
TEST_F(RestartLab, AnUpgradeWithoutAHeartbeatTimeoutResumesToo) {
    json c1 = config(1);
    c1["global"]["heartbeat_timeout_ms"] = 0;
    lab_->start(1, c1);
    lab_->start(2, config(2));
    ASSERT_TRUE(becomes(1, "MASTER", 8s) && becomes(2, "BACKUP", 8s));
    const int r1_before = transitions(1);
    const int r2_before = transitions(2);
    const std::size_t from = lab_->log(1).size();
    const std::string out = xvrrpctl(1, "upgrade");
    ASSERT_EQ(out.rfind("upgraded: pid ", 0), 0u) << out;
    EXPECT_NE(lab_->log(1).find("upgrade: resuming the 2 routers handed over", from), std::string::npos) << lab_->log(1).substr(from);
    EXPECT_EQ(lab_->state(1), "MASTER");
    EXPECT_EQ(transitions(1), r1_before);
    std::this_thread::sleep_for(4s);
    EXPECT_EQ(transitions(2), r2_before) << "r2 never left BACKUP";
}

}  // namespace
}  // namespace xvrrp::test
