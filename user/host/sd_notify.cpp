#include "xvrrp/sd_notify.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace xvrrp {

SdNotify::SdNotify() {
    const char* path = std::getenv("NOTIFY_SOCKET");
    if (path && *path && std::strlen(path) < sizeof(addr_.sun_path) && (path[0] == '/' || path[0] == '@')) {
        addr_.sun_family = AF_UNIX;
        std::memcpy(addr_.sun_path, path, std::strlen(path));
        if (path[0] == '@') addr_.sun_path[0] = '\0';  // the abstract namespace
        addr_len_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + std::strlen(path));
        fd_ = UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    }
    const char* usec = std::getenv("WATCHDOG_USEC");
    const char* pid = std::getenv("WATCHDOG_PID");
    const bool ours = !pid || std::strtol(pid, nullptr, 10) == ::getpid();
    if (usec && ours) {
        char* end = nullptr;
        const unsigned long long us = std::strtoull(usec, &end, 10);
        if (end && *end == '\0' && us > 0) watchdog_ns_ = us * 1000ULL;
    }
}

void SdNotify::send(const std::string& message) {
    if (!enabled()) return;
    if (::sendto(fd_.get(), message.data(), message.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr_),
                 addr_len_) < 0) {
        if (!failed_) spdlog::warn("sd_notify: {} (systemd will not hear from xvrrpd)", std::strerror(errno));
        failed_ = true;
        return;
    }
    failed_ = false;
}

}  // namespace xvrrp
