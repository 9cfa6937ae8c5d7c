// The metrics endpoint end to end: scraped from the client's namespace, it passes `promtool check
// metrics`, says what `xvrrpctl status --json` says, its counters never go back across reloads
// (one that restarts the router included) or an upgrade, and slow clients hold none of the
// daemon's adverts.
#include <chrono>
#include <future>
#include <map>
#include <thread>

#include "daemon_lab.hpp"

namespace xvrrp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

const std::string kListen = VrrpLab::router_ip(1) + ":9650";
// A path with a regex metacharacter: served as written, nothing else matches it.
const std::string kPath = "/vrrp.metrics";
const std::string kUrl = "http://" + kListen + kPath;

// "name{labels}" -> value, from the exposition's sample lines.
std::map<std::string, double> samples(const std::string& text) {
    std::map<std::string, double> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        const auto space = line.rfind(' ');
        out[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
    return out;
}

std::string labels_of(const json& inst) {
    return "{iname=\"" + inst["name"].get<std::string>() + (inst["family"] == "IPv6" ? "/v6" : "") + "\",family=\"" +
           inst["family"].get<std::string>() + "\",interface=\"" + inst["interface"].get<std::string>() + "\",vrid=\"" +
           std::to_string(inst["vrid"].get<int>()) + "\"}";
}

int state_number(const std::string& s) {
    return s == "BACKUP" ? 1 : s == "MASTER" ? 2 : s == "FAULT" ? 3 : 0;
}

class MetricsLab : public DaemonLab {
protected:
    std::string scrape_text() { return lab_->client().exec("curl -s -S --max-time 5 " + kUrl); }

    json metrics_config(int i, int priority, int interval_ms) {
        json c = lab_->config(i, priority, interval_ms);
        if (i == 1) {
            c["global"]["metrics"] = {{"listen", kListen}, {"path", kPath}};
            // A check of the endpoint itself: a tracker series and a duration histogram.
            c["trackers"] = {{"metrics", {{"type", "tcp"}, {"address", VrrpLab::router_ip(1)}, {"port", 9650}, {"interval_ms", 200}}}};
            c["instances"][0]["track"] = {{{"tracker", "metrics"}, {"weight", -10}}};
        }
        return c;
    }

    // before <= scraped <= after for every counter the status and the metrics share; gauges equal.
    void expect_agree(const json& before, const std::map<std::string, double>& m, const json& after) {
        ASSERT_EQ(before["instances"].size(), after["instances"].size());
        for (std::size_t k = 0; k < before["instances"].size(); ++k) {
            const json& b = before["instances"][k];
            const json& a = after["instances"][k];
            const std::string l = labels_of(b);
            SCOPED_TRACE(l);
            ASSERT_TRUE(m.count("xvrrp_vrrp_state" + l)) << "no series for it";
            EXPECT_EQ(m.at("xvrrp_vrrp_state" + l), state_number(a["state"]));
            EXPECT_EQ(m.at("xvrrp_vrrp_priority" + l), a["priority"].get<int>());
            EXPECT_EQ(m.at("xvrrp_vrrp_base_priority" + l), a["base_priority"].get<int>());
            for (const auto& [metric, counter] : std::map<std::string, std::string>{
                     {"xvrrp_advertisements_sent_total", "adverts_sent"},
                     {"xvrrp_advertisements_received_total", "adverts_valid"},
                     {"xvrrp_become_master_total", "become_master"},
                     {"xvrrp_release_master_total", "release_master"},
                     {"xvrrp_priority_zero_sent_total", "priority_zero_sent"},
                     {"xvrrp_priority_zero_received_total", "adverts_priority_zero"},
                     {"xvrrp_arp_replies_total", "arp_replied"},
                     {"xvrrp_nd_replies_total", "ns_replied"}}) {
                const double v = m.at(metric + l);
                EXPECT_LE(b["counters"][counter].get<double>(), v) << metric;
                EXPECT_LE(v, a["counters"][counter].get<double>()) << metric;
            }
        }
    }
};

TEST_F(MetricsLab, ScrapePassesPromtoolAndSaysWhatTheStatusSays) {
    lab_->start(1, metrics_config(1, 150, 100));
    lab_->start(2, metrics_config(2, 100, 100));
    ASSERT_TRUE(VrrpLab::wait_until([&] { return lab_->state(1) == "MASTER" && lab_->state(1, "IPv6") == "MASTER"; }, 5s));
    // Some ARP for the VIP answered by XDP, so that counter is not zero on both sides.
    lab_->client().exec("ping -c 2 -i 0.2 -W 1 192.0.2.100 >/dev/null");
    std::this_thread::sleep_for(1200ms);  // a counter publication and a check or more

    // The loop publishes its counters once a second: a scrape says at least what the status said
    // more than a second before it, and at most what it says after.
    const json before = lab_->status(1);
    std::this_thread::sleep_for(1100ms);
    const std::string text = scrape_text();
    const json after = lab_->status(1);
    ASSERT_FALSE(text.empty());

    const std::string promtool = std::string(XVRRP_SOURCE_DIR) + "/.tools/promtool";
    ASSERT_EQ(sh("test -x " + promtool + " && echo yes"), "yes\n") << promtool << " missing: run scripts/install-deps.sh";
    ScratchDir dir;
    dir.write("metrics.txt", text);
    EXPECT_EQ(sh(promtool + " check metrics < " + dir.file("metrics.txt") + " 2>&1; echo rc=$?"), "rc=0\n");

    const auto m = samples(text);
    expect_agree(before, m, after);
    EXPECT_EQ(m.at("xvrrp_tracker_up{tracker=\"metrics\"}"), 1);
    EXPECT_GE(m.at("xvrrp_check_duration_seconds_count{tracker=\"metrics\"}"), 1);
    EXPECT_GT(m.at("xvrrp_arp_replies_total" + labels_of(after["instances"][0])), 0);
    EXPECT_LT(m.at("xvrrp_heartbeat_age_seconds"), 5.0);
    EXPECT_EQ(m.at("xvrrp_build_info{version=\"0.1.0\"}"), 1);
    EXPECT_GT(m.at("process_open_fds"), 5);
    EXPECT_TRUE(m.count("xvrrp_dataplane_packets_total{reason=\"advert_valid\"}"));

    // The server's threads run below the loop (nice 10), the loop at the daemon's own (0).
    const std::string nices = sh("for t in /proc/" + std::to_string(lab_->pid(1)) +
                                 "/task/*; do awk '{print $19}' $t/stat; done | sort | uniq -c | awk '{print $2\"x\"$1}' | tr '\\n' ' '");
    EXPECT_EQ(nices, "0x1 10x5 ") << "nice x threads: the loop; the listener and 4 workers";

    // A path other than the configured one is not served (the dot is a dot, not "any character").
    EXPECT_EQ(lab_->client().exec("curl -s -o /dev/null -w '%{http_code}' http://" + kListen + "/other"), "404");
    EXPECT_EQ(lab_->client().exec("curl -s -o /dev/null -w '%{http_code}' http://" + kListen + "/vrrpXmetrics"), "404");
}

TEST_F(MetricsLab, CountersNeverGoBackAcrossReloadsAndAnUpgrade) {
    json c1 = metrics_config(1, 150, 100);
    lab_->start(1, c1);
    lab_->start(2, metrics_config(2, 100, 100));
    ASSERT_TRUE(VrrpLab::wait_until([&] { return lab_->state(1) == "MASTER" && lab_->state(1, "IPv6") == "MASTER"; }, 5s));
    std::this_thread::sleep_for(1200ms);
    const auto first = samples(scrape_text());
    auto expect_no_decrease = [](const std::map<std::string, double>& earlier, const std::map<std::string, double>& later) {
        for (const auto& [series, value] : earlier) {
            if (series.find("_total") == std::string::npos && series.find("_count") == std::string::npos) continue;
            if (series.starts_with("process_")) continue;
            ASSERT_TRUE(later.count(series)) << series << " went away";
            EXPECT_GE(later.at(series), value) << series;
        }
    };

    // New VIPs restart the routers (their identity changed): counters go on from their last life.
    c1["instances"][0]["vips"] = {"192.0.2.101/24", "2001:db8::101/64"};
    lab_->write_config(1, c1);
    lab_->signal(1, SIGHUP);
    ASSERT_TRUE(VrrpLab::wait_until([&] { return lab_->log(1).find("reload: ") != std::string::npos; }, 5s));
    ASSERT_TRUE(VrrpLab::wait_until([&] { return lab_->state(1) == "MASTER" && lab_->state(1, "IPv6") == "MASTER"; }, 5s));
    const auto second = samples(scrape_text());
    expect_no_decrease(first, second);
    EXPECT_EQ(second.at("xvrrp_config_reloads_total{result=\"success\"}"), 1);
    const std::string gw = labels_of(lab_->status(1)["instances"][0]);
    EXPECT_GE(second.at("xvrrp_become_master_total" + gw), 2) << "its first life's and this one's";

    // An upgrade: the new process serves the port, and carries the counts on.
    const std::string out = lab_->router(1).exec(std::string(XVRRPCTL_PATH) + " -s " + lab_->socket(1) + " upgrade 2>&1");
    ASSERT_EQ(out.rfind("upgraded: pid ", 0), 0u) << out;
    std::this_thread::sleep_for(1200ms);
    const auto upgraded = samples(scrape_text());
    expect_no_decrease(second, upgraded);
    EXPECT_EQ(upgraded.at("xvrrp_config_reloads_total{result=\"success\"}"), 1) << "carried over";

    // A bad file: counted as a failure, nothing else moves back.
    lab_->write_config(1, json{{"instances", "not a list"}});
    sh("kill -HUP " + std::to_string(lab_->status(1)["pid"].get<int>()));  // the upgraded process
    ASSERT_TRUE(VrrpLab::wait_until([&] { return samples(scrape_text())["xvrrp_config_reloads_total{result=\"failure\"}"] == 1; }, 5s));
    expect_no_decrease(upgraded, samples(scrape_text()));
}

// Clients that read one byte a second, or send their request one byte a second, hold a worker of
// the metrics server, never the loop: a 10 ms master goes on advertising (the backup never takes
// over) and the control socket answers meanwhile; once they are cut off, scrapes work again.
TEST_F(MetricsLab, SlowClientsDelayNoAdvert) {
    lab_->start(1, metrics_config(1, 150, 10));
    lab_->start(2, metrics_config(2, 100, 10));
    ASSERT_TRUE(VrrpLab::wait_until([&] { return lab_->state(1) == "MASTER" && lab_->state(2) == "BACKUP"; }, 5s));
    const json before = lab_->status(2);
    const json master_before = lab_->status(1);
    const std::string slow_reader = R"(python3 -c '
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
s.connect(("192.0.2.1", 9650))
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: r1\r\n\r\n")
got = 0
for _ in range(6):
    got += len(s.recv(1))
    time.sleep(1)
print(got)
')";
    const std::string slow_sender = R"(python3 -c '
import socket, time
s = socket.socket()
s.connect(("192.0.2.1", 9650))
for c in b"GET /m":
    try:
        s.send(bytes([c]))
    except OSError:
        break
    time.sleep(1)
print("done")
' 2>&1 | tail -1)";
    std::vector<std::future<std::string>> clients;
    for (const std::string* cmd : {&slow_reader, &slow_reader, &slow_sender, &slow_sender})
        clients.push_back(std::async(std::launch::async, [this, cmd] { return lab_->client().exec(*cmd); }));
    bool status_answered = true;
    for (int k = 0; k < 10; ++k) {  // while they hold the workers
        std::this_thread::sleep_for(500ms);
        status_answered = status_answered && !lab_->status(1).is_null();
    }
    for (auto& c : clients) c.wait();
    EXPECT_EQ(clients[0].get(), "6\n") << "the slow reader was served a byte at a time";
    EXPECT_TRUE(status_answered);
    const json after = lab_->status(2);
    EXPECT_EQ(after["instances"][0]["state"], "BACKUP");
    EXPECT_EQ(after["instances"][0]["transitions"], before["instances"][0]["transitions"])
        << "the backup never missed the master's 10 ms adverts";
    EXPECT_EQ(lab_->status(1)["instances"][0]["transitions"], master_before["instances"][0]["transitions"]);
    // The server cut them off (5 s) and serves again.
    EXPECT_TRUE(VrrpLab::wait_until([&] { return scrape_text().find("xvrrp_vrrp_state{") != std::string::npos; }, 8s));
}

TEST_F(MetricsLab, AnAddressNotOnTheHostIsRefusedAtStart) {
    json c = lab_->config(1, 150);
    c["global"]["metrics"] = {{"listen", "203.0.113.9:9650"}};
    lab_->start(1, c);
    EXPECT_NE(lab_->wait_exit(1, 5s), 0);
    EXPECT_NE(lab_->log(1).find("global.metrics: cannot listen on 203.0.113.9:9650"), std::string::npos) << lab_->log(1);
}

}  // namespace
}  // namespace xvrrp::test
