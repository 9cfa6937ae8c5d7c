// xvrrpctl status [--json | --keepalived-json] [-s SOCKET]: xvrrpd's instances as a table, its
// JSON as is, or keepalived's SIGJSON document (/tmp/keepalived.json's layout).
// xvrrpctl maintenance on|off [INSTANCE]; xvrrpctl import-keepalived FILE [--checks-from-real-servers].
// xvrrpctl upgrade: the binary on disk takes over from the running xvrrpd (as SIGUSR2), VIPs unmoved.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <thread>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "xvrrp/keepalived_import.hpp"

namespace {

// One request line, one response line (the daemon's control protocol).
nlohmann::json request(const std::string& path, const nlohmann::json& req) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof(sa.sun_path) - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
        const std::string why = std::strerror(errno);
        ::close(fd);
        throw std::runtime_error("cannot reach xvrrpd at " + path + ": " + why);
    }
    const std::string line = req.dump() + "\n";
    if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
        ::close(fd);
        throw std::runtime_error("cannot send to xvrrpd at " + path);
    }
    std::string out;
    char buf[65536];
    for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) out.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    const auto reply = nlohmann::json::parse(out, nullptr, false);
    if (!reply.is_object()) throw std::runtime_error("xvrrpd sent no valid answer");
    if (!reply.value("ok", false)) throw std::runtime_error("xvrrpd: " + reply.value("error", std::string("error")));
    return reply["result"];
}

void print_table(const nlohmann::json& s) {
    std::printf("%-16s %-5s %-10s %4s %2s %-7s %-8s %-26s %5s %9s %9s %6s\n", "INSTANCE", "AF", "INTERFACE", "VRID", "V",
                "STATE", "PRIO", "MASTER", "TRANS", "ARP-ANS", "ADVERTS", "TX-ERR");
    for (const auto& i : s.at("instances")) {
        std::string master = "-";
        if (!i.at("master").is_null())
            master = i["master"].value("self", false) ? "self"
                                                      : i["master"]["address"].get<std::string>() + " (" +
                                                            std::to_string(i["master"]["priority"].get<int>()) + ")";
        const auto& c = i.at("counters");
        // Effective priority, and the base where trackers moved it: "80/100".
        std::string prio = std::to_string(i["priority"].get<int>());
        if (i.value("base_priority", i["priority"].get<int>()) != i["priority"].get<int>())
            prio += "/" + std::to_string(i["base_priority"].get<int>());
        std::printf("%-16s %-5s %-10s %4d %2d %-7s %-8s %-26s %5llu %9llu %9llu %6llu\n", i["name"].get<std::string>().c_str(),
                    i["family"].get<std::string>().c_str(), i["interface"].get<std::string>().c_str(), i["vrid"].get<int>(),
                    i["version"].get<int>(), i["state"].get<std::string>().c_str(), prio.c_str(), master.c_str(),
                    i["transitions"].get<unsigned long long>(),
                    c.value("arp_replied", 0ULL) + c.value("ns_replied", 0ULL), c.value("adverts_valid", 0ULL),
                    i.value("tx_errors", 0ULL));
        if (i.contains("fault_reasons"))
            for (const auto& why : i["fault_reasons"]) std::printf("    FAULT: %s\n", why.get<std::string>().c_str());
        if (i.contains("track"))
            for (const auto& t : i["track"])
                std::printf("    track %-14s weight %4d%s  %s\n", t["tracker"].get<std::string>().c_str(), t["weight"].get<int>(),
                            t["reverse"].get<bool>() ? " reverse" : "",
                            t["fault"].get<bool>() ? "FAULT" : ("delta " + std::to_string(t["delta"].get<int>())).c_str());
    }
    if (s.contains("trackers") && !s["trackers"].empty()) {
        std::printf("\n%-16s %-9s %-5s %8s %8s  %s\n", "TRACKER", "TYPE", "STATE", "CHECKS", "FAILED", "LAST");
        for (const auto& t : s["trackers"])
            std::printf("%-16s %-9s %-5s %8llu %8llu  %s\n", t["name"].get<std::string>().c_str(),
                        t["type"].get<std::string>().c_str(),
                        t["type"] == "file" ? std::to_string(t["value"].get<long long>()).c_str() : (t["up"].get<bool>() ? "up" : "down"),
                        t["checks"].get<unsigned long long>(), t["failures"].get<unsigned long long>(),
                        t["detail"].get<std::string>().c_str());
    }
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"xvrrpctl: talk to xvrrpd"};
    app.require_subcommand(1);
    std::string socket_path = "/run/xvrrp/xvrrpd.sock";
    bool as_json = false;
    auto* status = app.add_subcommand("status", "instances, states, masters and counters");
    bool as_keepalived_json = false;
    status->add_flag("--json", as_json, "print xvrrpd's JSON as is");
    status->add_flag("--keepalived-json", as_keepalived_json,
                     "print keepalived's SIGJSON document (what keepalived writes to /tmp/keepalived.json)")
        ->excludes("--json");
    std::string onoff, instance;
    auto* maintenance = app.add_subcommand("maintenance", "take instances out of service (FAULT: resign with priority 0) or back");
    maintenance->add_option("state", onoff, "on or off")->required()->check(CLI::IsMember({"on", "off"}));
    maintenance->add_option("instance", instance, "one instance (default: all)");
    auto* upgrade = app.add_subcommand("upgrade",
                                       "start the xvrrpd binary on disk in place of the running one without moving a "
                                       "VIP (as SIGUSR2); exit 0 once it runs, 1 if the running one carried on");
    std::string keepalived_conf;
    xvrrp::keepalived::ImportOptions import_options;
    auto* import = app.add_subcommand("import-keepalived",
                                      "keepalived.conf to xvrrpd's JSON on stdout; what does not carry over on stderr "
                                      "(exit 0 complete, 2 incomplete, 1 unreadable)");
    import->add_option("file", keepalived_conf, "keepalived.conf")->required();
    import->add_flag("--checks-from-real-servers", import_options.checks_from_real_servers,
                     "turn virtual_server real servers' checks into trackers");
    app.add_option("-s,--socket", socket_path, "xvrrpd's control socket");
    CLI11_PARSE(app, argc, argv);
    if (import->parsed()) {
        try {
            const auto r = xvrrp::keepalived::import_file(keepalived_conf, import_options);
            for (const auto& d : r.diagnostics) std::cerr << d.to_string() << "\n";
            std::cout << r.config.dump(2) << "\n";
            return r.complete() ? 0 : 2;
        } catch (const std::exception& e) {
            std::cerr << "xvrrpctl: " << e.what() << "\n";
            return 1;
        }
    }
    try {
        if (maintenance->parsed()) {
            nlohmann::json req = {{"command", "maintenance"}, {"on", onoff == "on"}};
            if (!instance.empty()) req["instance"] = instance;
            const nlohmann::json r = request(socket_path, req);
            for (const auto& n : r["instances"])
                std::printf("%s: maintenance %s\n", n.get<std::string>().c_str(), onoff.c_str());
            return 0;
        }
        if (upgrade->parsed()) {
            const nlohmann::json before = request(socket_path, {{"command", "status"}});
            const nlohmann::json started = request(socket_path, {{"command", "upgrade"}});
            const int old_pid = before["pid"].get<int>(), new_pid = started["pid"].get<int>();
            const auto failures = before["upgrade"]["failures"].get<std::uint64_t>();
            // Done when the socket answers from the new pid; failed when the old one counts a failure.
            for (int i = 0; i < 150; ++i) {
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
                nlohmann::json now;
                try {
                    now = request(socket_path, {{"command", "status"}});
                } catch (const std::exception&) {
                    continue;  // between the two daemons
                }
                if (now["pid"].get<int>() == new_pid) {
                    std::printf("upgraded: pid %d -> %d\n", old_pid, new_pid);
                    return 0;
                }
                if (now["upgrade"]["failures"].get<std::uint64_t>() != failures) {
                    std::fprintf(stderr, "xvrrpctl: upgrade failed: %s (pid %d carries on)\n",
                                 now["upgrade"]["last_error"].get<std::string>().c_str(), old_pid);
                    return 1;
                }
            }
            std::fprintf(stderr, "xvrrpctl: upgrade: no answer from pid %d within 15 s\n", new_pid);
            return 1;
        }
        if (as_keepalived_json) {
            std::cout << request(socket_path, {{"command", "status"}, {"format", "keepalived"}}).dump() << "\n";
            return 0;
        }
        const nlohmann::json status = request(socket_path, {{"command", "status"}});
        if (as_json) {
            std::cout << status.dump() << "\n";
            return 0;
        }
        print_table(status);
    } catch (const std::exception& e) {
        std::cerr << "xvrrpctl: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
