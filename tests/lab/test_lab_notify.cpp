// Notify scripts and the notify FIFO in the lab: real daemons, real transitions. The scripts hear
// every transition in order with keepalived's arguments, after the VIPs are in place; the FIFO
// lines are keepalived's own, compared with a real keepalived going through the same changes.
#include <sys/stat.h>

#include <cstdlib>
#include <sstream>
#include <thread>

#include "daemon_lab.hpp"

namespace xvrrp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using NotifyLab = DaemonLab;

std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
    return n;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

// A FIFO reader as keepalived's notify_fifo_script is run: the FIFO's path is its last argument.
std::string fifo_reader(const ScratchDir& dir, const std::string& out) {
    return dir.script("fifo-reader.sh", "#!/bin/sh\nexec cat \"$1\" >> " + dir.file(out) + "\n");
}

// The FIFO's state lines: MASTER_RX_LOWER_PRI, which a MASTER writes when a worse master's advert
// crosses its own (a timing the test does not choose), left out.
std::string state_lines(const std::string& fifo) {
    std::string out;
    for (const auto& l : lines_of(fifo))
        if (l.find("MASTER_RX_LOWER_PRI") == std::string::npos) out += l + "\n";
    return out;
}

// r1 and r2 with notify scripts and a FIFO each: the failover, the stop and the return reach
// them in order, the MASTER script finds the VIP already on the interface.
TEST_F(NotifyLab, ScriptsAndFifoHearEveryTransitionInOrderAfterTheVips) {
    std::vector<std::unique_ptr<ScratchDir>> dirs;
    for (int i : {1, 2}) {
        dirs.push_back(std::make_unique<ScratchDir>());
        const ScratchDir& dir = *dirs.back();
        json c = lab_->config(i, i == 1 ? 150 : 100);
        c["instances"][0]["vips"] = {"192.0.2.100/24"};
        c["global"]["notify_fifo"] = {{"path", dir.file("fifo")}, {"script", {fifo_reader(dir, "fifo.out")}}};
        const std::string any = dir.script("any.sh", "#!/bin/sh\necho \"$1 $2 $3 $4\" >> " + dir.file("any.log") + "\n");
        const std::string master = dir.script(
            "master.sh", "#!/bin/sh\nif ip -4 addr show dev vr0 | grep -q 192.0.2.100/24; then echo vip-present; "
                         "else echo vip-missing; fi >> " + dir.file("master.log") + "\n");
        c["instances"][0]["notify"] = {{"master", {master}}, {"any", {any}}};
        lab_->start(i, c);
        ASSERT_TRUE(becomes(i, i == 1 ? "MASTER" : "BACKUP"));  // r2 after r1: no election race
    }
    ASSERT_TRUE(VrrpLab::wait_until([&] { return count_of(dirs[0]->read("any.log"), "\n") == 2; }, 3s));

    lab_->signal(1, SIGTERM);  // r1 resigns: STOP on r1, r2 takes over
    ASSERT_EQ(lab_->wait_exit(1, 5s), 0);
    ASSERT_TRUE(becomes(2, "MASTER"));
    lab_->start(1, json::parse(std::ifstream(lab_->dir() + "/r1.json")));  // back, and preempts
    ASSERT_TRUE(becomes(1, "MASTER") && becomes(2, "BACKUP"));
    ASSERT_TRUE(VrrpLab::wait_until([&] {
        return count_of(state_lines(dirs[0]->read("fifo.out")), "\n") == 5 &&
               count_of(state_lines(dirs[1]->read("fifo.out")), "\n") == 3;
    }, 3s)) << dirs[0]->read("fifo.out") << dirs[1]->read("fifo.out");

    EXPECT_EQ(state_lines(dirs[0]->read("fifo.out")),
              "INSTANCE \"gateway\" BACKUP 150\nINSTANCE \"gateway\" MASTER 150\nINSTANCE \"gateway\" STOP 150\n"
              "INSTANCE \"gateway\" BACKUP 150\nINSTANCE \"gateway\" MASTER 150\n");
    EXPECT_EQ(state_lines(dirs[1]->read("fifo.out")),
              "INSTANCE \"gateway\" BACKUP 100\nINSTANCE \"gateway\" MASTER 100\nINSTANCE \"gateway\" BACKUP 100\n");
    ASSERT_TRUE(VrrpLab::wait_until([&] { return count_of(dirs[0]->read("any.log"), "\n") == 5; }, 3s));
    EXPECT_EQ(dirs[0]->read("any.log"),
              "INSTANCE gateway BACKUP 150\nINSTANCE gateway MASTER 150\nINSTANCE gateway STOP 150\n"
              "INSTANCE gateway BACKUP 150\nINSTANCE gateway MASTER 150\n");
    EXPECT_EQ(dirs[0]->read("master.log"), "vip-present\nvip-present\n") << "scripts run once the VIPs are in place";
    EXPECT_EQ(dirs[1]->read("master.log"), "vip-present\n");
    const json notify = lab_->status(1)["notify"];
    EXPECT_GE(notify["fifo"]["written"].get<int>(), 2) << "since this start: " << notify;
    EXPECT_EQ(notify["scripts_failed"], 0);
}

// 50 flaps (a file tracker with weight 0: FAULT and back), each transition's script sleeping
// 0-50 ms: the scripts still hear every transition, in order, as the FIFO lines say them.
TEST_F(NotifyLab, FiftyFlapsReachTheScriptsInOrder) {
    ScratchDir dir;
    dir.write("flag", "0\n");
    json c = lab_->config(1, 100, 10);  // alone, 10 ms adverts: MASTER 35 ms after each FAULT ends
    c["instances"][0]["vips"] = {"192.0.2.100/24"};
    c["trackers"] = {{"flag", {{"type", "file"}, {"path", dir.file("flag")}, {"weight", 0}}}};
    c["instances"][0]["track"] = {"flag"};
    c["global"]["notify_fifo"] = {{"path", dir.file("fifo")}, {"script", {fifo_reader(dir, "fifo.out")}}};
    c["instances"][0]["notify"] = {
        {"any", {dir.script("any.sh", "#!/bin/bash\nsleep 0.0$((RANDOM % 50 / 10))$((RANDOM % 10))\n"
                                      "echo \"$1 $2 $3 $4\" >> " + dir.file("any.log") + "\n")}}};
    lab_->start(1, c);
    auto fifo_has = [&](const std::string& state, std::size_t n) {
        return VrrpLab::wait_until([&] { return count_of(dir.read("fifo.out"), state) >= n; }, 3s);
    };
    ASSERT_TRUE(fifo_has(" MASTER ", 1));
    constexpr int kFlaps = 50;
    for (int k = 1; k <= kFlaps; ++k) {
        dir.write("flag", "1\n");
        ASSERT_TRUE(fifo_has(" FAULT ", std::size_t(k))) << "flap " << k;
        dir.write("flag", "0\n");
        ASSERT_TRUE(fifo_has(" MASTER ", std::size_t(k + 1))) << "flap " << k;
    }
    // The scripts lag behind (serial, sleeping): every one of them comes, in the FIFO's order.
    const std::size_t total = 2 + 3 * kFlaps;
    ASSERT_TRUE(VrrpLab::wait_until([&] { return count_of(dir.read("any.log"), "\n") == total; }, 20s))
        << count_of(dir.read("any.log"), "\n") << " of " << total;
    std::vector<std::string> expected{"INSTANCE gateway BACKUP 100", "INSTANCE gateway MASTER 100"};
    for (int k = 0; k < kFlaps; ++k)
        for (const char* s : {"FAULT", "BACKUP", "MASTER"}) expected.push_back(std::string("INSTANCE gateway ") + s + " 100");
    EXPECT_EQ(lines_of(dir.read("any.log")), expected);
    std::vector<std::string> fifo_as_args;
    for (std::string l : lines_of(dir.read("fifo.out"))) {
        std::erase(l, '"');
        fifo_as_args.push_back(l);
    }
    EXPECT_EQ(fifo_as_args, expected) << "the FIFO says the same, in the same order";
    EXPECT_EQ(lab_->status(1)["notify"]["scripts_run"], total);
}

bool have_keepalived() { return std::system("command -v keepalived >/dev/null") == 0; }

// keepalived (r2) and xvrrpd (r1), each alone on its VRID with a track file of weight 0, a notify
// FIFO and a reader, go through the same changes (FAULT and back, three times, then a stop): the
// FIFO lines are the same, byte for byte (one more at the end: STOP, which keepalived's reader misses).
TEST_F(NotifyLab, FifoLinesEqualKeepalivedsForTheSameChanges) {
    if (!have_keepalived()) GTEST_SKIP() << "keepalived is not installed";
    ScratchDir ka, xv;
    for (const ScratchDir* d : {&ka, &xv}) d->write("flag", "0\n");
    lab_->start_keepalived(2, "global_defs {\n  router_id r2\n  enable_script_security\n  script_user root\n"
                              "  notify_fifo " + ka.file("fifo") + "\n  notify_fifo_script " + fifo_reader(ka, "fifo.out") +
                              "\n}\n"
                              "vrrp_track_file flag {\n  file " + ka.file("flag") + "\n  weight 0\n}\n"
                              "vrrp_instance VI_1 {\n  version 3\n  state BACKUP\n  interface vr0\n"
                              "  virtual_router_id 52\n  priority 100\n  advert_int 0.1\n"
                              "  track_file {\n    flag\n  }\n"
                              "  virtual_ipaddress {\n    192.0.2.102/24\n  }\n}\n");
    json c = lab_->config(1, 100);
    c["instances"][0]["name"] = "VI_1";
    c["instances"][0]["vips"] = {"192.0.2.101/24"};
    c["trackers"] = {{"flag", {{"type", "file"}, {"path", xv.file("flag")}, {"weight", 0}}}};
    c["instances"][0]["track"] = {"flag"};
    c["global"]["notify_fifo"] = {{"path", xv.file("fifo")}, {"script", {fifo_reader(xv, "fifo.out")}}};
    lab_->start(1, c);
    auto both_have = [&](const std::string& state, std::size_t n) {
        return VrrpLab::wait_until([&] {
            return count_of(ka.read("fifo.out"), state) >= n && count_of(xv.read("fifo.out"), state) >= n;
        }, 5s);
    };
    ASSERT_TRUE(both_have(" MASTER ", 1)) << "keepalived: " << ka.read("fifo.out") << "xvrrpd: " << xv.read("fifo.out");
    for (std::size_t k = 1; k <= 3; ++k) {
        for (const ScratchDir* d : {&ka, &xv}) d->write("flag", "1\n");
        ASSERT_TRUE(both_have(" FAULT ", k));
        for (const ScratchDir* d : {&ka, &xv}) d->write("flag", "0\n");
        ASSERT_TRUE(both_have(" MASTER ", k + 1));
    }
    lab_->signal(1, SIGTERM);
    lab_->signal(2, SIGTERM);
    EXPECT_EQ(lab_->wait_exit(1, 5s), 0);
    EXPECT_EQ(lab_->wait_exit(2, 5s), 0);
    std::this_thread::sleep_for(200ms);  // the readers copy the last lines
    // keepalived SIGTERMs its scripts, the FIFO's reader too, before it writes its STOP lines, so
    // its reader never gets them; xvrrpd closes the FIFO after them and lets its reader finish.
    EXPECT_EQ(xv.read("fifo.out"), ka.read("fifo.out") + "INSTANCE \"VI_1\" STOP 100\n");
    EXPECT_EQ(count_of(xv.read("fifo.out"), "INSTANCE \"VI_1\" FAULT 100\n"), 3u) << xv.read("fifo.out");
}

}  // namespace
}  // namespace xvrrp::test
