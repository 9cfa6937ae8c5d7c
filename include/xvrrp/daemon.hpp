// xvrrpd: one process, one epoll loop. It turns the configuration into VRRP
// routers (one per instance and address family), feeds their state machines
// from the dataplane's ring buffer and its own timers, and carries out what
// they decide: adverts, VIP addresses, XDP ownership, announcements.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "xvrrp/config.hpp"

namespace xvrrp {

struct DaemonOptions {
    std::string config_path;
    // The text the configuration was parsed from (an upgrade hands it to the next daemon).
    std::string config_text;
    // How to start this daemon again (the binary on disk, its arguments): an upgrade runs it.
    std::vector<std::string> argv;
    // Started by an upgrade: the channel to the daemon it takes over from (upgrade.hpp); -1: none.
    int upgrade_fd = -1;
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
