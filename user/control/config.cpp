#include "xvrrp/config.hpp"

#include "xvrrp/tracking.hpp"
#include "xvrrp/vrrp_fsm.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>
#include <tuple>
#include <map>
#include <set>
#include <sstream>

namespace xvrrp::config {

namespace {

using json = nlohmann::json;

std::string type_name(const json& j) {
    if (j.is_number_integer()) return "an integer";
    if (j.is_number()) return "a number";
    if (j.is_string()) return "a string";
    if (j.is_boolean()) return "true or false";
    if (j.is_array()) return "an array";
    if (j.is_object()) return "an object";
    return "null";
}

// Collects problems instead of stopping at the first: each guarded step that throws is one.
class Problems {
public:
    template <class Step>
    void guard(Step&& step) {
        try {
            step();
        } catch (const ConfigError& e) {
            list_.push_back(e);
        }
    }
    [[nodiscard]] bool empty() const { return list_.empty(); }
    [[nodiscard]] std::size_t size() const { return list_.size(); }
    void add(ConfigError e) { list_.push_back(std::move(e)); }
    void raise() const {
        if (list_.size() == 1) throw list_.front();
        if (!list_.empty()) throw ConfigError(list_);
    }

private:
    std::vector<ConfigError> list_;
};

// One JSON object being read: typed, range-checked access by key, with the
// path of every value, and an error for any key nobody asked for.
class Object {
public:
    Object(const json& j, std::string path) : j_(j), path_(std::move(path)) {
        if (!j_.is_object()) throw ConfigError(path_, "must be an object, got " + type_name(j_));
    }

    [[nodiscard]] std::string at(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
    [[nodiscard]] bool has(const std::string& key) const { return j_.contains(key); }

    const json& value(const std::string& key) {
        seen_.insert(key);
        if (!j_.contains(key)) throw ConfigError(at(key), "is required");
        return j_.at(key);
    }

    bool boolean(const std::string& key, bool fallback) {
        if (!has(key)) {
            seen(key);
            return fallback;
        }
        const json& v = value(key);
        if (!v.is_boolean()) throw ConfigError(at(key), "must be true or false, got " + type_name(v));
        return v.get<bool>();
    }

    std::int64_t integer(const std::string& key, std::int64_t lo, std::int64_t hi, std::optional<std::int64_t> fallback) {
        if (!has(key) && fallback) {
            seen(key);
            return *fallback;
        }
        const json& v = value(key);
        if (!v.is_number_integer()) throw ConfigError(at(key), "must be an integer, got " + type_name(v));
        const auto n = v.get<std::int64_t>();
        if (n < lo || n > hi)
            throw ConfigError(at(key), "must be " + std::to_string(lo) + "-" + std::to_string(hi) + ", got " + std::to_string(n));
        return n;
    }

    std::string string(const std::string& key, std::optional<std::string> fallback) {
        if (!has(key) && fallback) {
            seen(key);
            return *fallback;
        }
        const json& v = value(key);
        if (!v.is_string()) throw ConfigError(at(key), "must be a string, got " + type_name(v));
        return v.get<std::string>();
    }

    // Each element of an array, with its path.
    void array(const std::string& key, const std::function<void(const json&, const std::string&)>& each) {
        if (!has(key)) return seen(key);
        const json& v = value(key);
        if (!v.is_array()) throw ConfigError(at(key), "must be an array, got " + type_name(v));
        for (std::size_t i = 0; i < v.size(); ++i) each(v[i], at(key) + "[" + std::to_string(i) + "]");
    }

    // Unknown keys are mistakes (a typo would otherwise silently keep a default): the first, or all.
    void finish() const {
        for (const auto& [key, _] : j_.items())
            if (!seen_.count(key)) throw ConfigError(at(key), "unknown key");
    }
    void finish(Problems& problems) const {
        for (const auto& [key, _] : j_.items())
            if (!seen_.count(key)) problems.add(ConfigError(at(key), "unknown key"));
    }
    // A known key left unread because a setting it depends on is bad (reported already).
    void skip(const std::string& key) { seen(key); }

private:
    void seen(const std::string& key) { seen_.insert(key); }

    const json& j_;
    std::string path_;
    std::set<std::string> seen_;
};

std::string as_string(const json& v, const std::string& path) {
    if (!v.is_string()) throw ConfigError(path, "must be a string, got " + type_name(v));
    return v.get<std::string>();
}

IpAddress address(const json& v, const std::string& path) {
    const std::string text = as_string(v, path);
    const auto a = IpAddress::parse(text);
    if (!a) throw ConfigError(path, "not an IPv4 or IPv6 address: \"" + text + "\"");
    return *a;
}

Vip vip_address(const std::string& text, const std::string& path) {
    const auto slash = text.find('/');
    const auto a = IpAddress::parse(text.substr(0, slash));
    if (!a) throw ConfigError(path, "not an IPv4 or IPv6 address: \"" + text + "\"");
    Vip out{.address = *a, .prefix_len = static_cast<std::uint8_t>(a->family == Family::V4 ? 32 : 128)};
    if (slash != std::string::npos) {
        const std::string len = text.substr(slash + 1);
        const int max = a->family == Family::V4 ? 32 : 128;
        int n = -1;
        if (!len.empty() && len.size() <= 3 && std::all_of(len.begin(), len.end(), ::isdigit)) n = std::stoi(len);
        if (n < 0 || n > max)
            throw ConfigError(path, "prefix length must be 0-" + std::to_string(max) + ": \"" + text + "\"");
        out.prefix_len = static_cast<std::uint8_t>(n);
    }
    if (a->is_unspecified()) throw ConfigError(path, "the unspecified address cannot be a VIP");
    const auto& b = a->bytes;
    if (a->is_multicast()) throw ConfigError(path, "a multicast address cannot be a VIP: \"" + text + "\"");
    const bool link_local = a->family == Family::V4 ? (b[0] == 169 && b[1] == 254) : (b[0] == 0xfe && (b[1] & 0xc0) == 0x80);
    if (link_local) throw ConfigError(path, "a link-local address cannot be a VIP: \"" + text + "\"");
    return out;
}

bool is_interface_name(const std::string& s);

// The names `ip` knows (/etc/iproute2/rt_scopes), or a number.
std::uint8_t scope(const json& v, const std::string& path) {
    if (v.is_number_integer()) {
        const auto n = v.get<std::int64_t>();
        if (n < 0 || n > 255) throw ConfigError(path, "must be 0-255, got " + std::to_string(n));
        return static_cast<std::uint8_t>(n);
    }
    const std::string name = as_string(v, path);
    for (int s : {0, 200, 253, 254, 255})
        if (scope_name(static_cast<std::uint8_t>(s)) == name) return static_cast<std::uint8_t>(s);
    throw ConfigError(path, "must be global, site, link, host, nowhere or 0-255, got \"" + name + "\"");
}

// "192.0.2.10/24", or {"address": "192.0.2.10/24", "dev": "eth1", "label": "eth1:vip", "scope": "link"}.
Vip vip(const json& v, const std::string& path) {
    if (v.is_string()) return vip_address(v.get<std::string>(), path);
    Object o(v, path);
    Vip out = vip_address(o.string("address", std::nullopt), o.at("address"));
    out.dev = o.string("dev", "");
    if (!out.dev.empty() && !is_interface_name(out.dev))
        throw ConfigError(o.at("dev"), "not an interface name: \"" + out.dev + "\"");
    out.label = o.string("label", "");
    if (!out.label.empty()) {
        if (out.address.family != Family::V4) throw ConfigError(o.at("label"), "labels are for IPv4 addresses only");
        if (out.label.size() > 15) throw ConfigError(o.at("label"), "at most 15 characters (IFNAMSIZ), got " + std::to_string(out.label.size()));
    }
    if (o.has("scope")) out.scope = scope(o.value("scope"), o.at("scope"));
    o.finish();
    return out;
}

// "198.51.100.0/24" (no length: the whole address); host bits set are a mistake the kernel
// would refuse, so it is named here with the prefix meant.
Prefix prefix(const json& v, const std::string& path) {
    const std::string text = as_string(v, path);
    const auto slash = text.find('/');
    const auto a = IpAddress::parse(text.substr(0, slash));
    if (!a) throw ConfigError(path, "not an IPv4 or IPv6 prefix: \"" + text + "\"");
    const int max = a->family == Family::V4 ? 32 : 128;
    Prefix p{.address = *a, .len = static_cast<std::uint8_t>(max)};
    if (slash != std::string::npos) {
        const std::string len = text.substr(slash + 1);
        int n = -1;
        if (!len.empty() && len.size() <= 3 && std::all_of(len.begin(), len.end(), ::isdigit)) n = std::stoi(len);
        if (n < 0 || n > max) throw ConfigError(path, "prefix length must be 0-" + std::to_string(max) + ": \"" + text + "\"");
        p.len = static_cast<std::uint8_t>(n);
    }
    Prefix masked = p;
    for (int bit = p.len; bit < max; ++bit) masked.address.bytes[static_cast<std::size_t>(bit / 8)] &= static_cast<std::uint8_t>(~(0x80 >> (bit % 8)));
    if (masked.address != p.address)
        throw ConfigError(path, "host bits set in \"" + text + "\": did you mean \"" + to_string(masked) + "\"?");
    return p;
}

std::optional<IpAddress> address_of(Object& o, const std::string& key, Family family) {
    if (!o.has(key)) {
        o.skip(key);
        return std::nullopt;
    }
    const IpAddress a = address(o.value(key), o.at(key));
    if (a.family != family) throw ConfigError(o.at(key), "not of the family of the destination");
    return a;
}

std::string device(Object& o, const std::string& key) {
    const std::string d = o.string(key, "");
    if (!d.empty() && !is_interface_name(d)) throw ConfigError(o.at(key), "not an interface name: \"" + d + "\"");
    return d;
}

// {"to": "198.51.100.0/24", "via": "192.0.2.254", "dev": "eth0", "src": "192.0.2.100", "table": 100,
//  "metric": 10, "scope": "link", "type": "unicast"}
Route route(const json& j, const std::string& path) {
    Object o(j, path);
    Route r;
    r.to = prefix(o.value("to"), o.at("to"));
    const std::string type = o.string("type", "unicast");
    static const std::map<std::string, RouteType> kTypes{{"unicast", RouteType::Unicast}, {"blackhole", RouteType::Blackhole},
                                                         {"unreachable", RouteType::Unreachable}, {"prohibit", RouteType::Prohibit}};
    const auto t = kTypes.find(type);
    if (t == kTypes.end()) throw ConfigError(o.at("type"), "must be unicast, blackhole, unreachable or prohibit, got \"" + type + "\"");
    r.type = t->second;
    r.via = address_of(o, "via", r.to.address.family);
    r.src = address_of(o, "src", r.to.address.family);
    r.dev = device(o, "dev");
    if (r.type != RouteType::Unicast && (r.via || !r.dev.empty()))
        throw ConfigError(path, "a " + type + " route has no via or dev");
    r.table = static_cast<std::uint32_t>(o.integer("table", 1, 0xffffffffLL, 254));
    if (r.table == 255) throw ConfigError(o.at("table"), "255 is the kernel's local table");
    r.metric = static_cast<std::uint32_t>(o.integer("metric", 0, 0xffffffffLL, 0));
    if (o.has("scope")) r.scope = scope(o.value("scope"), o.at("scope"));
    o.finish();
    return r;
}

// {"from": "192.0.2.100", "to": "198.51.100.0/24", "table": 100, "priority": 100, "iif": "eth0",
//  "oif": "eth1", "fwmark": 5}
Rule rule(const json& j, const std::string& path) {
    Object o(j, path);
    Rule r;
    if (o.has("from")) r.from = prefix(o.value("from"), o.at("from"));
    else o.skip("from");
    if (o.has("to")) r.to = prefix(o.value("to"), o.at("to"));
    else o.skip("to");
    if (!r.from && !r.to) throw ConfigError(path, "needs \"from\" or \"to\" (they give the rule's address family)");
    r.family = (r.from ? r.from : r.to)->address.family;
    if (r.from && r.to && r.from->address.family != r.to->address.family)
        throw ConfigError(o.at("to"), "not of the family of \"from\"");
    r.table = static_cast<std::uint32_t>(o.integer("table", 1, 0xffffffffLL, std::nullopt));
    if (o.has("priority")) r.priority = static_cast<std::uint32_t>(o.integer("priority", 0, 0xffffffffLL, std::nullopt));
    else o.skip("priority");
    r.iif = device(o, "iif");
    r.oif = device(o, "oif");
    if (o.has("fwmark")) r.fwmark = static_cast<std::uint32_t>(o.integer("fwmark", 0, 0xffffffffLL, std::nullopt));
    else o.skip("fwmark");
    o.finish();
    return r;
}

}  // namespace

std::string scope_name(std::uint8_t scope) {
    switch (scope) {
        case 0: return "global";
        case 200: return "site";
        case 253: return "link";
        case 254: return "host";
        case 255: return "nowhere";
        default: return std::to_string(scope);
    }
}

std::string vip_text(const Vip& v, const std::string& instance_interface) {
    std::string out = v.address.to_string();
    if (v.prefix_len != (v.address.family == Family::V4 ? 32 : 128)) out += "/" + std::to_string(v.prefix_len);
    out += " dev " + (v.dev.empty() ? instance_interface : v.dev) + " scope " + scope_name(v.scope);
    if (!v.label.empty()) out += " label " + v.label;
    return out;
}

std::string to_string(const Prefix& p) {
    const bool whole = p.len == (p.address.family == Family::V4 ? 32 : 128);
    return whole ? p.address.to_string() : p.address.to_string() + "/" + std::to_string(p.len);
}

std::string route_text(const Route& r, const std::string& instance_interface) {
    static const char* const kTypes[] = {"", "blackhole ", "unreachable ", "prohibit "};
    std::string out = kTypes[static_cast<int>(r.type)] + to_string(r.to);
    if (r.via) out += " via " + r.via->to_string();
    if (r.type == RouteType::Unicast) out += " dev " + (r.dev.empty() ? instance_interface : r.dev);
    if (r.src) out += " src " + r.src->to_string();
    if (r.table != 254) out += " table " + std::to_string(r.table);
    if (r.metric) out += " metric " + std::to_string(r.metric);
    if (r.scope) out += " scope " + scope_name(*r.scope);
    return out;
}

std::string rule_text(const Rule& r) {
    std::string out;
    if (r.from) out += "from " + to_string(*r.from);
    if (r.to) out += std::string(out.empty() ? "" : " ") + "to " + to_string(*r.to);
    if (!r.iif.empty()) out += " iif " + r.iif;
    if (!r.oif.empty()) out += " oif " + r.oif;
    if (r.fwmark) out += " fwmark " + std::to_string(*r.fwmark);
    out += " lookup " + std::to_string(r.table);
    if (r.priority) out += " priority " + std::to_string(*r.priority);
    return out;
}

namespace {

bool is_interface_name(const std::string& s) {
    return !s.empty() && s.size() < 16 && s != "." && s != ".." &&
           std::none_of(s.begin(), s.end(), [](char c) { return c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)); });
}

Announce announce(const json& j, const std::string& path) {
    Object o(j, path);
    Announce a;
    a.delay_ms = static_cast<std::uint32_t>(o.integer("delay_ms", 0, 60'000, a.delay_ms));
    a.repeat = static_cast<std::uint32_t>(o.integer("repeat", 0, 100, a.repeat));
    a.interval_ms = static_cast<std::uint32_t>(o.integer("interval_ms", 1, 60'000, a.interval_ms));
    a.refresh_ms = static_cast<std::uint32_t>(o.integer("refresh_ms", 0, 3'600'000, a.refresh_ms));
    a.refresh_repeat = static_cast<std::uint32_t>(o.integer("refresh_repeat", 1, 100, a.refresh_repeat));
    a.second_burst_ms = static_cast<std::uint32_t>(o.integer("second_burst_ms", 0, 3'600'000, a.second_burst_ms));
    if (o.has("lower_prio_repeat")) a.lower_prio_repeat = static_cast<std::uint32_t>(o.integer("lower_prio_repeat", 0, 100, std::nullopt));
    o.finish();
    return a;
}

bool is_absolute_path(const std::string& p) { return !p.empty() && p[0] == '/'; }

// "192.0.2.1:9650", "[2001:db8::1]:9650": an address of this host (bound at start) and a port.
Metrics metrics(const json& v, const std::string& path) {
    Object o(v, path);
    Metrics m;
    const std::string listen = o.string("listen", std::nullopt);
    const auto colon = listen.rfind(':');
    const std::string bad = "must be ADDRESS:PORT (\"192.0.2.1:9650\", \"[2001:db8::1]:9650\"), got \"" + listen + "\"";
    if (colon == std::string::npos) throw ConfigError(o.at("listen"), bad);
    std::string host = listen.substr(0, colon);
    const std::string port = listen.substr(colon + 1);
    const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
    if (bracketed) host = host.substr(1, host.size() - 2);
    const auto address = IpAddress::parse(host);
    if (!address || (address->family == Family::V6) != bracketed) throw ConfigError(o.at("listen"), bad);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char ch) { return ch >= '0' && ch <= '9'; }) ||
        std::stoi(port) < 1 || std::stoi(port) > 65535)
        throw ConfigError(o.at("listen"), "port must be 1 to 65535, got \"" + port + "\"");
    m.address = *address;
    m.port = static_cast<std::uint16_t>(std::stoi(port));
    m.path = o.string("path", m.path);
    if (m.path.empty() || m.path[0] != '/' || m.path.find_first_of(" ?#") != std::string::npos)
        throw ConfigError(o.at("path"), "must be an absolute URL path without query (\"/metrics\"), got \"" + m.path + "\"");
    o.finish();
    return m;
}

// A user to run scripts as: a name (whether it exists is checked where the script runs).
std::string user_name(const json& v, const std::string& path) {
    const std::string u = as_string(v, path);
    if (u.empty() || u.find_first_of(" :/\n") != std::string::npos) throw ConfigError(path, "not a user name: \"" + u + "\"");
    return u;
}

// A command to run: a non-empty array of strings whose first names the program.
std::vector<std::string> argv(const json& cmd, const std::string& path) {
    if (!cmd.is_array() || cmd.empty())
        throw ConfigError(path, "must be a non-empty array of strings (argv), got " + type_name(cmd));
    std::vector<std::string> out;
    for (std::size_t i = 0; i < cmd.size(); ++i) out.push_back(as_string(cmd[i], path + "[" + std::to_string(i) + "]"));
    if (out[0].empty()) throw ConfigError(path + "[0]", "must name the program");
    return out;
}

Notify notify(const json& j, const std::string& path, Problems& problems) {
    Object o(j, path);
    Notify n;
    for (auto [key, field] : {std::pair{"master", &n.master}, {"backup", &n.backup}, {"fault", &n.fault},
                              {"stop", &n.stop}, {"any", &n.any}})
        if (o.has(key)) problems.guard([&, key = key, field = field] { *field = argv(o.value(key), o.at(key)); });
    o.finish(problems);
    return n;
}

Tracker tracker(const json& j, const std::string& path, Problems& problems) {
    Object o(j, path);
    Tracker t;
    const std::string type = o.string("type", std::nullopt);
    if (type == "interface") t.kind = TrackerKind::Interface;
    else if (type == "script") t.kind = TrackerKind::Script;
    else if (type == "file") t.kind = TrackerKind::File;
    else if (type == "tcp") t.kind = TrackerKind::Tcp;
    else if (type == "icmp") t.kind = TrackerKind::Icmp;
    else if (type == "http") t.kind = TrackerKind::Http;
    else if (type == "process") t.kind = TrackerKind::Process;
    else throw ConfigError(o.at("type"), "must be \"interface\", \"script\", \"file\", \"tcp\", \"icmp\", \"http\" or \"process\", got \"" + type + "\"");
    problems.guard([&] { t.interval_ms = static_cast<std::uint32_t>(o.integer("interval_ms", 10, 3'600'000, 1000)); });
    problems.guard([&] { t.timeout_ms = static_cast<std::uint32_t>(o.integer("timeout_ms", 10, 3'600'000, t.interval_ms)); });
    problems.guard([&] { t.rise = static_cast<std::uint32_t>(o.integer("rise", 1, 1000, 1)); });
    problems.guard([&] { t.fall = static_cast<std::uint32_t>(o.integer("fall", 1, 1000, 1)); });
    problems.guard([&] { t.init_fail = o.boolean("init_fail", false); });
    const bool file = t.kind == TrackerKind::File;
    const int max = file || t.kind == TrackerKind::Process ? track::kMaxFileWeight : track::kMaxWeight;
    problems.guard([&] { t.weight = static_cast<int>(o.integer("weight", -max, max, file ? 1 : 0)); });
    switch (t.kind) {
        case TrackerKind::Interface:
            problems.guard([&] {
                t.interface = o.string("name", std::nullopt);
                if (!is_interface_name(t.interface)) throw ConfigError(o.at("name"), "not an interface name: \"" + t.interface + "\"");
            });
            problems.guard([&] { t.down_delay_ms = static_cast<std::uint32_t>(o.integer("down_delay_ms", 0, 3'600'000, 0)); });
            problems.guard([&] { t.up_delay_ms = static_cast<std::uint32_t>(o.integer("up_delay_ms", 0, 3'600'000, 0)); });
            break;
        case TrackerKind::Script:
            problems.guard([&] { t.command = argv(o.value("command"), o.at("command")); });
            problems.guard([&] {
                if (o.has("user")) t.user = user_name(o.value("user"), o.at("user"));
            });
            break;
        case TrackerKind::File:
            problems.guard([&] {
                t.path = o.string("path", std::nullopt);
                if (!is_absolute_path(t.path)) throw ConfigError(o.at("path"), "must be an absolute path");
            });
            break;
        case TrackerKind::Tcp:
            problems.guard([&] { t.address = address(o.value("address"), o.at("address")); });
            problems.guard([&] { t.port = static_cast<std::uint16_t>(o.integer("port", 1, 65535, std::nullopt)); });
            break;
        case TrackerKind::Icmp:
            problems.guard([&] { t.address = address(o.value("address"), o.at("address")); });
            break;
        case TrackerKind::Process:
            problems.guard([&] {
                t.process = o.string("name", std::nullopt);
                if (t.process.empty() || t.process.find('/') != std::string::npos)
                    throw ConfigError(o.at("name"), "must be a process name (as ps -o comm shows it, no path)");
            });
            problems.guard([&] { t.quorum = static_cast<std::uint32_t>(o.integer("quorum", 1, 65535, 1)); });
            problems.guard([&] {
                t.quorum_max = static_cast<std::uint32_t>(o.integer("quorum_max", 0, 65535, 0));
                if (t.quorum_max && t.quorum_max < t.quorum)
                    throw ConfigError(o.at("quorum_max"), "must be at least quorum (" + std::to_string(t.quorum) + ") or 0 (no bound)");
            });
            break;
        case TrackerKind::Http:
            problems.guard([&] {
                try {
                    t.url = http::parse_url(o.string("url", std::nullopt));
                } catch (const std::invalid_argument& e) {
                    throw ConfigError(o.at("url"), e.what());
                }
            });
            problems.guard([&] {
                t.host = o.string("host", "");
                if (t.host.find_first_of(" \r\n") != std::string::npos) throw ConfigError(o.at("host"), "must not hold spaces or line breaks");
            });
            problems.guard([&] {
                if (!o.has("status")) return o.skip("status");
                t.status.clear();
                o.array("status", [&](const json& v, const std::string& p) {
                    if (v.is_number_integer()) {
                        const auto code = v.get<std::int64_t>();
                        if (code < 100 || code > 599) throw ConfigError(p, "a status code is 100-599, got " + std::to_string(code));
                        t.status.push_back(http::StatusRange{int(code), int(code)});
                        return;
                    }
                    try {
                        t.status.push_back(http::parse_status(as_string(v, p)));
                    } catch (const std::invalid_argument& e) {
                        throw ConfigError(p, e.what());
                    }
                });
                if (t.status.empty()) throw ConfigError(o.at("status"), "at least one status or range is required");
            });
            problems.guard([&] {
                t.digest = o.string("digest", "");
                std::transform(t.digest.begin(), t.digest.end(), t.digest.begin(), [](unsigned char c) { return char(std::tolower(c)); });
                if (!t.digest.empty() && (t.digest.size() != 32 || t.digest.find_first_not_of("0123456789abcdef") != std::string::npos))
                    throw ConfigError(o.at("digest"), "must be 32 hex digits (an MD5, as genhash prints it)");
            });
            break;
    }
    o.finish(problems);
    return t;
}

// One entry of an instance's "track": "name" or {"tracker": "name", "weight": w, "reverse": bool}.
// Trackers by name; nullopt where the definition has a problem (reported where it stands).
using ParsedTrackers = std::map<std::string, std::optional<Tracker>>;
struct Reported {};  // a problem already counted: skip, say nothing more

TrackUse track_use(const json& j, const std::string& path, const ParsedTrackers& trackers, std::uint8_t priority) {
    TrackUse use;
    std::optional<std::int64_t> weight;
    std::string weight_path = path;
    if (j.is_string()) {
        use.tracker = j.get<std::string>();
    } else {
        Object o(j, path);
        use.tracker = o.string("tracker", std::nullopt);
        if (o.has("weight")) {
            weight_path = o.at("weight");
            weight = o.integer("weight", -track::kMaxFileWeight, track::kMaxFileWeight, std::nullopt);
        }
        use.reverse = o.boolean("reverse", false);
        o.finish();
    }
    const auto it = trackers.find(use.tracker);
    if (it == trackers.end()) throw ConfigError(path, "no tracker named \"" + use.tracker + "\" under \"trackers\"");
    if (!it->second) throw Reported{};  // the tracker's own problem was reported
    const Tracker& t = *it->second;
    const int max = t.kind == TrackerKind::File || t.kind == TrackerKind::Process ? track::kMaxFileWeight : track::kMaxWeight;
    if (weight && (*weight < -max || *weight > max))
        throw ConfigError(weight_path, "must be " + std::to_string(-max) + "-" + std::to_string(max) + " for a " +
                                           std::string(to_string(t.kind)) + " tracker, got " + std::to_string(*weight));
    use.weight = weight ? static_cast<int>(*weight) : t.weight;
    if (priority == fsm::kOwnerPriority && use.weight != 0)
        throw ConfigError(weight_path, "the address owner's priority 255 never changes: only weight 0 (FAULT) applies to it");
    return use;
}

// Every problem of one instance, not only the first: each independent setting is its own step,
// and a check that needs an earlier setting runs only when that one was good. An instance with
// any problem is left out (nullopt), so the checks across instances see only good ones.
std::optional<Instance> instance(const json& j, const std::string& path, const ParsedTrackers& trackers,
                                 Problems& problems) {
    const std::size_t before = problems.size();
    std::optional<Object> parsed;
    problems.guard([&] { parsed.emplace(j, path); });
    if (!parsed) return std::nullopt;
    Object& o = *parsed;
    Instance in;
    problems.guard([&] {
        in.name = o.string("name", std::nullopt);
        if (in.name.empty()) throw ConfigError(o.at("name"), "must not be empty");
    });
    problems.guard([&] {
        in.interface = o.string("interface", std::nullopt);
        if (!is_interface_name(in.interface)) throw ConfigError(o.at("interface"), "not an interface name: \"" + in.interface + "\"");
    });
    problems.guard([&] { in.vrid = static_cast<std::uint8_t>(o.integer("vrid", 1, 255, std::nullopt)); });
    bool version_ok = false;
    problems.guard([&] {
        in.version = static_cast<std::uint8_t>(o.integer("version", 2, 3, 3));
        version_ok = true;
    });
    bool priority_ok = false;
    problems.guard([&] {
        in.priority = static_cast<std::uint8_t>(o.integer("priority", 1, 255, 100));
        priority_ok = true;
    });

    if (!version_ok) o.skip("advert_interval_ms");
    if (version_ok) problems.guard([&] {
        if (in.version == 3) {
            // 12-bit field in centiseconds: 10 ms to 40.95 s.
            in.advert_interval_ms = static_cast<std::uint32_t>(o.integer("advert_interval_ms", 10, 40950, 1000));
            if (in.advert_interval_ms % 10)
                throw ConfigError(o.at("advert_interval_ms"), "VRRPv3 counts in centiseconds: must be a multiple of 10, got " +
                                                                  std::to_string(in.advert_interval_ms));
        } else {
            in.advert_interval_ms = static_cast<std::uint32_t>(o.integer("advert_interval_ms", 1000, 255000, 1000));
            if (in.advert_interval_ms % 1000)
                throw ConfigError(o.at("advert_interval_ms"), "VRRPv2 counts in whole seconds: must be a multiple of 1000, got " +
                                                                  std::to_string(in.advert_interval_ms));
        }
    });

    // Complete: the array was read and every VIP in it is good, so the family checks below hold.
    bool vips_ok = false;
    const std::size_t before_vips = problems.size();
    std::vector<std::string> vip_paths;  // each good VIP's place in the file
    problems.guard([&] {
        o.array("vips", [&](const json& v, const std::string& p) {
            problems.guard([&] {
                in.vips.push_back(vip(v, p));
                if (in.vips.back().dev == in.interface) in.vips.back().dev.clear();  // the instance's own
                vip_paths.push_back(p);
            });
        });
    });
    vips_ok = problems.size() == before_vips;
    if (vips_ok) problems.guard([&] {
        if (in.vips.empty()) throw ConfigError(o.at("vips"), "at least one VIP is required");
    });
    for (std::size_t i = 0; i < in.vips.size(); ++i) problems.guard([&] {
        const std::string& p = vip_paths[i];
        if (version_ok && in.version == 2 && in.vips[i].address.family == Family::V6)
            throw ConfigError(p, "VRRPv2 carries IPv4 only; use version 3 for IPv6");
        for (std::size_t k = 0; k < i; ++k)
            if (in.vips[k].address == in.vips[i].address) throw ConfigError(p, "listed twice");
    });

    // What one advert can carry: 255 addresses (an 8-bit count) in at most XVRRP_MAX_VRRP_LEN bytes.
    for (Family f : {Family::V4, Family::V6}) problems.guard([&] {
        const auto n = static_cast<std::size_t>(std::count_if(in.vips.begin(), in.vips.end(), [f](const Vip& v) { return v.address.family == f; }));
        const std::size_t bytes = 8 + n * (f == Family::V4 ? 4 : 16) + (in.version == 2 ? 8 : 0);
        if (n > 255) throw ConfigError(o.at("vips"), std::to_string(n) + " addresses of one family; an advert carries at most 255");
        if (bytes > XVRRP_MAX_VRRP_LEN)
            throw ConfigError(o.at("vips"), std::to_string(n) + (f == Family::V4 ? " IPv4" : " IPv6") + " addresses make a " +
                                                std::to_string(bytes) + "-byte advert; at most " +
                                                std::to_string(XVRRP_MAX_VRRP_LEN) + " bytes (" +
                                                (f == Family::V4 ? "255" : "64") + " addresses)");
    });

    problems.guard([&] { in.preempt = o.boolean("preempt", true); });
    problems.guard([&] { in.preempt_delay_ms = static_cast<std::uint32_t>(o.integer("preempt_delay_ms", 0, 1'000'000, 0)); });
    problems.guard([&] { in.accept_mode = o.boolean("accept_mode", true); });
    problems.guard([&] {
        const std::string mac = o.string("mac", "virtual");
        if (mac == "virtual") in.mac = MacMode::Virtual;
        else if (mac == "interface") in.mac = MacMode::Interface;
        else throw ConfigError(o.at("mac"), "must be \"virtual\" or \"interface\", got \"" + mac + "\"");
    });
    problems.guard([&] {
        in.vmac_interface = o.string("vmac_interface", "");
        if (in.vmac_interface.empty()) return;
        const std::string at = o.at("vmac_interface");
        if (!is_interface_name(in.vmac_interface)) throw ConfigError(at, "not an interface name: \"" + in.vmac_interface + "\"");
        if (in.vmac_interface == in.interface) throw ConfigError(at, "must differ from the instance's interface");
        if (in.mac != MacMode::Virtual) throw ConfigError(at, "needs \"mac\": \"virtual\" (the macvlan carries the virtual MAC)");
        if (vips_ok && in.has_family(Family::V4) && in.has_family(Family::V6))
            throw ConfigError(at, "an instance of one address family (each has its own virtual MAC, as in keepalived): "
                                  "split its IPv4 and IPv6 VIPs into two instances");
    });

    problems.guard([&] {
        if (o.has("unicast_source")) in.unicast_source = address(o.value("unicast_source"), o.at("unicast_source"));
    });
    problems.guard([&] {
        o.array("unicast_peers", [&](const json& v, const std::string& p) {
            problems.guard([&] {
                const IpAddress peer = address(v, p);
                if (vips_ok && !in.has_family(peer.family))
                    throw ConfigError(p, "peer " + peer.to_string() + " is of a family this instance has no VIP of");
                in.unicast_peers.push_back(peer);
            });
        });
    });
    const bool unicast = o.has("unicast_peers");
    problems.guard([&] {
        if (o.has("unicast_source") && !unicast) throw ConfigError(o.at("unicast_source"), "is only used with unicast_peers");
    });
    problems.guard([&] {
        o.array("multicast_groups", [&](const json& v, const std::string& p) {
            problems.guard([&] {
                const IpAddress g = address(v, p);
                if (!g.is_multicast()) throw ConfigError(p, g.to_string() + " is not a multicast address");
                // Adverts never leave the link (hop limit 255), and keepalived takes no other scope either.
                if (g.family == Family::V6 && !g.is_link_local_multicast())
                    throw ConfigError(p, g.to_string() + " is not of link-local scope (ff02::/16), as adverts are");
                if (vips_ok && !in.has_family(g.family))
                    throw ConfigError(p, "group " + g.to_string() + " is of a family this instance has no VIP of");
                for (const auto& other : in.multicast_groups)
                    if (other.family == g.family) throw ConfigError(p, "a second group of the same family");
                in.multicast_groups.push_back(g);
            });
        });
        if (unicast && o.has("multicast_groups"))
            throw ConfigError(o.at("multicast_groups"), "is only used without unicast_peers");
    });
    problems.guard([&] { in.unicast_check_source = o.boolean("unicast_check_source", true); });
    problems.guard([&] {
        in.unicast_routed = o.boolean("unicast_routed", false);
        if (in.unicast_routed && !unicast) throw ConfigError(o.at("unicast_routed"), "is only used with unicast_peers");
    });

    if (o.has("authentication")) problems.guard([&] {
        const std::string p = o.at("authentication");
        Object auth(o.value("authentication"), p);
        std::string password;
        problems.guard([&] {
            const std::string type = auth.string("type", std::nullopt);
            if (type != "pass") throw ConfigError(auth.at("type"), "only \"pass\" (VRRPv2 simple text) is supported, got \"" + type + "\"");
        });
        problems.guard([&] {
            password = auth.string("password", std::nullopt);
            if (password.empty() || password.size() > 8)
                throw ConfigError(auth.at("password"), "must be 1-8 characters, got " + std::to_string(password.size()));
        });
        auth.finish(problems);
        if (version_ok && in.version != 2) throw ConfigError(p, "RFC 9568 removed authentication: only for version 2");
        in.auth_pass = password;
    });

    problems.guard([&] { in.down_timer_adverts = static_cast<std::uint8_t>(o.integer("down_timer_adverts", 1, 255, 3)); });
    problems.guard([&] {
        in.v3_checksum_as_v2 = o.boolean("v3_checksum_as_v2", false);
        if (version_ok && in.v3_checksum_as_v2 && in.version != 3)
            throw ConfigError(o.at("v3_checksum_as_v2"), "only applies to version 3");
    });
    problems.guard([&] {
        if (o.has("announce")) in.announce = announce(o.value("announce"), o.at("announce"));
    });
    bool skipped_use = false;  // a use of a tracker with a problem: the instance is not good either
    if (!priority_ok) o.skip("track");
    if (priority_ok) problems.guard([&] {
        o.array("track", [&](const json& v, const std::string& p) {
            problems.guard([&] {
                try {
                    TrackUse use = track_use(v, p, trackers, in.priority);
                    for (const auto& u : in.track)
                        if (u.tracker == use.tracker) throw ConfigError(p, "tracker \"" + use.tracker + "\" is listed twice");
                    in.track.push_back(std::move(use));
                } catch (const Reported&) {
                    skipped_use = true;
                }
            });
        });
    });
    problems.guard([&] { in.track_primary = o.boolean("track_primary", true); });
    problems.guard([&] {
        const std::string s = o.string("start_as", "backup");
        if (s != "backup" && s != "master") throw ConfigError(o.at("start_as"), "must be \"backup\" or \"master\", got \"" + s + "\"");
        in.start_as_master = s == "master";
    });
    if (o.has("notify")) problems.guard([&] { in.notify = notify(o.value("notify"), o.at("notify"), problems); });
    problems.guard([&] { in.notify_priority_changes = o.boolean("notify_priority_changes", false); });
    // Routes and rules of a family the instance has a router for (one with VIPs of it).
    auto family_ok = [&](Family f, const std::string& p) {
        if (vips_ok && !in.has_family(f))
            throw ConfigError(p, std::string("an ") + (f == Family::V4 ? "IPv4" : "IPv6") +
                                     " one, but the instance has no VIP of that family (no router to hold it)");
    };
    problems.guard([&] {
        o.array("virtual_routes", [&](const json& v, const std::string& p) {
            problems.guard([&] {
                Route r = route(v, p);
                family_ok(r.to.address.family, p);
                in.virtual_routes.push_back(std::move(r));
            });
        });
    });
    problems.guard([&] {
        o.array("virtual_rules", [&](const json& v, const std::string& p) {
            problems.guard([&] {
                Rule r = rule(v, p);
                family_ok(r.family, p);
                in.virtual_rules.push_back(std::move(r));
            });
        });
    });
    o.finish(problems);
    if (problems.size() != before || skipped_use) return std::nullopt;
    return in;
}

// A sync group; members are checked against every name the file gives an instance (one whose
// definition has a problem is reported there, not here again).
std::optional<SyncGroup> sync_group(const json& j, const std::string& path, const ParsedTrackers& trackers,
                                    const std::set<std::string>& instance_names, Problems& problems) {
    const std::size_t before = problems.size();
    std::optional<Object> parsed;
    problems.guard([&] { parsed.emplace(j, path); });
    if (!parsed) return std::nullopt;
    Object& o = *parsed;
    SyncGroup g;
    problems.guard([&] {
        g.name = o.string("name", std::nullopt);
        if (g.name.empty()) throw ConfigError(o.at("name"), "must not be empty");
    });
    problems.guard([&] {
        if (!o.has("instances")) throw ConfigError(o.at("instances"), "is required");
        o.array("instances", [&](const json& v, const std::string& p) {
            problems.guard([&] {
                const std::string name = as_string(v, p);
                if (!instance_names.count(name)) throw ConfigError(p, "no instance named \"" + name + "\"");
                if (std::find(g.instances.begin(), g.instances.end(), name) != g.instances.end())
                    throw ConfigError(p, "\"" + name + "\" is listed twice");
                g.instances.push_back(name);
            });
        });
        if (g.instances.empty() && problems.size() == before) throw ConfigError(o.at("instances"), "at least one instance is required");
    });
    problems.guard([&] { g.tracking_weight = o.boolean("sync_group_tracking_weight", false); });
    problems.guard([&] {
        o.array("track", [&](const json& v, const std::string& p) {
            problems.guard([&] {
                try {
                    TrackUse use = track_use(v, p, trackers, 1);
                    if (use.weight != 0 && !g.tracking_weight)
                        throw ConfigError(p, "a sync group's tracker may only put it in FAULT (weight 0) unless "
                                             "sync_group_tracking_weight is set, got weight " + std::to_string(use.weight));
                    for (const auto& u : g.track)
                        if (u.tracker == use.tracker) throw ConfigError(p, "tracker \"" + use.tracker + "\" is listed twice");
                    g.track.push_back(std::move(use));
                } catch (const Reported&) {
                }
            });
        });
    });
    if (o.has("notify")) problems.guard([&] { g.notify = notify(o.value("notify"), o.at("notify"), problems); });
    o.finish(problems);
    if (problems.size() != before) return std::nullopt;
    return g;
}

// Each instance in one group at most; a member's weighted tracker moves that member alone, which
// a group cannot follow (keepalived ignores the weight): an error unless the group allows it.
void check_sync_groups(const Config& c, const std::vector<std::string>& group_paths, Problems& problems) {
    std::map<std::string, std::string> group_of;
    for (std::size_t g = 0; g < c.sync_groups.size(); ++g) {
        const SyncGroup& grp = c.sync_groups[g];
        problems.guard([&] {
            for (std::size_t k = 0; k < g; ++k)
                if (c.sync_groups[k].name == grp.name)
                    throw ConfigError(group_paths[g] + ".name", "\"" + grp.name + "\" is also the name of " + group_paths[k]);
        });
        for (std::size_t m = 0; m < grp.instances.size(); ++m) problems.guard([&] {
            const std::string at = group_paths[g] + ".instances[" + std::to_string(m) + "]";
            const std::string& name = grp.instances[m];
            if (const auto [it, fresh] = group_of.emplace(name, grp.name); !fresh)
                throw ConfigError(at, "\"" + name + "\" is already in sync group \"" + it->second + "\"");
            if (grp.tracking_weight) return;
            for (const auto& in : c.instances) {
                if (in.name != name) continue;
                for (const auto& use : in.track)
                    if (use.weight != 0)
                        throw ConfigError(at, "\"" + name + "\" tracks \"" + use.tracker + "\" with weight " +
                                                  std::to_string(use.weight) + ", which would move it alone: use weight 0, "
                                                  "or set sync_group_tracking_weight");
            }
        });
    }
}

InterfaceOptions interface_options(const json& j, const std::string& path) {
    Object o(j, path);
    InterfaceOptions opts;
    const std::string mode = o.string("xdp_mode", "auto");
    if (mode == "auto") opts.xdp_mode = XdpMode::Auto;
    else if (mode == "native") opts.xdp_mode = XdpMode::Native;
    else if (mode == "generic") opts.xdp_mode = XdpMode::Generic;
    else throw ConfigError(o.at("xdp_mode"), "must be \"auto\", \"native\" or \"generic\", got \"" + mode + "\"");
    opts.pass_adverts = o.boolean("pass_adverts", false);
    o.finish();
    return opts;
}

// What the dataplane has room for: one slot per router (instance and family), and the VIP table.
void check_capacity(const Config& c) {
    std::size_t routers = 0, vips = 0;
    for (const Instance& in : c.instances) {
        routers += in.has_family(Family::V4) + in.has_family(Family::V6);
        vips += in.vips.size();
    }
    if (routers > XVRRP_MAX_INSTANCES)
        throw ConfigError("instances", std::to_string(routers) + " routers (instances x address families); the dataplane has " +
                                           std::to_string(XVRRP_MAX_INSTANCES) + " slots");
    if (vips > XVRRP_MAX_VIPS)
        throw ConfigError("instances", std::to_string(vips) + " VIPs in all; the dataplane holds " + std::to_string(XVRRP_MAX_VIPS));
}

// paths[i]: where instance i stands in the file (instances that failed to parse are not here).
// Each clash is found through a map of what came before, not by comparing every pair: a file of
// thousands of instances is checked in linear time, on every reload.
void check_across_instances(const Config& c, const std::vector<std::string>& paths, Problems& problems) {
    std::unordered_map<std::string, std::size_t> names;
    std::map<std::tuple<std::string, std::uint8_t, Family>, std::size_t> vrids;
    std::map<IpAddress, std::size_t> vips;
    std::map<std::string, std::size_t> vmacs;
    std::set<std::string> interfaces;
    for (const Instance& a : c.instances) interfaces.insert(a.interface);
    for (std::size_t i = 0; i < c.instances.size(); ++i) {
        const Instance& a = c.instances[i];
        const std::string& at = paths[i];
        if (!a.vmac_interface.empty()) problems.guard([&] {
            if (const auto [it, fresh] = vmacs.emplace(a.vmac_interface, i); !fresh)
                throw ConfigError(at + ".vmac_interface", "\"" + a.vmac_interface + "\" is also the vmac_interface of " + paths[it->second]);
            if (interfaces.count(a.vmac_interface))
                throw ConfigError(at + ".vmac_interface", "\"" + a.vmac_interface + "\" is an instance's interface");
        });
        problems.guard([&] {
            if (const auto [it, fresh] = names.emplace(a.name, i); !fresh)
                throw ConfigError(at + ".name", "\"" + a.name + "\" is also the name of " + paths[it->second]);
        });
        // VRIDs are per interface and address family (RFC 9568 7.3: separate virtual MACs).
        for (Family f : {Family::V4, Family::V6}) {
            if (!a.has_family(f)) continue;
            problems.guard([&] {
                if (const auto [it, fresh] = vrids.emplace(std::tuple{a.interface, a.vrid, f}, i); !fresh)
                    throw ConfigError(at + ".vrid", "VRID " + std::to_string(a.vrid) + " on " + a.interface + " (" +
                                                        (f == Family::V4 ? "IPv4" : "IPv6") + ") is also used by " +
                                                        paths[it->second]);
            });
        }
        for (std::size_t v = 0; v < a.vips.size(); ++v) problems.guard([&] {
            if (const auto [it, fresh] = vips.emplace(a.vips[v].address, i); !fresh && it->second != i) {
                const Instance& b = c.instances[it->second];
                throw ConfigError(at + ".vips[" + std::to_string(v) + "]", a.vips[v].address.to_string() +
                                                                               " is also a VIP of " + paths[it->second] +
                                                                               " (\"" + b.name + "\")");
            }
        });
    }
}

}  // namespace

std::string_view to_string(TrackerKind k) {
    switch (k) {
        case TrackerKind::Interface: return "interface";
        case TrackerKind::Script: return "script";
        case TrackerKind::File: return "file";
        case TrackerKind::Tcp: return "tcp";
        case TrackerKind::Icmp: return "icmp";
        case TrackerKind::Http: return "http";
        case TrackerKind::Process: return "process";
    }
    return "?";
}

bool Instance::has_family(Family f) const {
    return std::any_of(vips.begin(), vips.end(), [f](const Vip& v) { return v.address.family == f; });
}

IpAddress Instance::advert_group(Family f) const {
    for (const auto& g : multicast_groups)
        if (g.family == f) return g;
    return vrrp_multicast_group(f);
}

InterfaceOptions Config::interface_options(const std::string& ifname) const {
    const auto it = interfaces.find(ifname);
    return it == interfaces.end() ? InterfaceOptions{} : it->second;
}

Config parse(const std::string& json_text) {
    json j;
    try {
        j = json::parse(json_text);
    } catch (const json::parse_error& e) {
        throw ConfigError("", std::string("not valid JSON: ") + e.what());
    }
    Object root(j, "");
    Config c;
    Problems problems;
    if (root.has("global")) problems.guard([&] {
        Object g(root.value("global"), "global");
        c.global.pin_root = g.string("pin_root", c.global.pin_root);
        if (c.global.pin_root.empty() || c.global.pin_root[0] != '/')
            throw ConfigError("global.pin_root", "must be an absolute path");
        c.global.control_socket = g.string("control_socket", c.global.control_socket);
        if (c.global.control_socket.empty() || c.global.control_socket[0] != '/')
            throw ConfigError("global.control_socket", "must be an absolute path");
        if (g.has("control_group")) c.global.control_group = g.string("control_group", std::nullopt);
        c.global.heartbeat_timeout_ms = static_cast<std::uint32_t>(g.integer("heartbeat_timeout_ms", 0, 600'000, c.global.heartbeat_timeout_ms));
        if (g.has("notify_fifo")) {
            Object f(g.value("notify_fifo"), "global.notify_fifo");
            c.global.notify_fifo = f.string("path", std::nullopt);
            if (!is_absolute_path(*c.global.notify_fifo)) throw ConfigError(f.at("path"), "must be an absolute path");
            if (f.has("script")) c.global.notify_fifo_script = argv(f.value("script"), f.at("script"));
            f.finish();
        }
        c.global.notify_timeout_ms = static_cast<std::uint32_t>(g.integer("notify_timeout_ms", 100, 3'600'000, c.global.notify_timeout_ms));
        if (g.has("script_user")) c.global.script_user = user_name(g.value("script_user"), "global.script_user");
        if (g.has("metrics")) c.global.metrics = metrics(g.value("metrics"), "global.metrics");
        g.finish();
    });
    if (root.has("interfaces")) problems.guard([&] {
        const json& ifs = root.value("interfaces");
        if (!ifs.is_object()) throw ConfigError("interfaces", "must be an object keyed by interface name, got " + type_name(ifs));
        for (const auto& [name, v] : ifs.items()) problems.guard([&] {
            const std::string p = "interfaces." + name;
            if (!is_interface_name(name)) throw ConfigError(p, "not an interface name");
            c.interfaces[name] = interface_options(v, p);
        });
    });
    ParsedTrackers trackers;
    if (root.has("trackers")) problems.guard([&] {
        const json& ts = root.value("trackers");
        if (!ts.is_object()) throw ConfigError("trackers", "must be an object keyed by tracker name, got " + type_name(ts));
        for (const auto& [name, v] : ts.items()) {
            trackers[name];
            problems.guard([&] {
                if (name.empty()) throw ConfigError("trackers", "a tracker name must not be empty");
                const std::size_t before = problems.size();
                Tracker t = tracker(v, "trackers." + name, problems);
                if (problems.size() == before) trackers[name] = std::move(t);
            });
        }
    });
    for (auto& [name, t] : trackers)
        if (t) {
            if (t->kind == TrackerKind::Script && !t->user) t->user = c.global.script_user;
            c.trackers.emplace(name, *t);
        }
    std::vector<std::string> paths;
    bool listed = false;
    problems.guard([&] {
        root.array("instances", [&](const json& v, const std::string& p) {
            listed = true;
            if (auto in = instance(v, p, trackers, problems)) {
                c.instances.push_back(std::move(*in));
                paths.push_back(p);
            }
        });
    });
    if (!listed && problems.empty()) problems.guard([] { throw ConfigError("instances", "at least one instance is required"); });
    std::set<std::string> instance_names;  // as written, good or not
    if (root.has("instances") && root.value("instances").is_array())
        for (const auto& in : root.value("instances"))
            if (in.is_object() && in.contains("name") && in["name"].is_string()) instance_names.insert(in["name"].get<std::string>());
    std::vector<std::string> group_paths;
    problems.guard([&] {
        root.array("sync_groups", [&](const json& v, const std::string& p) {
            if (auto g = sync_group(v, p, trackers, instance_names, problems)) {
                c.sync_groups.push_back(std::move(*g));
                group_paths.push_back(p);
            }
        });
    });
    root.finish(problems);
    check_across_instances(c, paths, problems);
    check_sync_groups(c, group_paths, problems);
    problems.guard([&] { check_capacity(c); });
    problems.raise();
    return c;
}

ConfigError::ConfigError(const std::vector<ConfigError>& all)
    : std::runtime_error(join(all)), path_(all.empty() ? "" : all.front().path()), count_(all.size()) {}

std::string ConfigError::join(const std::vector<ConfigError>& all) {
    std::string out = std::to_string(all.size()) + " problems:";
    for (const auto& e : all) out += "\n  " + std::string(e.what());
    return out;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw ConfigError("", "cannot read " + path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

Config load_file(const std::string& path) { return parse(read_file(path)); }

}  // namespace xvrrp::config
