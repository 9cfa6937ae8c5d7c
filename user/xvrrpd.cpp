// xvrrpd -c /etc/xvrrp/xvrrp.json [--check] [--log-level LEVEL]
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "xvrrp/config.hpp"
#include "xvrrp/daemon.hpp"
#include "xvrrp/journal.hpp"
#include "xvrrp/notify.hpp"
#include "xvrrp/script_security.hpp"

int main(int argc, char** argv) {
    CLI::App app{"xvrrpd: VRRP (RFC 9568, RFC 3768) with an XDP dataplane"};
    std::string config_path = "/etc/xvrrp/xvrrp.json";
    std::string level = "info";
    bool check = false;
    app.add_option("-c,--config", config_path, "configuration file (JSON; see docs/config.md)");
    app.add_flag("--check", check, "validate the configuration and exit, like keepalived -t");
    app.add_option("--log-level", level, "trace, debug, info, warn, error")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
    CLI11_PARSE(app, argc, argv);

    // Under systemd, stderr is the journal's stream: log by the native protocol instead, with
    // PRIORITY and our fields (journalctl XVRRP_INSTANCE=gateway); stderr when the journal refuses.
    auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    console->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
    spdlog::sink_ptr sink = console;
    if (xvrrp::stderr_is_journal_stream()) {
        try {
            sink = std::make_shared<xvrrp::JournalSink>(xvrrp::journal_socket_path(), "xvrrpd", console);
        } catch (const std::exception& e) {
            std::cerr << "xvrrpd: " << e.what() << " (logging to stderr)\n";
        }
    }
    auto logger = std::make_shared<spdlog::logger>("xvrrpd", sink);
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::from_str(level));

    xvrrp::config::Config config;
    std::string config_text;
    try {
        config_text = xvrrp::config::read_file(config_path);
        config = xvrrp::config::parse(config_text);
    } catch (const xvrrp::config::ConfigError& e) {
        std::cerr << config_path << ": " << e.what() << "\n";
        return 1;
    }
    if (check) {
        // What the file says and what a start would refuse on this machine (kept to what needs no
        // interface: those are checked when the daemon starts).
        auto problems = xvrrp::insecure_scripts(config);
        if (config.global.notify_fifo) try {
            xvrrp::check_fifo_path(*config.global.notify_fifo);
        } catch (const std::exception& e) {
            problems.emplace_back(e.what());
        }
        if (!problems.empty()) {
            for (const auto& p : problems) std::cerr << config_path << ": " << p << "\n";
            return 1;
        }
        std::cout << config_path << ": configuration is valid (" << config.instances.size() << " instances)\n";
        return 0;
    }
    try {
        const auto t0 = std::chrono::steady_clock::now();
        const std::size_t instances = config.instances.size();
        // The binary as it is on disk now, and the arguments: an upgrade starts that path again,
        // so it runs whatever has been installed there since.
        std::error_code ec;
        const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
        std::vector<std::string> again{ec ? std::string(argv[0]) : exe.string(), "-c", config_path, "--log-level", level};
        int upgrade_fd = -1;
        if (const char* fd = std::getenv("XVRRP_UPGRADE_FD")) {
            upgrade_fd = std::atoi(fd);
            ::unsetenv("XVRRP_UPGRADE_FD");
        }
        xvrrp::Daemon daemon({.config_path = config_path, .config_text = std::move(config_text), .argv = std::move(again), .upgrade_fd = upgrade_fd}, std::move(config));
        spdlog::info("xvrrpd running with {} ({} instances set up in {} ms)", config_path, instances,
                     std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
        return daemon.run();
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        return 1;
    }
}
