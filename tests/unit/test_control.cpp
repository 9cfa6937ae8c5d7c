// The control protocol: one JSON request line in, one JSON response line out, errors as
// values; and the server on a real unix socket in a temporary folder (no privileges).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>
#include <filesystem>

#include "xvrrp/control.hpp"
#include "xvrrp/dataplane.hpp"

using namespace xvrrp;
using json = nlohmann::json;

namespace {

json echo(const json& request) {
    if (request["command"] == "status") return {{"instances", json::array()}};
    throw std::invalid_argument("unknown command");
}

json reply_to(const std::string& line) { return json::parse(ControlServer::respond(line, echo)); }

UniqueFd connect_to(const std::string& path) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof(sa.sun_path) - 1);
    EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
    return fd;
}

}  // namespace

TEST(Control, OneRequestLineOneResponseLine) {
    EXPECT_EQ(reply_to(R"({"command": "status"})"), json({{"ok", true}, {"result", {{"instances", json::array()}}}}));
    EXPECT_EQ(ControlServer::respond(R"({"command": "status"})", echo).back(), '\n');
    const json unknown = reply_to(R"({"command": "reboot"})");
    EXPECT_FALSE(unknown["ok"]);
    EXPECT_EQ(unknown["error"], "unknown command");
    EXPECT_FALSE(reply_to("not json")["ok"]);
    EXPECT_NE(reply_to(R"(["status"])")["error"].get<std::string>().find("\"command\""), std::string::npos);
    EXPECT_FALSE(reply_to(R"({"command": 7})")["ok"]);
}

TEST(Control, SilentAndSlowClientsAreBoundedAndExpire) {
    const std::string dir = std::filesystem::temp_directory_path() / ("xvrrp-ctl-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = dir + "/ctl.sock";
    EventLoop loop;
    ControlLimits limits{.max_clients = 2, .client_timeout_ns = 50'000'000};
    {
        ControlServer server(loop, path, std::nullopt, echo, limits);
        struct stat st {};
        ASSERT_EQ(::stat(path.c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0660u);

        // A client that asks gets its answer; two that never ask fill the server; a fourth is refused.
        UniqueFd asker = connect_to(path);
        const std::string ask = "{\"command\": \"status\"}\n";
        ASSERT_EQ(::send(asker.get(), ask.data(), ask.size(), 0), static_cast<ssize_t>(ask.size()));
        for (int i = 0; i < 5; ++i) loop.run_once(10);
        char buf[256] = {};
        ASSERT_GT(::recv(asker.get(), buf, sizeof(buf) - 1, 0), 0);
        EXPECT_EQ(json::parse(buf)["ok"], true);

        UniqueFd silent1 = connect_to(path), silent2 = connect_to(path), refused = connect_to(path);
        for (int i = 0; i < 5; ++i) loop.run_once(10);
        EXPECT_EQ(server.clients(), 2u);
        ASSERT_TRUE(server.next_expiry()) << "the loop's timer is armed for them";
        EXPECT_LE(*server.next_expiry(), monotonic_ns() + 50'000'000);
        EXPECT_EQ(::recv(refused.get(), buf, sizeof(buf), 0), 0) << "closed at once";

        // Their deadline passes: closed, and the next expiry is none.
        EXPECT_FALSE(server.expire(monotonic_ns() + 100'000'000));
        EXPECT_EQ(server.clients(), 0u);
        EXPECT_EQ(::recv(silent1.get(), buf, sizeof(buf), 0), 0);
    }
    std::filesystem::remove_all(dir);
}
