#include "xvrrp/script_security.hpp"

#include <pwd.h>
#include <unistd.h>

#include "xvrrp/process_runner.hpp"

namespace xvrrp {

std::vector<std::string> insecure_scripts(const config::Config& c) {
    std::vector<std::string> out;
    if (::geteuid() != 0) return out;
    auto check = [&](const std::vector<std::string>& argv, const std::string& path) {
        if (argv.empty()) return;
        if (const auto why = insecure_program(argv[0]))
            out.push_back(path + ": refusing to run " + argv[0] + " as root: " + *why);
    };
    for (const auto& [name, t] : c.trackers)
        if (t.kind == config::TrackerKind::Script) check(t.command, "trackers." + name + ".command");
    auto check_notify = [&](const config::Notify& n, const std::string& at) {
        check(n.master, at + "master");
        check(n.backup, at + "backup");
        check(n.fault, at + "fault");
        check(n.stop, at + "stop");
        check(n.any, at + "any");
    };
    for (std::size_t i = 0; i < c.instances.size(); ++i)
        check_notify(c.instances[i].notify, "instances[" + std::to_string(i) + "].notify.");
    for (std::size_t i = 0; i < c.sync_groups.size(); ++i)
        check_notify(c.sync_groups[i].notify, "sync_groups[" + std::to_string(i) + "].notify.");
    check(c.global.notify_fifo_script, "global.notify_fifo.script");
    // Users scripts run as must exist (setpriv would refuse each run).
    auto user_exists = [&](const std::optional<std::string>& user, const std::string& path) {
        if (user && !::getpwnam(user->c_str())) out.push_back(path + ": no user \"" + *user + "\" on this machine");
    };
    user_exists(c.global.script_user, "global.script_user");
    for (const auto& [name, t] : c.trackers)
        if (t.user != c.global.script_user) user_exists(t.user, "trackers." + name + ".user");
    return out;
}

}  // namespace xvrrp
