// The trackers at run time, without privileges: real scripts through the process runner, a real
// file through inotify, interface events as the daemon passes them; what a reload keeps.
#include "xvrrp/tracker_set.hpp"

#include <gtest/gtest.h>
#include <time.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <vector>

namespace xvrrp {
namespace {

using namespace std::chrono_literals;

Nanos now_ns() {
    timespec t{};
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    return Nanos(t.tv_sec) * 1'000'000'000 + Nanos(t.tv_nsec);
}

// The daemon's loop in small: handlers, then the trackers' and the runner's deadlines on a timerfd.
struct Rig {
    EventLoop loop;
    TimerFd timer;
    ProcessRunner runner{loop};
    std::map<std::string, bool> links;  // what link_up answers
    std::vector<std::string> changes;
    TrackerSet set{TrackerSet::Ports{.loop = loop, .runner = runner,
                                     .link_up = [this](const std::string& n) { return links[n]; }},
                   [this](const std::string& name, Nanos) { changes.push_back(name); }};

    Rig() {
        loop.add(timer.fd(), [this] {
            timer.ack();
            set.on_timer(now_ns());
            runner.on_timer(now_ns());
        });
        loop.set_after_each([this] { arm(); });
    }
    void arm() {
        std::optional<Nanos> next = set.next_deadline();
        if (const auto r = runner.next_deadline(); r && (!next || *r < *next)) next = r;
        if (next) timer.arm_at(*next);
    }
    // Runs the loop until pred holds or the limit passes.
    template <class Pred>
    bool run_until(Pred pred, std::chrono::milliseconds limit = 3s) {
        arm();
        const auto end = std::chrono::steady_clock::now() + limit;
        while (!pred() && std::chrono::steady_clock::now() < end) loop.run_once(50);
        return pred();
    }
    const TrackerView view(const std::string& name) const {
        for (const auto& v : set.views())
            if (v.name == name) return v;
        throw std::runtime_error("no tracker " + name);
    }
};

config::Tracker script(std::vector<std::string> argv) {
    config::Tracker t;
    t.kind = config::TrackerKind::Script;
    t.command = std::move(argv);
    t.interval_ms = 20;
    t.timeout_ms = 1000;
    return t;
}

// Starting up (not init_fail) the state is not yet known: the first failure takes the tracker down
// whatever fall says, as keepalived does; fall counts from the first success on (tracking tests).
TEST(TrackerSet, AFailingScriptGoesDownAtItsFirstResultAndMovesThePriority) {
    Rig rig;
    auto def = script({"/bin/false"});
    def.fall = 3;
    def.init_fail = false;
    rig.set.configure({{"chk", def}}, now_ns());
    const config::TrackUse use{"chk", -20, false};
    EXPECT_EQ(rig.set.effect(use), (track::Effect{0, false})) << "starts up";
    ASSERT_TRUE(rig.run_until([&] { return !rig.changes.empty(); }));
    EXPECT_EQ(rig.view("chk").up, false);
    EXPECT_EQ(rig.view("chk").checks, 1u);
    EXPECT_EQ(rig.view("chk").detail, "exit 1");
    EXPECT_EQ(rig.set.effect(use), (track::Effect{-20, false}));
    EXPECT_EQ(rig.set.effect(config::TrackUse{"chk", 0, false}), (track::Effect{0, true}));
    EXPECT_NE(rig.set.fault_reason(config::TrackUse{"chk", 0, false}).find("tracker chk is down: exit 1"), std::string::npos);
}

TEST(TrackerSet, AScriptThatCannotRunFailsAndAReloadKeepsAnUnchangedTrackersState) {
    Rig rig;
    auto missing = script({"/nonexistent/xvrrp-check"});
    auto good = script({"/bin/true"});
    good.init_fail = true;
    good.rise = 2;
    rig.set.configure({{"missing", missing}, {"good", good}}, now_ns());
    ASSERT_TRUE(rig.run_until([&] { return rig.changes.size() >= 2; }));
    EXPECT_FALSE(rig.view("missing").up);
    EXPECT_NE(rig.view("missing").detail.find("cannot run"), std::string::npos) << rig.view("missing").detail;
    EXPECT_TRUE(rig.view("good").up) << "rise 2 from init_fail";
    const auto checks = rig.view("good").checks;
    rig.changes.clear();
    rig.set.configure({{"missing", missing}, {"good", good}}, now_ns());  // a reload, nothing changed
    EXPECT_TRUE(rig.view("good").up);
    EXPECT_GE(rig.view("good").checks, checks) << "state and counts kept";
    good.rise = 3;  // changed: starts over (init_fail: down)
    rig.set.configure({{"good", good}}, now_ns());
    EXPECT_FALSE(rig.view("good").up);
    EXPECT_EQ(rig.set.views().size(), 1u) << "the removed tracker is gone";
}

TEST(TrackerSet, AFileIsReReadOnInotifyAndItsValueMovesThePriority) {
    const auto dir = std::filesystem::temp_directory_path() / ("xvrrp-tracker-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "prio").string();
    Rig rig;
    config::Tracker def;
    def.kind = config::TrackerKind::File;
    def.path = path;
    def.interval_ms = 60'000;  // only inotify can be quick enough
    def.weight = 1;
    rig.set.configure({{"prio", def}}, now_ns());
    EXPECT_EQ(rig.view("prio").value, 0) << "missing is 0";
    std::ofstream(path) << "-15\n";
    ASSERT_TRUE(rig.run_until([&] { return rig.view("prio").value == -15; }, 2s));
    EXPECT_EQ(rig.set.effect(config::TrackUse{"prio", 2, false}), (track::Effect{-30, false}));
    EXPECT_EQ(rig.set.effect(config::TrackUse{"prio", 1, true}), (track::Effect{15, false}));
    std::ofstream(path) << "garbage";
    ASSERT_TRUE(rig.run_until([&] { return rig.view("prio").value == 0; }, 2s));
    std::filesystem::remove_all(dir);
}

TEST(TrackerSet, AnInterfaceChangeCountsOnceItOutlastsItsDelay) {
    Rig rig;
    rig.links["up0"] = true;
    config::Tracker def;
    def.kind = config::TrackerKind::Interface;
    def.interface = "up0";
    def.down_delay_ms = 100;
    rig.set.configure({{"up", def}}, now_ns());
    EXPECT_TRUE(rig.view("up").up);
    const Nanos t = now_ns();
    rig.set.on_link("up0", false, t);
    rig.set.on_link("other", true, t);
    EXPECT_TRUE(rig.view("up").up) << "not before the delay";
    rig.set.on_link("up0", true, t + 50'000'000);  // back within the delay: a flap
    rig.set.on_timer(t + 200'000'000);
    EXPECT_TRUE(rig.view("up").up);
    rig.set.on_link("up0", false, t + 300'000'000);
    EXPECT_EQ(rig.set.next_deadline(), t + 400'000'000);
    rig.set.on_timer(t + 400'000'000);
    EXPECT_FALSE(rig.view("up").up);
    EXPECT_EQ(rig.changes, std::vector<std::string>{"up"});
}

// A process tracker counts processes by name: up while quorum..quorum_max of them run. (The proc
// connector, where there is one, only makes it count sooner; this test holds without it.)
TEST(TrackerSet, AProcessTrackerCountsProcessesOfItsName) {
    char tmpl[] = "/tmp/xvrrp-proc-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    const std::filesystem::path dir = tmpl;
    const std::string name = "xvrrp-t" + std::to_string(::getpid() % 100000);
    std::filesystem::copy_file("/bin/sleep", dir / name);
    Rig rig;
    config::Tracker def;
    def.kind = config::TrackerKind::Process;
    def.process = name;
    def.quorum = 1;
    def.quorum_max = 2;
    def.interval_ms = 50;
    rig.set.configure({{"svc", def}}, now_ns());
    EXPECT_FALSE(rig.view("svc").up) << "none runs: below the quorum at the first count";
    EXPECT_EQ(rig.view("svc").detail, "0 running");
    std::vector<ProcessRunner::Id> ids;
    auto start = [&] { ids.push_back(rig.runner.start({.argv = {(dir / name).string(), "30"}, .timeout = 60s}, nullptr, now_ns())); };
    start();
    EXPECT_TRUE(rig.run_until([&] { return rig.view("svc").up; }));
    start();
    start();
    EXPECT_TRUE(rig.run_until([&] { return !rig.view("svc").up; })) << "three: above quorum_max";
    EXPECT_EQ(rig.view("svc").detail, "3 running");
    for (auto id : ids) rig.runner.terminate(id, now_ns());
    EXPECT_TRUE(rig.run_until([&] { return rig.runner.count() == 0; }));
    EXPECT_TRUE(rig.run_until([&] { return rig.view("svc").detail == "0 running"; }));
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace xvrrp
