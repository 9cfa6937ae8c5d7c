// Trackers in the lab: real scripts, files and TCP connects move the effective priority (the VIP
// moves to the other router) or put a router in FAULT, and back.
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "daemon_lab.hpp"

namespace xvrrp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

using TrackingLab = DaemonLab;

json instance_of(const json& status, const std::string& family = "IPv4") {
    for (const auto& i : status["instances"])
        if (i["family"] == family) return i;
    return {};
}

TEST_F(TrackingLab, AFailingScriptLowersThePriorityAndTheVipMovesAndComesBack) {
    ScratchDir dir;
    json c1 = lab_->config(1, 110);
    c1["instances"][0]["vips"] = {"192.0.2.100/24"};
    c1["trackers"] = {{"service", {{"type", "script"},
                                   {"command", {"/bin/sh", "-c", "test ! -e " + dir.file("down")}},
                                   {"interval_ms", 100},
                                   {"weight", -20}}}};
    c1["instances"][0]["track"] = {"service"};
    json c2 = lab_->config(2, 100);
    c2["instances"][0]["vips"] = {"192.0.2.100/24"};
    lab_->start(1, c1);
    lab_->start(2, c2);
    ASSERT_TRUE(becomes(1, "MASTER") && becomes(2, "BACKUP"));

    dir.write("down", "");  // 110 - 20 = 90 < 100: r2 preempts
    EXPECT_TRUE(becomes(2, "MASTER"));
    EXPECT_TRUE(becomes(1, "BACKUP"));
    const json r1 = instance_of(lab_->status(1));
    EXPECT_EQ(r1["priority"], 90);
    EXPECT_EQ(r1["base_priority"], 110);
    ASSERT_EQ(r1["track"].size(), 1u);
    EXPECT_EQ(r1["track"][0]["delta"], -20);
    EXPECT_TRUE(VrrpLab::wait_until([&] { return vip_holders(*lab_, 2) == 1; }, 2s));
    EXPECT_TRUE(client_reaches_vip(*lab_));
    const json r2 = instance_of(lab_->status(2));
    EXPECT_EQ(r2["master"]["self"], true);

    dir.remove("down");  // 110 again: r1 preempts back
    EXPECT_TRUE(becomes(1, "MASTER"));
    EXPECT_TRUE(becomes(2, "BACKUP"));
    EXPECT_EQ(instance_of(lab_->status(1))["priority"], 110);
    EXPECT_TRUE(VrrpLab::wait_until([&] { return vip_holders(*lab_, 2) == 1; }, 2s));
}

TEST_F(TrackingLab, AFileWithWeightZeroIsFaultAndItsClearingStartsOver) {
    ScratchDir dir;
    dir.write("maintenance", "0\n");
    json c1 = lab_->config(1, 150);
    c1["trackers"] = {{"maintenance", {{"type", "file"}, {"path", dir.file("maintenance")}, {"weight", 0}}}};
    c1["instances"][0]["track"] = {"maintenance"};
    lab_->start(1, c1);
    lab_->start(2, lab_->config(2, 100));
    ASSERT_TRUE(becomes(1, "MASTER") && becomes(2, "BACKUP"));

    dir.write("maintenance", "1\n");  // inotify: no polling interval to wait for
    EXPECT_TRUE(becomes(1, "FAULT", 2s));
    EXPECT_TRUE(becomes(2, "MASTER", 2s)) << "r1 resigned with priority 0: r2 takes over after its skew";
    const json r1 = instance_of(lab_->status(1));
    ASSERT_EQ(r1["fault_reasons"].size(), 1u);
    EXPECT_NE(r1["fault_reasons"][0].get<std::string>().find("tracker maintenance reads 1"), std::string::npos)
        << r1["fault_reasons"];
    EXPECT_TRUE(VrrpLab::wait_until([&] { return vip_holders(*lab_, 2) == 1; }, 2s));
    std::this_thread::sleep_for(500ms);  // five intervals: FAULT sends nothing, so r2 stays
    EXPECT_EQ(lab_->state(1), "FAULT");
    EXPECT_EQ(lab_->state(2), "MASTER");

    dir.write("maintenance", "0\n");
    EXPECT_TRUE(becomes(1, "MASTER", 3s)) << "out of FAULT as BACKUP, then preempts with 150";
    EXPECT_TRUE(becomes(2, "BACKUP"));
}

TEST_F(TrackingLab, ATcpCheckHoldsFaultUntilSomethingListens) {
    // r1 checks a port on its own address where nothing listens yet: refused, FAULT from the start.
    json c1 = lab_->config(1, 150);
    c1["trackers"] = {{"web", {{"type", "tcp"}, {"address", VrrpLab::router_ip(1)}, {"port", 8080}, {"interval_ms", 100}}}};
    c1["instances"][0]["track"] = {"web"};
    lab_->start(2, lab_->config(2, 100));
    ASSERT_TRUE(becomes(2, "MASTER"));
    lab_->start(1, c1);
    EXPECT_TRUE(becomes(1, "FAULT", 3s));
    std::this_thread::sleep_for(400ms);
    EXPECT_EQ(lab_->state(2), "MASTER");
    const json s = lab_->status(1);
    ASSERT_EQ(s["trackers"].size(), 1u);
    EXPECT_EQ(s["trackers"][0]["up"], false);
    EXPECT_NE(s["trackers"][0]["detail"].get<std::string>().find("refused"), std::string::npos) << s["trackers"];

    lab_->start_helper(1, {"python3", "-c",
                            "import socket,time\n"
                            "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                            "s.bind(('" + VrrpLab::router_ip(1) + "', 8080)); s.listen(64)\n"
                            "end=time.time()+60\n"
                            "while time.time()<end:\n"
                            "    s.settimeout(1)\n"
                            "    try: s.accept()[0].close()\n"
                            "    except OSError: pass\n"},
                        "listener.log");
    EXPECT_TRUE(becomes(1, "MASTER", 5s)) << "listening: up, out of FAULT, preempts with 150";
    EXPECT_TRUE(becomes(2, "BACKUP"));
}

TEST_F(TrackingLab, AnIcmpCheckMovesTheVipWhenItsTargetStopsAnswering) {
    // r1 (110) pings r2's IPv4 address, weight -20; r2 stops answering (its namespace's sysctl).
    json c1 = lab_->config(1, 110);
    c1["instances"][0]["vips"] = {"192.0.2.100/24"};
    c1["trackers"] = {{"ping", {{"type", "icmp"}, {"address", VrrpLab::router_ip(2)}, {"interval_ms", 100}, {"fall", 2},
                                {"weight", -20}}}};
    c1["instances"][0]["track"] = {"ping"};
    json c2 = lab_->config(2, 100);
    c2["instances"][0]["vips"] = {"192.0.2.100/24"};
    lab_->start(1, c1);
    lab_->start(2, c2);
    ASSERT_TRUE(becomes(1, "MASTER") && becomes(2, "BACKUP"));
    ASSERT_TRUE(VrrpLab::wait_until([&] { return lab_->status(1)["trackers"][0]["checks"].get<int>() >= 3; }, 3s));
    EXPECT_EQ(lab_->status(1)["trackers"][0]["up"], true) << lab_->status(1)["trackers"];
    EXPECT_EQ(lab_->status(1)["trackers"][0]["failures"], 0);

    lab_->router(2).exec("sysctl -qw net.ipv4.icmp_echo_ignore_all=1");  // r2's namespace only
    EXPECT_TRUE(becomes(2, "MASTER", 3s)) << "110 - 20 = 90 < 100 after two missed replies";
    EXPECT_EQ(lab_->status(1)["trackers"][0]["detail"], "no reply");
    lab_->router(2).exec("sysctl -qw net.ipv4.icmp_echo_ignore_all=0");
    EXPECT_TRUE(becomes(1, "MASTER", 3s));
}

// Three icmp trackers share one raw socket per family: each hears only its own replies (r2
// answers on IPv4 and IPv6, nobody has 192.0.2.99), and r1's daemon holds two raw sockets in all.
TEST_F(TrackingLab, IcmpTrackersShareOneSocketPerFamilyAndTellTheirRepliesApart) {
    json c1 = lab_->config(1, 110);
    auto ping = [](const std::string& address) { return json{{"type", "icmp"}, {"address", address}, {"interval_ms", 100}}; };
    c1["trackers"] = {{"r2", ping(VrrpLab::router_ip(2))}, {"r2v6", ping("2001:db8::2")}, {"nobody", ping("192.0.2.99")}};
    c1["instances"][0]["track"] = {{{"tracker", "r2"}, {"weight", -1}}, {{"tracker", "r2v6"}, {"weight", -1}},
                                   {{"tracker", "nobody"}, {"weight", -1}}};
    lab_->router(2).exec("ip addr add 2001:db8::2/64 dev vr0 nodad");
    lab_->router(1).exec("ip addr add 2001:db8::1/64 dev vr0 nodad");
    lab_->start(1, c1);
    lab_->start(2, lab_->config(2, 100));
    auto view = [&](const std::string& name) {
        const json status = lab_->status(1);  // held: a range-for over a temporary's member dangles
        if (status.contains("trackers"))
            for (const auto& t : status["trackers"])
                if (t["name"] == name) return t;
        return json{{"checks", 0}};
    };
    ASSERT_TRUE(VrrpLab::wait_until([&] {
        return view("r2")["checks"].get<int>() >= 5 && view("r2v6")["checks"].get<int>() >= 5 && view("nobody")["checks"].get<int>() >= 5;
    }, 5s)) << lab_->status(1)["trackers"];
    EXPECT_EQ(view("r2")["up"], true);
    EXPECT_EQ(view("r2v6")["up"], true) << view("r2v6");
    EXPECT_EQ(view("nobody")["up"], false);
    EXPECT_EQ(view("nobody")["detail"], "no reply");
    EXPECT_EQ(lab_->status(1)["instances"][0]["priority"], 109) << "only the silent one counts";
    const std::string raw = lab_->router(1).exec("ss -w -a -n -p");
    std::size_t sockets = 0;
    for (auto at = raw.find("xvrrpd"); at != std::string::npos; at = raw.find("xvrrpd", at + 1)) ++sockets;
    EXPECT_EQ(sockets, 2u) << raw;
}

// A process tracker with weight 0: FAULT while the service is not running, back when it runs.
// (Inside a namespace the proc connector is not there: the tracker counts every interval.)
TEST_F(TrackingLab, AProcessTrackerIsFaultWhileItsServiceIsNotRunning) {
    ScratchDir dir;
    const std::string name = "xvrrp-svc" + std::to_string(::getpid() % 100000);
    std::filesystem::copy_file("/bin/sleep", dir.file(name));
    json c1 = lab_->config(1, 150);
    c1["trackers"] = {{"svc", {{"type", "process"}, {"name", name}, {"interval_ms", 100}}}};
    c1["instances"][0]["track"] = {"svc"};
    lab_->start(1, c1);
    lab_->start(2, lab_->config(2, 100));
    EXPECT_TRUE(becomes(1, "FAULT"));
    EXPECT_TRUE(becomes(2, "MASTER"));
    lab_->start_helper(1, {dir.file(name), "600"}, "svc.log");
    EXPECT_TRUE(becomes(1, "MASTER", 5s)) << "the service runs: out of FAULT, and 150 preempts";
    sh("pkill -x " + name);
    EXPECT_TRUE(becomes(1, "FAULT", 3s));
    EXPECT_TRUE(becomes(2, "MASTER", 3s));
}

// Scripts as another user: a check that passes only as nobody keeps r1 out of FAULT, and with
// global.script_user the notify scripts run as nobody too.
TEST_F(TrackingLab, ScriptsRunAsTheirUser) {
    ScratchDir dir;
    ::chmod(dir.file("").c_str(), 0777);  // nobody writes its notify log here
    json c1 = lab_->config(1, 150);
    c1["instances"][0]["vips"] = {"192.0.2.100/24"};
    c1["global"]["script_user"] = "nobody";
    c1["trackers"] = {{"as_nobody", {{"type", "script"}, {"command", {"/bin/sh", "-c", "test \"$(id -u)\" = 65534"}},
                                     {"interval_ms", 100}}}};
    c1["instances"][0]["track"] = {"as_nobody"};
    c1["instances"][0]["notify"] = {{"master", {"/bin/sh", "-c", "id -un > " + dir.file("who")}}};
    lab_->start(1, c1);
    ASSERT_TRUE(becomes(1, "MASTER")) << lab_->status(1)["trackers"];
    EXPECT_TRUE(VrrpLab::wait_until([&] { return dir.read("who") == "nobody\n"; }, 3s)) << dir.read("who");
    // The same check as root fails: the user is what made it pass.
    c1["trackers"]["as_nobody"]["user"] = "root";
    lab_->write_config(1, c1);
    lab_->signal(1, SIGHUP);
    EXPECT_TRUE(becomes(1, "FAULT", 3s));
}

TEST_F(TrackingLab, AnInterfaceTrackerWithADelayAndAWeight) {
    // A veth pair of r1's own (one command each: exec runs one command in the namespace).
    lab_->router(1).exec("ip link add trk0 type veth peer name trk1");
    lab_->router(1).exec("ip link set trk1 up");
    lab_->router(1).exec("ip link set trk0 up");
    json c1 = lab_->config(1, 110);
    c1["trackers"] = {{"uplink", {{"type", "interface"}, {"name", "trk0"}, {"down_delay_ms", 300}}}};
    c1["instances"][0]["track"] = {{{"tracker", "uplink"}, {"weight", -30}}};
    lab_->start(1, c1);
    lab_->start(2, lab_->config(2, 100));
    ASSERT_TRUE(becomes(1, "MASTER") && becomes(2, "BACKUP"));

    // A flap shorter than the delay changes nothing.
    lab_->router(1).exec("ip link set trk0 down");
    std::this_thread::sleep_for(100ms);
    lab_->router(1).exec("ip link set trk0 up");
    std::this_thread::sleep_for(600ms);
    EXPECT_EQ(instance_of(lab_->status(1))["priority"], 110);
    EXPECT_EQ(lab_->state(1), "MASTER");

    lab_->router(1).exec("ip link set trk0 down");
    EXPECT_TRUE(becomes(2, "MASTER", 3s)) << "80 < 100 once the delay has passed";
    EXPECT_EQ(instance_of(lab_->status(1))["priority"], 80);
    lab_->router(1).exec("ip link set trk0 up");
    EXPECT_TRUE(becomes(1, "MASTER", 3s));
}

TEST_F(TrackingLab, MaintenanceResignsAndTheBackupTakesOverAtOnce) {
    lab_->start(1, lab_->config(1, 150, 1000));  // 1 s adverts: only a resignation is this quick
    lab_->start(2, lab_->config(2, 100, 1000));
    ASSERT_TRUE(becomes(1, "MASTER") && becomes(2, "BACKUP", 8s));
    const auto ctl = std::string(XVRRPCTL_PATH) + " -s " + lab_->socket(1) + " maintenance ";
    EXPECT_NE(sh_status(ctl + "on nosuch"), 0) << "an unknown instance is an error";
    EXPECT_EQ(lab_->state(1), "MASTER");
    EXPECT_NE(sh(ctl + "on gateway").find("gateway: maintenance on"), std::string::npos);
    // A resignation: r2 waits Skew_Time (0.6 s); without the priority-0 advert it would wait
    // Master_Down_Interval (3.6 s), past this limit.
    EXPECT_TRUE(becomes(2, "MASTER", 2s));
    EXPECT_EQ(lab_->state(1), "FAULT");
    EXPECT_EQ(lab_->status(1)["instances"][0]["fault_reasons"][0], "maintenance (xvrrpctl)");
    sh(ctl + "off");
    EXPECT_TRUE(becomes(1, "MASTER", 8s)) << "back as BACKUP, then preempts with 150";
}

// keepalived on r2 with the same check as a weighted vrrp_script (weight -20, like our tracker).
std::string keepalived_tracking(int priority, const std::string& down_file) {
    return "global_defs {\n  router_id r2\n  enable_script_security\n  script_user root\n}\n"
           "vrrp_script chk {\n  script \"/usr/bin/test ! -e " + down_file + "\"\n  interval 1\n  weight -20\n"
           "  rise 1\n  fall 1\n}\n"
           "vrrp_instance gateway {\n  version 3\n  state BACKUP\n  interface vr0\n  virtual_router_id 51\n"
           "  priority " + std::to_string(priority) + "\n  advert_int 0.1\n  track_script {\n    chk\n  }\n"
           "  virtual_ipaddress {\n    192.0.2.100/24\n  }\n}\n";
}

json xvrrpd_tracking(VrrpLab& lab, int priority, const std::string& down_file) {
    json c = lab.config(1, priority);
    c["instances"][0]["vips"] = {"192.0.2.100/24"};
    c["trackers"] = {{"chk", {{"type", "script"}, {"command", {"/usr/bin/test", "!", "-e", down_file}}, {"weight", -20}}}};
    c["instances"][0]["track"] = {"chk"};
    return c;
}

bool have_keepalived() { return std::system("command -v keepalived >/dev/null") == 0; }

// The same failing check lowers keepalived's advertised priority and xvrrpd's by the same 20.
TEST_F(TrackingLab, KeepalivedAndXvrrpdAdvertiseTheSameTrackedPriority) {
    if (!have_keepalived()) GTEST_SKIP() << "keepalived is not installed";
    ScratchDir dir;
    const std::string down = dir.file("down");
    // keepalived (100, tracked) masters; xvrrpd (50) hears its priority.
    lab_->start_keepalived(2, keepalived_tracking(100, down));
    json c1 = lab_->config(1, 50);
    c1["instances"][0]["vips"] = {"192.0.2.100/24"};
    lab_->start(1, c1);
    auto heard = [&] {
        const json m = lab_->status(1)["instances"][0]["master"];
        return m.is_object() ? m.value("priority", -1) : -1;
    };
    ASSERT_TRUE(VrrpLab::wait_until([&] { return heard() == 100; }, 8s)) << lab_->status(1);
    dir.write("down", "");
    EXPECT_TRUE(VrrpLab::wait_until([&] { return heard() == 80; }, 5s)) << "keepalived: 100 - 20";
    EXPECT_EQ(lab_->state(1), "BACKUP");
}

TEST_F(TrackingLab, XvrrpdsTrackedPriorityIsWhatKeepalivedPreemptsOn) {
    if (!have_keepalived()) GTEST_SKIP() << "keepalived is not installed";
    ScratchDir dir;
    const std::string down = dir.file("down");
    // xvrrpd (100, tracked) masters; keepalived (90, its own check passing) waits.
    lab_->start(1, xvrrpd_tracking(*lab_, 100, down));
    ASSERT_TRUE(becomes(1, "MASTER"));
    lab_->start_keepalived(2, keepalived_tracking(90, dir.file("never")));
    std::this_thread::sleep_for(1s);
    ASSERT_EQ(lab_->state(1), "MASTER") << "90 does not preempt 100";
    dir.write("down", "");  // xvrrpd: 100 - 20 = 80 < 90: keepalived preempts
    EXPECT_TRUE(becomes(1, "BACKUP", 5s));
    EXPECT_EQ(instance_of(lab_->status(1))["priority"], 80);
    EXPECT_TRUE(VrrpLab::wait_until([&] { return lab_->log(2).find("(gateway) Entering MASTER STATE") != std::string::npos; }, 3s));
    EXPECT_EQ(instance_of(lab_->status(1))["master"]["priority"], 90);
    dir.remove("down");  // 100 again: xvrrpd preempts keepalived
    EXPECT_TRUE(becomes(1, "MASTER", 5s));
}

TEST_F(TrackingLab, CheckRefusesAScriptOthersCouldReplace) {
    ScratchDir dir;
    const std::string script = dir.file("check.sh");
    std::ofstream(script) << "#!/bin/sh\nexit 0\n";
    ::chmod(script.c_str(), 0755);
    json c = lab_->config(1, 150);
    c["trackers"] = {{"chk", {{"type", "script"}, {"command", {script}}}}};
    c["instances"][0]["track"] = {"chk"};
    const std::string path = lab_->write_config(1, c);
    const std::string check = VrrpLab::xvrrpd_path() + " -c " + path + " --check 2>&1";
    EXPECT_EQ(sh_status(check), 0);
    ::chmod(script.c_str(), 0777);
    EXPECT_NE(sh_status(check), 0);
    EXPECT_EQ(sh_status(check + " | grep -qF 'trackers.chk.command: refusing to run " + script + " as root: " + script +
                        " is writable by anyone'"),
              0)
        << "the message names the tracker, the path and why";
}

TEST_F(TrackingLab, AReloadWithAScriptOthersCouldReplaceChangesNothing) {
    ScratchDir dir;
    const std::string script = dir.file("check.sh");
    std::ofstream(script) << "#!/bin/sh\nexit 1\n";
    ::chmod(script.c_str(), 0755);
    json c1 = lab_->config(1, 150);
    lab_->start(1, c1);
    lab_->start(2, lab_->config(2, 100));
    ASSERT_TRUE(becomes(1, "MASTER") && becomes(2, "BACKUP"));

    ::chmod(script.c_str(), 0777);  // anyone could put anything there, run as root
    c1["trackers"] = {{"chk", {{"type", "script"}, {"command", {script}}, {"interval_ms", 100}, {"weight", 0}}}};
    c1["instances"][0]["track"] = {"chk"};
    lab_->write_config(1, c1);
    lab_->signal(1, SIGHUP);
    EXPECT_TRUE(VrrpLab::wait_until([&] { return lab_->log(1).find("refusing to run " + script) != std::string::npos; }, 3s))
        << "the reload names the script and why";
    EXPECT_NE(lab_->log(1).find(script + " is writable by anyone"), std::string::npos);
    std::this_thread::sleep_for(500ms);  // had it run, exit 1 with weight 0 would be FAULT
    EXPECT_EQ(lab_->state(1), "MASTER");
    EXPECT_TRUE(lab_->status(1)["trackers"].empty()) << "the running configuration is kept whole";
}

}  // namespace
}  // namespace xvrrp::test
