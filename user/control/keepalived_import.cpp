#include "xvrrp/keepalived_import.hpp"

#include <glob.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "xvrrp/config.hpp"
#include "xvrrp/packet.hpp"

namespace xvrrp::keepalived {

using json = nlohmann::json;

std::string Diagnostic::to_string() const {
    return file + ":" + std::to_string(line) + ": " + keyword + ": " + (kind == Kind::Warning ? "warning: " : "unsupported: ") +
           reason;
}

bool ImportResult::complete() const {
    for (const auto& d : diagnostics)
        if (d.kind == Diagnostic::Kind::Unsupported) return false;
    return true;
}

std::vector<std::string> split_command(const std::string& command) {
    std::vector<std::string> out;
    std::string cur;
    bool in_word = false, quoted = false;
    char quote = 0;
    for (std::size_t i = 0; i < command.size(); ++i) {
        const char c = command[i];
        if (quote) {
            if (c == quote) quote = 0;
            else if (c == '\\' && quote == '"' && i + 1 < command.size()) cur += command[++i];
            else cur += c;
        } else if (c == '"' || c == '\'') {
            quote = c;
            in_word = quoted = true;
        } else if (c == '\\' && i + 1 < command.size()) {
            cur += command[++i];
            in_word = true;
        } else if (c == ' ' || c == '\t') {
            if (in_word) out.push_back(cur);
            cur.clear();
            in_word = quoted = false;
        } else {
            cur += c;
            in_word = true;
        }
    }
    if (in_word || quoted) out.push_back(cur);
    return out;
}

namespace {

// ---- reading: tokens, with includes ----

struct Token {
    std::string text;
    bool quoted = false;
    bool first_on_line = false;
    std::string file;
    int line = 0;
    [[nodiscard]] bool is(const char* s) const { return !quoted && text == s; }
};

class Reader {
public:
    explicit Reader(std::vector<Diagnostic>& diags) : diags_(diags) {}

    void read_file(const std::string& path, int depth) {
        std::ifstream in(path);
        if (!in) {
            if (depth == 0) throw ImportError("cannot read " + path);
            diags_.push_back({Diagnostic::Kind::Unsupported, path, 0, "include", "cannot read it"});
            return;
        }
        std::stringstream s;
        s << in.rdbuf();
        const std::string dir = std::filesystem::path(path).parent_path().string();
        read_text(s.str(), path, dir.empty() ? "." : dir, depth);
    }

    void read_text(const std::string& text, const std::string& name, const std::string& dir, int depth) {
        std::istringstream in(text);
        int lineno = 0;
        for (std::string line; std::getline(in, line);) {
            ++lineno;
            std::vector<Token> toks = tokenize(line, name, lineno);
            if (!toks.empty() && toks[0].is("include")) {
                include(toks, dir, depth);
                continue;
            }
            for (auto& t : toks) tokens_.push_back(std::move(t));
        }
    }

    std::vector<Token>& tokens() { return tokens_; }

private:
    // Words, quoted strings and braces; `#` and `!` outside quotes end the line.
    static std::vector<Token> tokenize(const std::string& line, const std::string& file, int lineno) {
        std::vector<Token> out;
        std::size_t i = 0;
        auto push = [&](std::string text, bool quoted) {
            out.push_back(Token{std::move(text), quoted, out.empty(), file, lineno});
        };
        while (i < line.size()) {
            const char c = line[i];
            if (c == ' ' || c == '\t' || c == '\r') {
                ++i;
            } else if (c == '#' || c == '!') {
                break;
            } else if (c == '{' || c == '}') {
                push(std::string(1, c), false);
                ++i;
            } else if (c == '"') {  // to the closing quote; a backslash keeps the next character (\")
                std::string text;
                for (++i; i < line.size() && line[i] != '"'; ++i) {
                    if (line[i] == '\\' && i + 1 < line.size()) text += line[i++];
                    text += line[i];
                }
                push(std::move(text), true);
                ++i;
            } else {
                const auto end = line.find_first_of(" \t\r{}#!\"", i);
                push(line.substr(i, end == std::string::npos ? std::string::npos : end - i), false);
                i = end == std::string::npos ? line.size() : end;
            }
        }
        return out;
    }

    void include(const std::vector<Token>& toks, const std::string& dir, int depth) {
        if (toks.size() < 2) return diags_.push_back({Diagnostic::Kind::Warning, toks[0].file, toks[0].line, "include", "no file named"});
        if (depth >= 8) return diags_.push_back({Diagnostic::Kind::Unsupported, toks[0].file, toks[0].line, "include", "nested too deep"});
        std::string pattern = toks[1].text;
        if (!pattern.starts_with('/')) pattern = dir + "/" + pattern;
        glob_t g{};
        const int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
        if (rc != 0) {
            diags_.push_back({Diagnostic::Kind::Warning, toks[0].file, toks[0].line, "include",
                              "no file matches " + toks[1].text + " (keepalived goes on without it)"});
        } else {
            for (std::size_t k = 0; k < g.gl_pathc; ++k) read_file(g.gl_pathv[k], depth + 1);
        }
        ::globfree(&g);
    }

    std::vector<Diagnostic>& diags_;
    std::vector<Token> tokens_;
};

// ---- the block tree ----

struct Node {
    std::string keyword;
    std::vector<std::string> args;
    std::vector<Node> children;
    bool block = false;
    std::string file;
    int line = 0;
};

class Parser {
public:
    Parser(std::vector<Token>& toks, std::vector<Diagnostic>& diags) : t_(toks), diags_(diags) {}
    std::vector<Node> parse() { return block(false); }

private:
    std::vector<Node> block(bool until_close) {
        std::vector<Node> nodes;
        while (pos_ < t_.size()) {
            const Token& tok = t_[pos_];
            if (tok.is("}")) {
                ++pos_;
                if (until_close) return nodes;
                diags_.push_back({Diagnostic::Kind::Warning, tok.file, tok.line, "}", "a brace closes nothing"});
                continue;
            }
            if (tok.is("{")) {  // on a line of its own: the block of the statement before
                ++pos_;
                auto children = block(true);
                if (!nodes.empty() && !nodes.back().block) {
                    nodes.back().children = std::move(children);
                    nodes.back().block = true;
                }
                continue;
            }
            Node n{tok.text, {}, {}, false, tok.file, tok.line};
            ++pos_;
            while (pos_ < t_.size() && !t_[pos_].first_on_line && !t_[pos_].is("{") && !t_[pos_].is("}"))
                n.args.push_back(t_[pos_++].text);
            if (pos_ < t_.size() && !t_[pos_].first_on_line && t_[pos_].is("{")) {
                ++pos_;
                n.children = block(true);
                n.block = true;
            }
            nodes.push_back(std::move(n));
        }
        if (until_close && !t_.empty())
            diags_.push_back({Diagnostic::Kind::Warning, t_.back().file, t_.back().line, "{", "a block is not closed"});
        return nodes;
    }

    std::vector<Token>& t_;
    std::vector<Diagnostic>& diags_;
    std::size_t pos_ = 0;
};

// ---- the mapping ----

std::optional<double> number(const std::string& s) {
    try {
        std::size_t used = 0;
        const double v = std::stod(s, &used);
        if (used != s.size() || !std::isfinite(v)) return std::nullopt;
        return v;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

class Mapper {
public:
    Mapper(std::vector<Diagnostic>& diags, const ImportOptions& options) : diags_(diags), options_(options) {}

    json map(const std::vector<Node>& top) {
        // Definitions first: instances refer to them wherever they stand.
        for (const Node& n : top) {
            if (n.keyword == "vrrp_script") define_script(n);
            else if (n.keyword == "vrrp_track_file") define_file(n);
            else if (n.keyword == "vrrp_track_process") define_process(n);
        }
        for (const Node& n : top) {
            if (n.keyword == "global_defs") global(n);
        }
        for (const Node& n : top) {
            const std::string& k = n.keyword;
            if (k == "global_defs" || k == "vrrp_script" || k == "vrrp_track_file" || k == "vrrp_track_process") continue;
            if (k == "vrrp_instance") instance(n);
            else if (k == "vrrp_sync_group") sync_group(n);
            else if (k == "virtual_server" || k == "virtual_server_group") virtual_server(n);
            else if (k == "vrrp_track_bfd" || k == "bfd_instance") unsupported(n, "BFD is not supported");
            else if (k == "static_ipaddress" || k == "static_routes" || k == "static_rules")
                unsupported(n, "static addresses, routes and rules are not managed by xvrrpd: configure them with the system");
            else if (k == "virtual_routes" || k == "virtual_rules") warning(n, "belongs in a vrrp_instance: ignored");
            else if (k == "garp_group" || k == "linkbeat_interfaces" || k == "net_namespace" || k == "instance")
                warning(n, "ignored: no VRRP effect in xvrrpd");
            else warning(n, "unknown keyword (keepalived ignores it too)");
        }
        for (const auto& [name, t] : trackers_)
            if (!used_.count(name)) {
                const auto& [file, line] = defined_at_[name];
                diags_.push_back({Diagnostic::Kind::Warning, file, line, name, "defined but not tracked by any instance: left out"});
            }
        json trackers = json::object();
        for (const auto& name : used_) trackers[name] = trackers_.at(name);
        if (!trackers.empty()) out_["trackers"] = trackers;
        out_["instances"] = instances_;
        if (!groups_.empty()) out_["sync_groups"] = groups_;
        if (!global_.empty()) out_["global"] = global_;
        return out_;
    }

private:
    void warning(const Node& n, std::string why) { diags_.push_back({Diagnostic::Kind::Warning, n.file, n.line, n.keyword, std::move(why)}); }
    void unsupported(const Node& n, std::string why) {
        diags_.push_back({Diagnostic::Kind::Unsupported, n.file, n.line, n.keyword, std::move(why)});
    }
    std::optional<std::string> arg(const Node& n, std::size_t i = 0) {
        if (n.args.size() > i) return n.args[i];
        warning(n, "missing its value: ignored (as keepalived)");
        return std::nullopt;
    }
    std::optional<double> num(const Node& n, double lo, double hi, std::size_t i = 0) {
        const auto a = arg(n, i);
        if (!a) return std::nullopt;
        const auto v = number(*a);
        if (!v || *v < lo || *v > hi) {
            warning(n, "\"" + *a + "\" is not a number in " + fmt(lo) + "-" + fmt(hi) + ": ignored (as keepalived)");
            return std::nullopt;
        }
        return v;
    }
    static std::string fmt(double v) {
        std::ostringstream s;
        s << v;
        return s.str();
    }
    static long ms(double seconds) { return std::lround(seconds * 1000); }

    // A command given as one string ("script" lines) or as several words.
    std::vector<std::string> command(const Node& n) {
        std::string joined;
        for (const auto& a : n.args) joined += (joined.empty() ? "" : " ") + (n.args.size() == 1 ? a : quote(a));
        return split_command(joined);
    }
    static std::string quote(const std::string& s) {
        if (s.find_first_of(" \t'\"\\") == std::string::npos) return s;
        std::string out = "'";
        for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
        return out + "'";
    }

    void global(const Node& g) {
        for (const Node& n : g.children) {
            const std::string& k = n.keyword;
            if (k == "router_id") warning(n, "no VRRP effect");
            else if (k == "vrrp_version") {
                if (const auto v = num(n, 2, 3)) default_version_ = int(*v);
            } else if (k == "script_user") {
                if (const auto u = arg(n); u && *u != "root") global_["script_user"] = *u;
                if (n.args.size() > 1) warning(n, "the group is the user's own in xvrrpd: " + n.args[1] + " ignored");
            } else if (k == "enable_script_security") {
                // xvrrpd always refuses scripts others could replace
            } else if (k == "notify_fifo" || k == "vrrp_notify_fifo") {
                if (const auto p = arg(n)) global_["notify_fifo"]["path"] = *p;
                if (n.args.size() > 1) warning(n, "the FIFO's user and group are not supported: it is root's, mode 0644");
            } else if (k == "notify_fifo_script" || k == "vrrp_notify_fifo_script") {
                global_["notify_fifo"]["script"] = command(n);
            } else if (k == "vrrp_garp_master_delay") {
                if (const auto v = num(n, 0, 3600)) garp_.second_burst_ms = ms(*v);
            } else if (k == "vrrp_garp_master_refresh_repeat") {
                if (const auto v = num(n, 1, 100)) garp_.refresh_repeat = int(*v);
            } else if (k == "vrrp_garp_lower_prio_repeat") {
                if (const auto v = num(n, 0, 100)) garp_.lower_prio_repeat = int(*v);
            } else if (k == "vrrp_garp_master_repeat") {
                if (const auto v = num(n, 0, 100)) garp_.repeat = int(*v);
            } else if (k == "vrrp_garp_master_refresh") {
                if (const auto v = num(n, 0, 3600)) garp_.refresh_ms = ms(*v);
            } else if (k == "vrrp_garp_interval") {
                if (const auto v = num(n, 0.001, 60)) garp_.interval_ms = std::max(1L, ms(*v));
            } else if (k == "vrrp_strict") {
                strict_ = true;
                warning(n, std::string("strict mode for every instance: ") + kStrictAdvert);
            } else if (k == "vrrp_check_unicast_src") {
                check_unicast_src_ = true;
            } else if (k == "v3_checksum_as_v2") {
                v3_checksum_as_v2_ = true;
            } else if (k == "vrrp_down_timer_adverts") {
                if (const auto v = num(n, 1, 100)) down_timer_adverts_ = int(*v);
            } else if (k == "vrrp_notify_priority_changes") {
                if (const auto v = flag(n)) notify_priority_changes_ = *v;
            } else if (k == "default_interface") {
                if (const auto a = arg(n)) default_interface_ = *a;
            } else if (k == "vrrp_mcast_group4" || k == "vrrp_mcast_group6") {
                const Family f = k.back() == '4' ? Family::V4 : Family::V6;
                if (const auto g = multicast_group(n, f)) (f == Family::V4 ? group4_ : group6_) = *g;
            } else if (k == "vrrp_lower_prio_no_advert") {
                if (flag(n).value_or(false)) warning(n, kLowerPrioAdvert);
            } else if (k == "vrrp_higher_prio_send_advert") {
                if (flag(n).value_or(false)) warning(n, kHigherPrioAdvert);
            } else if (kScheduling.count(k)) {
                warning(n, "xvrrpd leaves scheduling to the service manager: set it in its systemd unit (Nice=, "
                           "CPUSchedulingPolicy=, CPUSchedulingPriority=, CPUAffinity=, LimitRTTIME=): ignored");
            } else if (k == "vrrp_startup_delay" || k == "vrrp_delay_after_boot") {
                warning(n, "not supported: xvrrpd starts its instances at once (delay its service instead): ignored");
            } else if (k.starts_with("notification_email") || k.starts_with("smtp_") || k == "email_faults") {
                unsupported(n, "SMTP alerts are not supported");
            } else if (k.starts_with("enable_snmp") || k == "snmp_socket" || k == "enable_traps") {
                unsupported(n, "SNMP is not supported");
            } else if (k == "enable_dbus" || k == "enable_dbus_instance") {
                unsupported(n, "D-Bus is not supported");
            } else if (kNoVrrpEffect.count(k) || k.starts_with("checker_") || k.starts_with("bfd_")) {
                warning(n, "no VRRP effect in xvrrpd: ignored");
            } else {
                warning(n, "unknown keyword (keepalived ignores it too)");
            }
        }
    }
    inline static const std::set<std::string> kNoVrrpEffect{
        "router_id", "vrrp_iptables", "vrrp_ipsets", "vrrp_process_name",
        "process_names", "dynamic_interfaces", "vrrp_skip_check_adv_addr", "max_auto_priority",
        "min_auto_priority_delay", "linkbeat_use_polling", "vrrp_netlink_cmd_rcv_bufs", "vrrp_netlink_monitor_rcv_bufs",
        "child_wait_time", "instance", "use_pid_dir", "umask", "no_checker_emails", "nftables", "nftables_priority",
        "vrrp_min_garp", "random_seed", "reload_time_file", "reload_repeat", "config_save_dir", "startup_script",
        "shutdown_script", "fifo_write_vrrp_states_on_reload", "vrrp_garp_lower_prio_delay", "vrrp_version_3_allow_v2_adverts",
        "lvs_sync_daemon", "lvs_timeouts", "lvs_flush", "lvs_flush_on_stop", "lvs_notify_fifo", "lvs_notify_fifo_script"};

    inline static const std::set<std::string> kInstanceUnsupported{
        "owner_ignore_adverts", "promote_secondaries", "use_vmac_addr", "use_ipvlan", "vmac_garp_intvl", "garp_extra_if",
        "gna_interval", "unicast_fault_no_peer", "track_src_ip", "vrf", "no_virtual_ipaddress", "timer_expired_backup",
        "thread_timer_expired", "old_unicast_checksum"};
    inline static const std::set<std::string> kScheduling{"vrrp_rt_priority", "vrrp_priority", "vrrp_cpu_affinity",
                                                          "vrrp_no_swap", "vrrp_rlimit_rttime", "vrrp_rlimit_rtime"};
    static constexpr const char* kLowerPrioAdvert =
        "not supported: xvrrpd's MASTER answers a worse master's advert with its own (at most once a second), as "
        "keepalived does by default, where this keeps it silent as RFC 9568 says";
    static constexpr const char* kStrictAdvert =
        "keepalived then stays silent on a worse master's advert; xvrrpd's MASTER answers it (at most once a second)";
    static constexpr const char* kHigherPrioAdvert =
        "not supported: xvrrpd's MASTER yields to a better master's advert without sending one first";

    // keepalived's yes/no words; the keyword alone is yes.
    std::optional<bool> flag(const Node& n) {
        if (n.args.empty()) return true;
        const std::string& a = n.args[0];
        if (a == "true" || a == "yes" || a == "on") return true;
        if (a == "false" || a == "no" || a == "off") return false;
        warning(n, "\"" + a + "\" is neither true nor false: ignored (as keepalived)");
        return std::nullopt;
    }

    // vrrp_mcast_group4/6 (family given), mcast_dst_ip: the group, when it is one (of that family).
    std::optional<IpAddress> multicast_group(const Node& n, std::optional<Family> family) {
        const auto a = arg(n);
        if (!a) return std::nullopt;
        const auto addr = IpAddress::parse(*a);
        if (!addr || !addr->is_multicast() || (family && addr->family != *family)) {
            warning(n, "\"" + *a + "\" is not a multicast group" + (family ? std::string(" of that family") : "") +
                           ": ignored (as keepalived)");
            return std::nullopt;
        }
        if (!family && addr->family == Family::V6 && !addr->is_link_local_multicast()) {
            warning(n, "\"" + *a + "\" is not link-local multicast: ignored (as keepalived)");
            return std::nullopt;
        }
        return addr;  // a global group6 of another scope keepalived only warns about: xvrrpd refuses it
    }

    // vrrp_script NAME { script ...; interval; timeout; weight; rise; fall; init_fail; user }
    void define_script(const Node& s) {
        if (s.args.empty()) return warning(s, "has no name: ignored");
        json t = {{"type", "script"}};
        double interval = 1;
        std::optional<double> timeout;
        for (const Node& n : s.children) {
            const std::string& k = n.keyword;
            if (k == "script") t["command"] = command(n);
            else if (k == "interval") { if (const auto v = num(n, 0.01, 3600)) interval = *v; }
            else if (k == "timeout") { if (const auto v = num(n, 0.01, 3600)) timeout = *v; }
            else if (k == "weight") {
                if (const auto v = num(n, -253, 253)) t["weight"] = int(*v);
                if (n.args.size() > 1 && n.args[1] == "reverse") script_reverse_.insert(s.args[0]);
            } else if (k == "rise") { if (const auto v = num(n, 1, 1000)) t["rise"] = int(*v); }
            else if (k == "fall") { if (const auto v = num(n, 1, 1000)) t["fall"] = int(*v); }
            else if (k == "init_fail") t["init_fail"] = true;
            else if (k == "user") {
                if (const auto u = arg(n)) t["user"] = *u;
                if (n.args.size() > 1) warning(n, "the group is the user's own in xvrrpd: " + n.args[1] + " ignored");
            } else warning(n, "unknown keyword in vrrp_script (keepalived ignores it too)");
        }
        if (!t.contains("command")) return warning(s, "has no script: ignored (as keepalived)");
        t["interval_ms"] = ms(interval);
        t["timeout_ms"] = ms(timeout.value_or(interval));
        add_tracker(s.args[0], t, s);
    }

    // vrrp_track_file NAME { file PATH; weight N [reverse]; init_file ... }
    void define_file(const Node& s) {
        if (s.args.empty()) return warning(s, "has no name: ignored");
        json t = {{"type", "file"}};
        for (const Node& n : s.children) {
            if (n.keyword == "file") { if (const auto p = arg(n)) t["path"] = *p; }
            else if (n.keyword == "weight") {
                if (const auto v = num(n, -254, 254)) t["weight"] = int(*v);
                if (n.args.size() > 1 && n.args[1] == "reverse") script_reverse_.insert(s.args[0]);
            } else if (n.keyword == "init_file") warning(n, "xvrrpd does not create the file: missing reads as 0");
            else warning(n, "unknown keyword in vrrp_track_file (keepalived ignores it too)");
        }
        if (!t.contains("path")) return warning(s, "has no file: ignored (as keepalived)");
        add_tracker(s.args[0], t, s);
    }

    // vrrp_track_process NAME { process PROC; quorum N; quorum_max N; weight N [reverse]; ... }
    void define_process(const Node& s) {
        if (s.args.empty()) return warning(s, "has no name: ignored");
        json t = {{"type", "process"}};
        for (const Node& n : s.children) {
            const std::string& k = n.keyword;
            if (k == "process") {
                if (const auto p = arg(n)) t["name"] = std::filesystem::path(*p).filename().string();
                if (n.args.size() > 1) unsupported(n, "matching the process's parameters is not supported: its name only");
            } else if (k == "quorum") { if (const auto v = num(n, 1, 65535)) t["quorum"] = int(*v); }
            else if (k == "quorum_max") { if (const auto v = num(n, 0, 65535)) t["quorum_max"] = int(*v); }
            else if (k == "weight") {
                if (const auto v = num(n, -254, 254)) t["weight"] = int(*v);
                if (n.args.size() > 1 && n.args[1] == "reverse") script_reverse_.insert(s.args[0]);
            } else if (k == "delay" || k == "terminate_delay" || k == "fork_delay") {
                warning(n, "not supported: a change counts as soon as the proc connector reports it (or at the next count)");
            } else if (k == "full_command" || k == "param_match") unsupported(n, "matching the command line is not supported: the name only");
            else warning(n, "unknown keyword in vrrp_track_process (keepalived ignores it too)");
        }
        if (!t.contains("name")) return warning(s, "has no process: ignored (as keepalived)");
        add_tracker(s.args[0], t, s);
    }

    void add_tracker(const std::string& name, const json& t, const Node& at) {
        trackers_[name] = t;
        defined_at_[name] = {at.file, at.line};
    }

    // track_script / track_file / track_interface { NAME [weight N] [reverse] }
    json uses(const Node& block, bool interface, bool weights_allowed, const std::string& owner) {
        json out = json::array();
        for (const Node& n : block.children) {
            std::string name = n.keyword;
            if (interface) {
                name = "if_" + n.keyword;
                if (!trackers_.count(name)) add_tracker(name, json{{"type", "interface"}, {"name", n.keyword}}, n);
            } else if (!trackers_.count(name)) {
                warning(n, "no vrrp_script, vrrp_track_file or vrrp_track_process of that name: ignored (as keepalived)");
                continue;
            }
            json use = {{"tracker", name}};
            bool reverse = script_reverse_.count(name) != 0;
            for (std::size_t i = 0; i < n.args.size(); ++i) {
                if (n.args[i] == "weight" && i + 1 < n.args.size()) {
                    const auto v = number(n.args[++i]);
                    if (!v) warning(n, "weight \"" + n.args[i] + "\" is not a number: ignored");
                    else use["weight"] = int(*v);
                    if (i + 1 < n.args.size() && n.args[i + 1] == "reverse") reverse = true, ++i;
                } else if (n.args[i] == "reverse") {
                    reverse = true;
                } else {
                    warning(n, "\"" + n.args[i] + "\" ignored");
                }
            }
            if (reverse) use["reverse"] = true;
            const int weight = use.contains("weight") ? use["weight"].get<int>() : trackers_[name].value("weight", trackers_[name]["type"] == "file" ? 1 : 0);
            if (!weights_allowed && weight != 0) {
                warning(n, "weight " + std::to_string(weight) + " ignored in sync group " + owner +
                               " (as keepalived without sync_group_tracking_weight): down is FAULT");
                use["weight"] = 0;
            }
            used_.insert(name);
            use_at_[owner + "/" + name] = {n.file, n.line};
            out.push_back(use);
        }
        return out;
    }

    void notify_of(const Node& n, json& notify) {
        static const std::map<std::string, std::string> kinds{{"notify_master", "master"}, {"notify_backup", "backup"},
                                                              {"notify_fault", "fault"},   {"notify_stop", "stop"},
                                                              {"notify", "any"}};
        if (const auto it = kinds.find(n.keyword); it != kinds.end()) notify[it->second] = command(n);
    }

    void vip_list(const Node& block, json& vips, const std::string& interface, bool excluded) {
        for (const Node& n : block.children) {
            std::string addr = n.keyword;
            if (addr.find('/') == std::string::npos) {
                const auto a = IpAddress::parse(addr);
                addr += a && a->family == Family::V6 ? "/128" : "/32";  // keepalived's default
            }
            if (!IpAddress::parse(addr.substr(0, addr.find('/')))) {
                warning(n, "not an IP address: ignored");
                continue;
            }
            json vip = {{"address", addr}};
            for (std::size_t i = 0; i < n.args.size(); ++i) {
                const std::string& opt = n.args[i];
                const bool has_value = i + 1 < n.args.size();
                if (opt == "dev" && has_value) {
                    if (n.args[i + 1] != interface) vip["dev"] = n.args[i + 1];
                    ++i;
                } else if (opt == "label" && has_value) {
                    vip["label"] = n.args[++i];
                } else if (opt == "scope" && has_value) {
                    static const std::set<std::string> kScopes{"global", "site", "link", "host", "nowhere"};
                    const std::string& sc = n.args[++i];
                    const bool number = !sc.empty() && sc.size() <= 3 && std::all_of(sc.begin(), sc.end(), ::isdigit) && std::stoi(sc) <= 255;
                    if (kScopes.count(sc)) vip["scope"] = sc;
                    else if (number) vip["scope"] = std::stoi(sc);
                    else warning(n, "scope " + sc + " is not one xvrrpd knows: global scope");
                } else if ((opt == "brd" || opt == "broadcast") && has_value) {
                    warning(n, opt + " " + n.args[i + 1] + " is not supported: ignored (no broadcast address is set)");
                    ++i;
                } else {
                    warning(n, "\"" + opt + "\" ignored");
                }
            }
            if (excluded) warning(n, "excluded VIPs are carried in the adverts too in xvrrpd");
            vips.push_back(vip.size() == 1 ? json(addr) : vip);
        }
    }

    // A table by number, or by the names every rt_tables has.
    std::optional<json> table(const Node& n, const std::string& t) {
        if (t == "main") return 254;
        if (t == "default") return 253;
        const auto x = number(t);
        if (x && *x >= 1 && *x <= 4294967295.0 && *x != 255 && std::floor(*x) == *x) return static_cast<std::uint32_t>(*x);
        unsupported(n, "table " + t + ": only numbers, main and default are known to xvrrpd");
        return std::nullopt;
    }

    // `[blackhole|unreachable|prohibit] [to] PREFIX [src A] [via|gw A] [dev IF] [table T] [metric M] [scope S]`
    void route_list(const Node& block, json& routes) {
        static const std::set<std::string> kTypes{"blackhole", "unreachable", "prohibit"};
        static const std::set<std::string> kIgnored{"protocol", "proto", "realms", "mtu", "advmss", "rtt", "rttvar",
                                                    "reordering", "window", "cwnd", "ssthresh", "initcwnd", "initrwnd",
                                                    "features", "quickack", "congctl", "pref", "fastopen_no_cookie", "ttl-propagate", "tos"};
        for (const Node& n : block.children) {
            std::vector<std::string> t{n.keyword};
            t.insert(t.end(), n.args.begin(), n.args.end());
            json r = json::object();
            std::size_t i = 0;
            if (kTypes.count(t[0])) r["type"] = t[i++];
            bool ok = true;
            for (; i < t.size(); ++i) {
                const std::string& w = t[i];
                const bool value = i + 1 < t.size();
                if (w == "src" && value) r["src"] = t[++i];
                else if (w == "to" && value) r["to"] = t[++i];
                else if ((w == "via" || w == "gw") && value) {
                    r["via"] = t[++i];
                    if (i + 1 < t.size() && (t[i + 1] == "inet" || t[i + 1] == "inet6")) ++i;
                } else if (w == "dev" && value) r["dev"] = t[++i];
                else if (w == "table" && value) {
                    if (const auto tb = table(n, t[++i])) r["table"] = *tb;
                    else ok = false;
                } else if ((w == "metric" || w == "preference" || w == "priority") && value) {
                    if (const auto x = number(t[++i]); x && *x >= 0 && *x <= 4294967295.0) r["metric"] = static_cast<std::uint32_t>(*x);
                    else warning(n, "metric " + t[i] + " is not a number: ignored");
                } else if (w == "scope" && value) r["scope"] = t[++i];
                else if (kIgnored.count(w) && value) warning(n, w + " " + t[++i] + " ignored");
                else if (w == "onlink" || w == "no_track") warning(n, w + " ignored");
                else if (!r.contains("to") && (w == "default" || IpAddress::parse(w.substr(0, w.find('/'))))) r["to"] = w;
                else {
                    unsupported(n, "\"" + w + "\" in a route is not supported: route left out");
                    ok = false;
                    break;
                }
            }
            if (!r.contains("to")) {
                if (ok) unsupported(n, "a route without a destination: left out");
                continue;
            }
            if (r["to"] == "default") {
                const bool v6 = (r.contains("via") && r["via"].get<std::string>().find(':') != std::string::npos) ||
                                (r.contains("src") && r["src"].get<std::string>().find(':') != std::string::npos);
                r["to"] = v6 ? "::/0" : "0.0.0.0/0";
            }
            if (ok) routes.push_back(r);
        }
    }

    // `[from PREFIX|all] [to PREFIX|all] [iif IF] [oif IF] [fwmark N] table|lookup T [priority N]`
    void rule_list(const Node& block, json& rules) {
        for (const Node& n : block.children) {
            std::vector<std::string> t{n.keyword};
            t.insert(t.end(), n.args.begin(), n.args.end());
            json r = json::object();
            bool ok = true;
            for (std::size_t i = 0; i < t.size() && ok; ++i) {
                const std::string& w = t[i];
                const bool value = i + 1 < t.size();
                if ((w == "from" || w == "to") && value) {
                    if (t[++i] != "all") r[w] = t[i];
                } else if ((w == "table" || w == "lookup") && value) {
                    if (const auto tb = table(n, t[++i])) r["table"] = *tb;
                    else ok = false;
                } else if ((w == "priority" || w == "preference" || w == "pref" || w == "prio") && value) {
                    if (const auto x = number(t[++i]); x && *x >= 0 && *x <= 4294967295.0) r["priority"] = static_cast<std::uint32_t>(*x);
                    else warning(n, "priority " + t[i] + " is not a number: ignored");
                } else if ((w == "iif" || w == "dev") && value) r["iif"] = t[++i];
                else if (w == "oif" && value) r["oif"] = t[++i];
                else if (w == "fwmark" && value) {
                    const std::string m = t[++i];
                    if (m.find('/') != std::string::npos) {
                        unsupported(n, "fwmark masks are not supported: rule left out");
                        ok = false;
                    } else if (const auto x = number(m); x && *x >= 0 && *x <= 4294967295.0) {
                        r["fwmark"] = static_cast<std::uint32_t>(*x);
                    } else {
                        warning(n, "fwmark " + m + " is not a number: ignored");
                    }
                } else if (w == "no_track") warning(n, w + " ignored");
                else {
                    unsupported(n, "\"" + w + "\" in a rule is not supported: rule left out");
                    ok = false;
                }
            }
            if (!ok) continue;
            if (!r.contains("from") && !r.contains("to")) {
                unsupported(n, "a rule without from or to: xvrrpd needs one of them for the rule's address family; left out");
                continue;
            }
            if (!r.contains("table")) {
                unsupported(n, "a rule without a table is not supported: left out");
                continue;
            }
            rules.push_back(r);
        }
    }

    void instance(const Node& v) {
        if (v.args.empty()) return warning(v, "has no name: ignored");
        json in = {{"name", v.args[0]}};
        json vips = json::array(), track = json::array(), notify = json::object(), peers = json::array();
        json routes = json::array(), rules = json::array();
        json announce = json::object();
        std::optional<int> version;
        std::optional<double> advert_int;
        bool use_vmac = false, check_unicast_src = check_unicast_src_;  // the global one cannot be undone
        std::optional<bool> strict_mode, v3_checksum_as_v2;
        std::optional<IpAddress> dst_group;  // mcast_dst_ip
        const Node* dst_group_at = nullptr;
        const Node* strict_node = nullptr;
        std::string vmac_name;  // keepalived's default: vrrp.VRID
        const Node* state_master = nullptr;
        std::string interface = default_interface_;
        for (const Node& n : v.children)
            if (n.keyword == "interface" && !n.args.empty()) interface = n.args[0];
        for (const Node& n : v.children) {
            const std::string& k = n.keyword;
            if (k == "interface") { if (const auto a = arg(n)) in["interface"] = *a; }
            else if (k == "no_accept") in["accept_mode"] = false;
            else if (k == "down_timer_adverts") { if (const auto x = num(n, 1, 100)) in["down_timer_adverts"] = int(*x); }
            else if (k == "v3_checksum_as_v2") v3_checksum_as_v2 = flag(n);
            else if (k == "strict_mode") {
                strict_mode = flag(n);
                strict_node = &n;
                if (strict_mode.value_or(false) && !strict_) warning(n, kStrictAdvert);
            } else if (k == "mcast_dst_ip") {
                if (const auto g = multicast_group(n, std::nullopt)) {
                    dst_group = *g;
                    dst_group_at = &n;
                }
            }
            else if (k == "lower_prio_no_advert") { if (flag(n).value_or(false)) warning(n, kLowerPrioAdvert); }
            else if (k == "higher_prio_send_advert") { if (flag(n).value_or(false)) warning(n, kHigherPrioAdvert); }
            else if (kInstanceUnsupported.count(k)) warning(n, "not supported by xvrrpd: ignored");
            else if (k == "virtual_router_id") { if (const auto x = num(n, 1, 255)) in["vrid"] = int(*x); }
            else if (k == "priority") { if (const auto x = num(n, 1, 255)) in["priority"] = int(*x); }
            else if (k == "advert_int") advert_int = num(n, 0.01, 255);
            else if (k == "version") { if (const auto x = num(n, 2, 3)) version = int(*x); }
            else if (k == "state") {
                const std::string s = n.args.empty() ? "" : n.args[0];
                if (s == "MASTER") {
                    in["start_as"] = "master";
                    state_master = &n;
                }
                else if (s != "BACKUP") warning(n, "\"" + s + "\" runs as BACKUP, as keepalived");
            } else if (k == "nopreempt") in["preempt"] = false;
            else if (k == "preempt") in["preempt"] = true;
            else if (k == "preempt_delay") { if (const auto x = num(n, 0, 1000)) in["preempt_delay_ms"] = ms(*x); }
            else if (k == "virtual_ipaddress") vip_list(n, vips, interface, false);
            else if (k == "virtual_ipaddress_excluded") vip_list(n, vips, interface, true);
            else if (k == "authentication") authentication(n, in);
            else if (k == "unicast_src_ip") { if (const auto a = arg(n)) in["unicast_source"] = *a; }
            else if (k == "unicast_peer") {
                for (const Node& p : n.children) {
                    peers.push_back(p.keyword);
                    if (!p.args.empty()) warning(p, "peer options are not supported: ignored");
                }
            } else if (k == "check_unicast_src") check_unicast_src = true;
            else if (k == "track_script" || k == "track_file" || k == "track_process") {
                for (auto& u : uses(n, false, true, v.args[0])) track.push_back(u);
            } else if (k == "track_interface") {
                for (auto& u : uses(n, true, true, v.args[0])) track.push_back(u);
            } else if (k == "notify_master" || k == "notify_backup" || k == "notify_fault" || k == "notify_stop" || k == "notify") {
                notify_of(n, notify);
            } else if (k == "notify_priority_changes") { if (const auto x = flag(n)) in["notify_priority_changes"] = *x; }
            else if (k == "use_vmac") {
                use_vmac = true;
                vmac_name = n.args.empty() ? "" : n.args[0];
            } else if (k == "vmac_xmit_base") warning(n, "not needed: xvrrpd sends from the interface with the virtual MAC");
            else if (k == "dont_track_primary") in["track_primary"] = false;
            else if (k == "accept") in["accept_mode"] = true;
            else if (k == "noaccept") in["accept_mode"] = false;
            else if (k == "garp_master_repeat") { if (const auto x = num(n, 0, 100)) announce["repeat"] = int(*x); }
            else if (k == "garp_master_refresh") { if (const auto x = num(n, 0, 3600)) announce["refresh_ms"] = ms(*x); }
            else if (k == "garp_interval") { if (const auto x = num(n, 0.001, 60)) announce["interval_ms"] = std::max(1L, ms(*x)); }
            else if (k == "garp_master_delay") { if (const auto x = num(n, 0, 3600)) announce["second_burst_ms"] = ms(*x); }
            else if (k == "garp_master_refresh_repeat") { if (const auto x = num(n, 1, 100)) announce["refresh_repeat"] = int(*x); }
            else if (k == "garp_lower_prio_repeat") { if (const auto x = num(n, 0, 100)) announce["lower_prio_repeat"] = int(*x); }
            else if (k == "smtp_alert") unsupported(n, "SMTP alerts are not supported");
            else if (k == "track_bfd") unsupported(n, "BFD is not supported");
            else if (k == "virtual_routes") route_list(n, routes);
            else if (k == "virtual_rules") rule_list(n, rules);
            else if (k == "notify_master_rx_lower_pri") unsupported(n, "not supported yet (the FIFO gets MASTER_RX_LOWER_PRI)");
            else if (k == "native_ipv6" || k == "debug" || k == "lvs_sync_daemon_interface" ||
                     k == "skip_check_adv_addr" || k == "garp_lower_prio_delay" || k == "unicast_ttl" || k == "mcast_src_ip" || k == "kernel_rx_buf_size")
                warning(n, "ignored: no effect in xvrrpd, or its behaviour is xvrrpd's default");
            else warning(n, "unknown keyword in vrrp_instance (keepalived ignores it too)");
        }
        if (state_master && (in.value("preempt", true) == false || in.contains("preempt_delay_ms")))
            warning(*state_master, "nopreempt and preempt_delay do not work with state MASTER (keepalived says so too): ignored");
        bool v6 = false;
        for (const auto& a : vips)
            if ((a.is_string() ? a : a["address"]).get<std::string>().find(':') != std::string::npos) v6 = true;
        int ver = version.value_or(default_version_);
        if (v6 && ver == 2) ver = 3;  // keepalived: IPv6 is VRRPv3
        in["version"] = ver;
        if (!in.contains("interface") && !default_interface_.empty()) in["interface"] = default_interface_;
        if (!in.contains("priority") && state_master) {
            in["priority"] = 255;  // keepalived derives the priority from the state
            warning(*state_master, "no priority: keepalived runs a state MASTER instance as the address owner (255)");
        }
        if (v3_checksum_as_v2.value_or(v3_checksum_as_v2_) && ver == 3 && !v6) in["v3_checksum_as_v2"] = true;
        if (!in.contains("down_timer_adverts") && down_timer_adverts_) in["down_timer_adverts"] = *down_timer_adverts_;
        if (!in.contains("notify_priority_changes") && notify_priority_changes_) in["notify_priority_changes"] = true;
        if (advert_int) in["advert_interval_ms"] = ms(*advert_int);
        in["vips"] = vips;
        if (!routes.empty()) in["virtual_routes"] = routes;
        if (!rules.empty()) in["virtual_rules"] = rules;
        // Another group than the RFC's: the instance's own (mcast_dst_ip), else the global one of its family.
        const Family family = v6 ? Family::V6 : Family::V4;
        if (dst_group_at && !peers.empty()) {
            warning(*dst_group_at, "with unicast peers: ignored (as keepalived)");
            dst_group.reset();
        } else if (dst_group_at && dst_group->family != family) {
            warning(*dst_group_at, "not of the instance's family: ignored (as keepalived)");
            dst_group.reset();
        }
        const std::optional<IpAddress> group = dst_group ? dst_group : (v6 ? group6_ : group4_);
        if (peers.empty() && group && *group != vrrp_multicast_group(family)) in["multicast_groups"] = {group->to_string()};
        if (!peers.empty()) {
            in["unicast_peers"] = peers;
            in["unicast_check_source"] = check_unicast_src;
        } else if (in.contains("unicast_source")) {
            in.erase("unicast_source");
            warning(v, "unicast_src_ip without unicast_peer: multicast, from the interface's address");
        }
        in["mac"] = use_vmac ? "virtual" : "interface";
        if (use_vmac)
            in["vmac_interface"] = vmac_name.empty() ? "vrrp." + std::to_string(in.value("vrid", 0)) : vmac_name;
        if (!track.empty()) in["track"] = track;
        if (!notify.empty()) in["notify"] = notify;
        json a = json::object();
        if (garp_.repeat) a["repeat"] = *garp_.repeat;
        if (garp_.refresh_ms) a["refresh_ms"] = *garp_.refresh_ms;
        if (garp_.interval_ms) a["interval_ms"] = *garp_.interval_ms;
        if (garp_.second_burst_ms) a["second_burst_ms"] = *garp_.second_burst_ms;
        if (garp_.refresh_repeat) a["refresh_repeat"] = *garp_.refresh_repeat;
        if (garp_.lower_prio_repeat) a["lower_prio_repeat"] = *garp_.lower_prio_repeat;
        a.update(announce);
        if (strict_mode.value_or(strict_)) strict(strict_node ? *strict_node : v, in, a, state_master, !peers.empty());
        if (!a.empty()) in["announce"] = a;
        instances_.push_back(in);
    }

    // strict_mode (or vrrp_strict): what keepalived then does to the instance (vrrp.c,
    // vrrp_complete_instance), each change said where the configuration asked otherwise.
    void strict(const Node& at, json& in, json& announce, const Node* state_master, bool unicast) {
        if (unicast) unsupported(at, "strict mode: keepalived refuses unicast peers and does not run this instance");
        const int priority = in.value("priority", 100);
        auto drop = [&](const char* key, const std::string& why) {
            if (in.contains(key)) {
                in.erase(key);
                warning(at, "strict mode: " + why);
            }
        };
        drop("authentication", "no authentication (keepalived ignores it)");
        drop("preempt_delay_ms", "no preempt_delay (keepalived resets it)");
        if (in.value("down_timer_adverts", 3) != 3) drop("down_timer_adverts", "down_timer_adverts is 3 (keepalived resets it)");
        if (state_master && priority != 255) drop("start_as", "state MASTER without priority 255 is BACKUP (keepalived resets it)");
        if (!in.contains("accept_mode")) in["accept_mode"] = priority == 255;  // keepalived's default in strict mode
        else if (in["accept_mode"] == true && priority != 255 && in.value("version", 2) == 2) {
            in["accept_mode"] = false;
            warning(at, "strict mode: no accept mode with VRRPv2 (keepalived resets it, RFC 3768)");
        }
        if (announce.value("lower_prio_repeat", 0) != 0) warning(at, "strict mode: lower_prio_repeat is 0 (keepalived resets it)");
        announce["lower_prio_repeat"] = 0;
    }

    void authentication(const Node& n, json& in) {
        std::string type, pass;
        for (const Node& c : n.children) {
            if (c.keyword == "auth_type" && !c.args.empty()) type = c.args[0];
            else if (c.keyword == "auth_pass" && !c.args.empty()) pass = c.args[0];
        }
        if (type == "AH") return unsupported(n, "AH authentication is not supported");
        if (type != "PASS") return warning(n, "no auth_type PASS: ignored");
        if (pass.size() > 8) {
            warning(n, "auth_pass is cut to 8 characters, as keepalived sends it");
            pass.resize(8);
        }
        in["authentication"] = {{"type", "pass"}, {"password", pass}};
    }

    void sync_group(const Node& g) {
        if (g.args.empty()) return warning(g, "has no name: ignored");
        json out = {{"name", g.args[0]}};
        json notify = json::object(), track = json::array(), members = json::array();
        bool tracking_weight = false;
        for (const Node& n : g.children)
            if (n.keyword == "sync_group_tracking_weight") tracking_weight = true;
        for (const Node& n : g.children) {
            const std::string& k = n.keyword;
            if (k == "group") {
                for (const Node& m : n.children) members.push_back(m.keyword);
            } else if (k == "track_script" || k == "track_file" || k == "track_process") {
                for (auto& u : uses(n, false, tracking_weight, g.args[0])) track.push_back(u);
            } else if (k == "track_interface") {
                for (auto& u : uses(n, true, tracking_weight, g.args[0])) track.push_back(u);
            } else if (k == "notify_master" || k == "notify_backup" || k == "notify_fault" || k == "notify_stop" || k == "notify") {
                notify_of(n, notify);
            } else if (k == "sync_group_tracking_weight") {
                out["sync_group_tracking_weight"] = true;
            } else if (k == "smtp_alert") unsupported(n, "SMTP alerts are not supported");
            else if (k == "global_tracking") warning(n, "obsolete in keepalived: ignored");
            else warning(n, "unknown keyword in vrrp_sync_group (keepalived ignores it too)");
        }
        if (members.size() == 1) warning(g, "a sync group of one instance (keepalived warns too): kept");
        out["instances"] = members;
        if (!track.empty()) out["track"] = track;
        if (!notify.empty()) out["notify"] = notify;
        groups_.push_back(out);
        if (!tracking_weight) group_members_.insert(members.begin(), members.end());
    }

public:
    // Members of groups without sync_group_tracking_weight track with weight 0, as keepalived
    // (which ignores their weights); said once per use.
    void zero_member_weights(json& config) {
        for (auto& in : config["instances"]) {
            if (!group_members_.count(in["name"]) || !in.contains("track")) continue;
            for (auto& use : in["track"]) {
                const std::string name = use["tracker"];
                const json& t = config["trackers"][name];
                const int weight = use.contains("weight") ? use["weight"].get<int>() : t.value("weight", t["type"] == "file" ? 1 : 0);
                if (weight == 0) continue;
                use["weight"] = 0;
                const auto& [file, line] = use_at_[in["name"].get<std::string>() + "/" + name];
                diags_.push_back({Diagnostic::Kind::Warning, file, line, name,
                                  "weight " + std::to_string(weight) + " ignored on " + in["name"].get<std::string>() +
                                      ", a sync group member (as keepalived without sync_group_tracking_weight): down is FAULT"});
            }
        }
    }

private:
    // virtual_server: IPVS, which xvrrpd does not do. Opt-in, its real servers' checks of local
    // services become trackers that put every instance in FAULT when they fail.
    void virtual_server(const Node& v) {
        if (!options_.checks_from_real_servers)
            return unsupported(v, "IPVS virtual servers are not supported (--checks-from-real-servers turns their "
                                  "real servers' checks into trackers)");
        warning(v, "IPVS is not configured: only its real servers' checks are kept, as trackers");
        for (const Node& rs : v.children) {
            if (rs.keyword != "real_server" || rs.args.empty()) continue;
            const std::string ip = rs.args[0];
            const std::string port = rs.args.size() > 1 ? rs.args[1] : "";
            for (const Node& c : rs.children) {
                json t;
                const std::string base = "rs_" + ip + "_" + port;
                std::string connect_ip = ip, connect_port = port;
                std::string url_path = "/";
                std::vector<int> codes;
                std::string digest;
                for (const Node& o : c.children) {
                    if (o.keyword == "connect_ip" && !o.args.empty()) connect_ip = o.args[0];
                    else if (o.keyword == "connect_port" && !o.args.empty()) connect_port = o.args[0];
                    else if (o.keyword == "url") {
                        for (const Node& u : o.children) {
                            if (u.keyword == "path" && !u.args.empty()) url_path = u.args[0];
                            else if (u.keyword == "status_code" && !u.args.empty()) codes.push_back(std::atoi(u.args[0].c_str()));
                            else if (u.keyword == "digest" && !u.args.empty()) digest = u.args[0];
                        }
                    }
                }
                const bool v6 = connect_ip.find(':') != std::string::npos;
                const std::string host = v6 ? "[" + connect_ip + "]" : connect_ip;
                if (c.keyword == "HTTP_GET" || c.keyword == "SSL_GET") {
                    t = {{"type", "http"}, {"url", (c.keyword == "SSL_GET" ? "https://" : "http://") + host + (connect_port.empty() ? "" : ":" + connect_port) + url_path}};
                    if (!codes.empty()) t["status"] = codes;
                    if (!digest.empty()) t["digest"] = digest;
                } else if (c.keyword == "TCP_CHECK") {
                    t = {{"type", "tcp"}, {"address", connect_ip}, {"port", std::atoi(connect_port.c_str())}};
                } else if (c.keyword == "PING_CHECK") {
                    t = {{"type", "icmp"}, {"address", connect_ip}};
                } else if (c.keyword == "MISC_CHECK") {
                    for (const Node& o : c.children)
                        if (o.keyword == "misc_path") t = {{"type", "script"}, {"command", command(o)}};
                } else {
                    continue;
                }
                if (t.is_null()) continue;
                const std::string name = base + "_" + c.keyword;
                add_tracker(name, t, c);
                used_.insert(name);
                real_server_trackers_.push_back(name);
            }
        }
    }

public:
    void attach_real_server_trackers(json& config) {
        if (real_server_trackers_.empty()) return;
        for (auto& in : config["instances"])
            for (const auto& name : real_server_trackers_) in["track"].push_back({{"tracker", name}, {"weight", 0}});
    }

private:
    struct Garp {
        std::optional<int> repeat, refresh_repeat, lower_prio_repeat;
        std::optional<long> refresh_ms, interval_ms, second_burst_ms;
    };
    std::vector<Diagnostic>& diags_;
    const ImportOptions& options_;
    json out_ = json::object(), global_ = json::object(), instances_ = json::array(), groups_ = json::array();
    std::map<std::string, json> trackers_;
    std::map<std::string, std::pair<std::string, int>> defined_at_, use_at_;
    std::set<std::string> used_, script_reverse_, group_members_;
    std::vector<std::string> real_server_trackers_;
    int default_version_ = 2;  // keepalived's vrrp_version default
    Garp garp_;
    // global_defs that are each instance's default (keepalived applies them to every instance
    // that does not say otherwise).
    bool strict_ = false, check_unicast_src_ = false, v3_checksum_as_v2_ = false, notify_priority_changes_ = false;
    std::optional<int> down_timer_adverts_;
    std::string default_interface_;
    std::optional<IpAddress> group4_, group6_;  // vrrp_mcast_group4/6
};

ImportResult finish(Reader& reader, std::vector<Diagnostic>& diags, const ImportOptions& options, const std::string& name) {
    Parser parser(reader.tokens(), diags);
    const std::vector<Node> top = parser.parse();
    Mapper mapper(diags, options);
    ImportResult r;
    r.config = mapper.map(top);
    mapper.zero_member_weights(r.config);
    mapper.attach_real_server_trackers(r.config);
    if (r.config["instances"].empty())
        diags.push_back({Diagnostic::Kind::Unsupported, name, 0, "vrrp_instance", "no VRRP instance found"});
    // What xvrrpd would say of the result: anything it refuses makes it incomplete.
    try {
        config::parse(r.config.dump());
    } catch (const config::ConfigError& e) {
        std::istringstream lines(e.what());
        for (std::string l; std::getline(lines, l);) {
            const auto first = l.find_first_not_of(' ');
            if (first == std::string::npos || l.ends_with("problems:")) continue;
            diags.push_back({Diagnostic::Kind::Unsupported, name, 0, "result", "xvrrpd refuses it: " + l.substr(first)});
        }
    }
    r.diagnostics = std::move(diags);
    return r;
}

}  // namespace

ImportResult import_file(const std::string& path, const ImportOptions& options) {
    std::vector<Diagnostic> diags;
    Reader reader(diags);
    reader.read_file(path, 0);
    return finish(reader, diags, options, path);
}

ImportResult import_text(const std::string& text, const std::string& name, const std::string& dir, const ImportOptions& options) {
    std::vector<Diagnostic> diags;
    Reader reader(diags);
    reader.read_text(text, name, dir, 0);
    return finish(reader, diags, options, name);
}

}  // namespace xvrrp::keepalived
