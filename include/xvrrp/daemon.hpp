// xvrrpd: one process, one epoll loop. It turns the configuration into VRRP
// routers (one per instance and address family), feeds their state machines
// from the dataplane's ring buffer and its own timers, and carries out what
// they decide: adverts, VIP addresses, XDP ownership, announcements.
#pragma once

#include <memory>
#include <string>

#include "xvrrp/config.hpp"

namespace xvrrp {

struct DaemonOptions {
    std::string config_path;
};

class Daemon {
public:
    Daemon(DaemonOptions options, config::Config config);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    // Runs until SIGTERM or SIGINT; returns the exit status.
    int run();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace xvrrp
