// systemd's notify protocol (sd_notify(3)) without libsystemd: one datagram per message to
// $NOTIFY_SOCKET, a path or an abstract name ("@name"). Without it (not run by systemd, or not
// Type=notify) every call does nothing. A send that fails is logged once and never stops the daemon.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <cstdint>
#include <optional>
#include <string>

#include "xvrrp/unique_fd.hpp"

namespace xvrrp {

class SdNotify {
public:
    // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from the environment.
    SdNotify();
    [[nodiscard]] bool enabled() const { return fd_.get() >= 0; }
    // "READY=1", "RELOADING=1", "STOPPING=1", "STATUS=...", "WATCHDOG=1"; several joined by '\n'.
    void send(const std::string& message);
    // WATCHDOG_USEC (meant for this process) in ns: WATCHDOG=1 is due well within it.
    [[nodiscard]] std::optional<std::uint64_t> watchdog_ns() const { return watchdog_ns_; }

private:
    UniqueFd fd_;
    sockaddr_un addr_{};
    socklen_t addr_len_ = 0;
    std::optional<std::uint64_t> watchdog_ns_;
    bool failed_ = false;  // logged already
};

}  // namespace xvrrp
