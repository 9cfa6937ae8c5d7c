// The notify protocol against a socket of the test's own: path and abstract names, the watchdog
// period meant for this process only, and nothing at all without NOTIFY_SOCKET.
#include "xvrrp/sd_notify.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace xvrrp {
namespace {

// A datagram socket bound to name ("/path" or "@abstract"); what it received.
class Listener {
public:
    explicit Listener(const std::string& name) : fd_(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::memcpy(a.sun_path, name.data(), name.size());
        if (name[0] == '@') a.sun_path[0] = '\0';
        else ::unlink(name.c_str());
        const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
        EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), len), 0) << std::strerror(errno);
        timeval tv{.tv_sec = 1, .tv_usec = 0};
        ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    std::string receive() {
        char buf[512];
        const ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), 0);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
    }

private:
    UniqueFd fd_;
};

struct Env {
    Env(const char* key, const std::string& value) : key_(key) { ::setenv(key, value.c_str(), 1); }
    ~Env() { ::unsetenv(key_); }
    const char* key_;
};

TEST(SdNotify, SendsToAPathAndToAnAbstractName) {
    const std::string path = "/tmp/xvrrp-sd-notify-" + std::to_string(::getpid());
    {
        Listener l(path);
        Env e("NOTIFY_SOCKET", path);
        SdNotify sd;
        ASSERT_TRUE(sd.enabled());
        sd.send("READY=1\nSTATUS=1 MASTER, 0 BACKUP, 0 FAULT");
        EXPECT_EQ(l.receive(), "READY=1\nSTATUS=1 MASTER, 0 BACKUP, 0 FAULT");
    }
    ::unlink(path.c_str());
    const std::string abstract = "@xvrrp-sd-notify-" + std::to_string(::getpid());
    Listener l(abstract);
    Env e("NOTIFY_SOCKET", abstract);
    SdNotify sd;
    sd.send("STOPPING=1");
    EXPECT_EQ(l.receive(), "STOPPING=1");
}

TEST(SdNotify, WithoutASocketNothingIsSentAndNothingFails) {
    ::unsetenv("NOTIFY_SOCKET");
    SdNotify sd;
    EXPECT_FALSE(sd.enabled());
    sd.send("READY=1");  // no effect, no throw
    Env e("NOTIFY_SOCKET", "relative/path");  // not a path systemd gives: ignored
    EXPECT_FALSE(SdNotify().enabled());
}

TEST(SdNotify, TheWatchdogPeriodIsOnlyOursWhenThePidSaysSo) {
    Env usec("WATCHDOG_USEC", "2000000");
    EXPECT_EQ(SdNotify().watchdog_ns(), 2'000'000'000ULL);
    {
        Env pid("WATCHDOG_PID", std::to_string(::getpid()));
        EXPECT_EQ(SdNotify().watchdog_ns(), 2'000'000'000ULL);
    }
    {
        Env pid("WATCHDOG_PID", std::to_string(::getpid() + 1));
        EXPECT_FALSE(SdNotify().watchdog_ns()) << "meant for another process";
    }
    Env bad("WATCHDOG_USEC", "2s");
    EXPECT_FALSE(SdNotify().watchdog_ns());
}

// A socket nobody listens on: the send fails, quietly, every time.
TEST(SdNotify, ASocketNobodyListensOnNeverStopsTheCaller) {
    Env e("NOTIFY_SOCKET", "/tmp/xvrrp-sd-notify-nobody-" + std::to_string(::getpid()));
    SdNotify sd;
    ASSERT_TRUE(sd.enabled());
    EXPECT_NO_THROW(sd.send("READY=1"));
    EXPECT_NO_THROW(sd.send("WATCHDOG=1"));
}

}  // namespace
}  // namespace xvrrp
