// xvrrpd under faults (issue 6): each test reproduces a way to get two masters, no
// master or a dead daemon from an ordinary fault, and checks that it no longer does.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <thread>

#include "daemon_lab.hpp"

using namespace xvrrp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::size_t pinned_instances(VrrpLab& lab, int i) {
    const std::string out = lab.router(i).exec("bpftool -j map dump pinned " + lab.pin_root(i) + "/xvrrp_inst");
    return json::parse(out).size();
}

// A second xvrrpd with the same pin root or control socket refuses and touches nothing: the
// first keeps its socket, its maps and its XDP link, and stays MASTER.
TEST_F(DaemonLab, ASecondDaemonRefusesAndTouchesNothing) {
    const json cfg = lab_->config(1, 150);
    lab_->start(1, cfg);
    ASSERT_TRUE(becomes(1, "MASTER"));
    const std::size_t instances = pinned_instances(*lab_, 1);
    ASSERT_EQ(instances, 2u);

    const std::string same = lab_->write_config(1, cfg);
    EXPECT_EQ(lab_->run_to_exit(1, {VrrpLab::xvrrpd_path(), "-c", same}, "second.log", 10s), 1);
    EXPECT_NE(lab_->read_log("second.log").find("not starting a second daemon"), std::string::npos)
        << lab_->read_log("second.log");

    // Same pin root, another control socket: the pin root's lock refuses it.
    json other_socket = cfg;
    other_socket["global"]["control_socket"] = lab_->dir() + "/other.sock";
    std::ofstream(lab_->dir() + "/other.json") << other_socket.dump();
    EXPECT_EQ(lab_->run_to_exit(1, {VrrpLab::xvrrpd_path(), "-c", lab_->dir() + "/other.json"}, "third.log", 10s), 1);
    EXPECT_NE(lab_->read_log("third.log").find("pin root"), std::string::npos) << lab_->read_log("third.log");

    EXPECT_EQ(lab_->state(1), "MASTER") << "the first daemon still answers on its socket";
    EXPECT_EQ(pinned_instances(*lab_, 1), instances) << "its maps were not cleared";
    EXPECT_NE(lab_->router(1).exec("ip link show vr0").find("xdp"), std::string::npos);
    EXPECT_EQ(vip_holders(*lab_, 1), 1);
    EXPECT_TRUE(client_reaches_vip(*lab_));

    // SIGKILL releases the locks with the process: a restart is not blocked.
    lab_->signal(1, SIGKILL);
    lab_->wait_exit(1, 3s);
    lab_->start(1, cfg);
    EXPECT_TRUE(becomes(1, "MASTER"));
}

}  // namespace
