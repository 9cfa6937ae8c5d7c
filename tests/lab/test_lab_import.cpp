// keepalived users' tutorial pair (tests/keepalived/tutorial-*.conf: MASTER 90, BACKUP 80 written
// `state SLAVE`, a one-member vrrp_sync_group, PASS authentication, a pgrep check) imported as
// is with xvrrpctl, checked by xvrrpd --check and run: r1 masters, cutting its link moves the VIP.
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "daemon_lab.hpp"
#include "text_file.hpp"

namespace xvrrp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using ImportLab = DaemonLab;

std::string read(const std::string& path) { return read_text(path); }

TEST_F(ImportLab, TheTutorialPairImportedAsIsFailsOverWhenTheMastersLinkIsCut) {
    ScratchDir dir;
    // The lab's interface names, and 1 s adverts instead of 5 so that the test takes seconds.
    for (int i : {1, 2}) {
        std::string conf = read(std::string(XVRRP_SOURCE_DIR) + "/tests/keepalived/tutorial-" + (i == 1 ? "master" : "backup") + ".conf");
        conf = std::regex_replace(conf, std::regex("eth0"), "vr0");
        conf = std::regex_replace(conf, std::regex("advert_int 5"), "advert_int 1");
        std::ofstream(dir.file("r" + std::to_string(i) + ".conf")) << conf;
        const std::string out = dir.file("r" + std::to_string(i) + ".json");
        const std::string cmd = std::string(XVRRPCTL_PATH) + " import-keepalived " + dir.file("r" + std::to_string(i) + ".conf") +
                                " > " + out + " 2> " + out + ".err";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << "complete, with warnings: " << read(out + ".err");
        EXPECT_NE(read(out + ".err").find("warning: "), std::string::npos);
        json c = json::parse(read(out));
        c["global"] = lab_->config(i, 100)["global"];  // the lab's own pins and control socket
        const std::string path = lab_->write_config(i, c);
        EXPECT_EQ(sh_status(VrrpLab::xvrrpd_path() + " -c " + path + " --check"), 0) << sh(VrrpLab::xvrrpd_path() + " -c " + path + " --check || true");
    }
    // The check is `pgrep -x nginx`: an "nginx" that runs as long as the lab.
    std::filesystem::copy_file("/bin/sleep", dir.file("nginx"));
    lab_->start_helper(1, {dir.file("nginx"), "600"}, "nginx.log");
    for (int i : {1, 2}) lab_->start(i, json::parse(read(lab_->dir() + "/r" + std::to_string(i) + ".json")));
    ASSERT_TRUE(becomes(1, "MASTER", 8s, "IPv4", "VI_1") && becomes(2, "BACKUP", 8s, "IPv4", "VI_1"))
        << lab_->status(1)["trackers"];
    EXPECT_TRUE(VrrpLab::wait_until([&] { return vip_holders(*lab_, 2) == 1; }, 2s));
    EXPECT_EQ(lab_->status(1)["instances"][0]["master"]["self"], true);

    lab_->router(1).exec("ip link set vr0 down");
    EXPECT_TRUE(becomes(1, "FAULT", 2s, "IPv4", "VI_1"));
    EXPECT_TRUE(becomes(2, "MASTER", 8s, "IPv4", "VI_1"));
    EXPECT_TRUE(client_reaches_vip(*lab_)) << "the VIP answers from r2";
}

// start_as master (keepalived's state MASTER) at 1 s adverts: alone it is MASTER after one
// interval, not the usual Master_Down_Interval (3.6 s); beside a better master it stays BACKUP.
TEST_F(ImportLab, StartingAsMasterTakesOneIntervalAloneAndYieldsToABetterMaster) {
    json c1 = lab_->config(1, 100, 1000);
    c1["instances"][0]["start_as"] = "master";
    c1["instances"][0]["vips"] = {"192.0.2.100/24"};
    lab_->start(1, c1);
    EXPECT_TRUE(becomes(1, "MASTER", 2500ms)) << "before 3.6 s, when a plain backup would";
    lab_->signal(1, SIGTERM);
    ASSERT_EQ(lab_->wait_exit(1, 5s), 0);

    json c2 = lab_->config(2, 200, 1000);
    c2["instances"][0]["vips"] = {"192.0.2.100/24"};
    lab_->start(2, c2);
    ASSERT_TRUE(becomes(2, "MASTER", 8s));
    lab_->start(1, c1);
    ASSERT_TRUE(becomes(1, "BACKUP"));
    std::this_thread::sleep_for(2500ms);  // past its short first timer: 200's adverts hold it
    EXPECT_EQ(lab_->state(1), "BACKUP");
    EXPECT_EQ(lab_->state(2), "MASTER");
}

}  // namespace
}  // namespace xvrrp::test
