// http trackers in the lab: a tiny server (xvrrp-http-stub, cpp-httplib) in r1's namespace stands
// in for nginx; its status, body and liveness are switched by files. The status and the digest
// move the VIP; https works the same; garbage and silence fail the check, never the daemon.
#include <cstdlib>
#include <thread>

#include "daemon_lab.hpp"

namespace xvrrp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using HttpLab = DaemonLab;

// The tracker's entry in the status; empty before the daemon answers.
json tracker_view(const json& status, const std::string& name) {
    if (status.is_object() && status.contains("trackers"))
        for (const auto& t : status["trackers"])
            if (t["name"] == name) return t;
    return {{"detail", ""}, {"up", nullptr}, {"failures", 0}};
}

json http_tracker(const std::string& url, int weight) {
    return {{"type", "http"}, {"url", url}, {"interval_ms", 100}, {"timeout_ms", 300}, {"weight", weight}};
}

// r1 (110) checks its own service with weight -20; r2 (100) has none: a failing check hands the
// VIP to r2, its recovery takes it back.
TEST_F(HttpLab, StatusAndDigestMoveTheVipAndBack) {
    ScratchDir svc;
    lab_->start_helper(1, {HTTP_STUB_PATH, VrrpLab::router_ip(1), "8080", svc.file("")}, "r1-http.log");
    json c1 = lab_->config(1, 110);
    c1["instances"][0]["vips"] = {"192.0.2.100/24"};
    json t = http_tracker("http://192.0.2.1:8080/health", -20);
    t["status"] = {200, "300-399"};
    t["digest"] = "EFF5BC1EF8EC9D03E640FC4370F5EACD";  // md5 of "ok\n", upper case as some tools print it
    c1["trackers"] = {{"web", t}};
    c1["instances"][0]["track"] = {"web"};
    json c2 = lab_->config(2, 100);
    c2["instances"][0]["vips"] = {"192.0.2.100/24"};
    lab_->start(1, c1);
    lab_->start(2, c2);
    ASSERT_TRUE(VrrpLab::wait_until([&] { return tracker_view(lab_->status(1), "web")["detail"] == "HTTP 200"; }, 5s))
        << lab_->status(1)["trackers"];
    ASSERT_TRUE(becomes(1, "MASTER") && becomes(2, "BACKUP"));

    svc.write("status", "503");
    EXPECT_TRUE(becomes(2, "MASTER")) << "110 - 20 < 100";
    EXPECT_EQ(tracker_view(lab_->status(1), "web")["detail"], "HTTP 503");
    EXPECT_EQ(lab_->status(1)["instances"][0]["priority"], 90);
    svc.write("status", "302");  // in the second range
    EXPECT_TRUE(becomes(1, "MASTER"));

    svc.write("body", "maintenance\n");  // the status is fine, the page is not
    EXPECT_TRUE(becomes(2, "MASTER"));
    EXPECT_NE(tracker_view(lab_->status(1), "web")["detail"].get<std::string>().find("digest "), std::string::npos);
    svc.remove("body");
    EXPECT_TRUE(becomes(1, "MASTER"));
    EXPECT_TRUE(VrrpLab::wait_until([&] { return vip_holders(*lab_, 2) == 1; }, 2s));
}

// https (certificate not verified, as keepalived's SSL_GET) with weight 0: FAULT while it fails.
TEST_F(HttpLab, AnHttpsCheckWithWeightZeroIsFaultWhileTheServiceFails) {
    ScratchDir svc;
    ASSERT_EQ(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=192.0.2.1 -keyout " +
                           svc.file("key.pem") + " -out " + svc.file("cert.pem") + " >/dev/null 2>&1").c_str()), 0);
    lab_->start_helper(1, {HTTP_STUB_PATH, VrrpLab::router_ip(1), "8443", svc.file(""), "--tls", svc.file("cert.pem"),
                           svc.file("key.pem")}, "r1-https.log");
    json c1 = lab_->config(1, 150);
    c1["trackers"] = {{"tls", http_tracker("https://192.0.2.1:8443/", 0)}};
    c1["instances"][0]["track"] = {"tls"};
    lab_->start(1, c1);
    lab_->start(2, lab_->config(2, 100));
    ASSERT_TRUE(becomes(1, "MASTER", 8s)) << lab_->status(1)["trackers"];
    EXPECT_EQ(tracker_view(lab_->status(1), "tls")["detail"], "HTTP 200");

    svc.write("status", "500");
    EXPECT_TRUE(becomes(1, "FAULT"));
    EXPECT_TRUE(becomes(2, "MASTER"));
    svc.remove("status");
    EXPECT_TRUE(becomes(1, "MASTER", 8s));
}

// A service that answers garbage, or holds the request forever: the check fails (counted, with
// the reason), the daemon carries on and the other router takes over.
TEST_F(HttpLab, GarbageAndSilenceFailTheCheckNotTheDaemon) {
    ScratchDir raw, hung;
    raw.write("raw", std::string("SSH-2.0-OpenSSH_9.2\r\n") + std::string(100, '\0') + "\xff\xfe\r\n\r\n");
    lab_->start_helper(1, {HTTP_STUB_PATH, VrrpLab::router_ip(1), "8081", raw.file(""), "--raw"}, "r1-raw.log");
    hung.write("hang", "");
    lab_->start_helper(1, {HTTP_STUB_PATH, VrrpLab::router_ip(1), "8082", hung.file("")}, "r1-hung.log");
    json c1 = lab_->config(1, 150);
    c1["trackers"] = {{"garbage", http_tracker("http://192.0.2.1:8081/", 0)},
                      {"silent", http_tracker("http://192.0.2.1:8082/", -100)}};
    c1["instances"][0]["track"] = {"garbage", "silent"};
    lab_->start(2, lab_->config(2, 100));
    ASSERT_TRUE(becomes(2, "MASTER"));
    lab_->start(1, c1);
    ASSERT_TRUE(becomes(1, "FAULT"));
    ASSERT_TRUE(VrrpLab::wait_until([&] {
        const json s = lab_->status(1);
        return tracker_view(s, "garbage")["failures"].get<int>() >= 5 && tracker_view(s, "silent")["failures"].get<int>() >= 3;
    }, 5s)) << lab_->status(1)["trackers"];
    const json s = lab_->status(1);
    EXPECT_EQ(tracker_view(s, "garbage")["detail"], "bad reply: not an HTTP reply");
    EXPECT_EQ(tracker_view(s, "silent")["detail"], "timed out");
    EXPECT_EQ(lab_->state(2), "MASTER");
    hung.remove("hang");  // the service answers again: only the garbage keeps r1 in FAULT
    EXPECT_TRUE(VrrpLab::wait_until([&] { return tracker_view(lab_->status(1), "silent")["up"] == true; }, 5s));
    EXPECT_EQ(lab_->state(1), "FAULT");
}

}  // namespace
}  // namespace xvrrp::test
