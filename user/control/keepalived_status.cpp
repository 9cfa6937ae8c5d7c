#include "xvrrp/keepalived_status.hpp"

#include <cmath>

namespace xvrrp::keepalived {

namespace {

// keepalived's cmd_str(): each argument in single quotes, separated by spaces.
std::string command_text(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& a : argv) out += (out.empty() ? "'" : " '") + a + "'";
    return out;
}

double seconds(std::uint64_t ms) { return static_cast<double>(ms) / 1000.0; }

}  // namespace

int state_number(fsm::State s) {
    switch (s) {
        case fsm::State::Initialize: return 0;
        case fsm::State::Backup: return 1;
        case fsm::State::Master: return 2;
        case fsm::State::Fault: return 3;
    }
    return 0;
}

nlohmann::json instance_json(const RouterView& r, const std::map<std::string, config::Tracker>& trackers) {
    const config::Instance& in = r.cfg;
    const config::Announce& an = in.announce;
    nlohmann::json d = nlohmann::json::object();
    d["iname"] = r.iname;
    d["dont_track_primary"] = in.track_primary ? 0 : 1;
    if (!in.vmac_interface.empty()) d["vmac_ifname"] = in.vmac_interface;
    d["ifp_ifname"] = in.interface;
    d["master_priority"] = r.master_priority;
    d["last_transition"] = r.last_transition;
    d["garp_delay"] = seconds(an.second_burst_ms);
    d["garp_refresh"] = an.refresh_ms / 1000;
    d["garp_rep"] = an.repeat;
    d["garp_refresh_rep"] = an.refresh_repeat;
    d["garp_lower_prio_rep"] = an.lower_prio_repeat.value_or(an.repeat);
    d["vrid"] = in.vrid;
    d["base_priority"] = in.priority;
    d["effective_priority"] = r.effective_priority;
    d["vipset"] = r.state == fsm::State::Master;
    d["promote_secondaries"] = false;
    d["adver_int"] = seconds(in.advert_interval_ms);
    d["master_adver_int"] = r.master_adver_int_cs ? static_cast<double>(r.master_adver_int_cs) / 100.0 : seconds(in.advert_interval_ms);
    d["accept"] = in.accept_mode ? 1 : 0;
    d["nopreempt"] = !in.preempt;
    d["preempt_delay"] = in.preempt_delay_ms / 1000;
    d["state"] = state_number(r.state);
    d["wantstate"] = state_number(r.state);
    d["version"] = in.version;
    d["smtp_alert"] = false;
    const std::pair<const char*, const std::vector<std::string>*> scripts[] = {
        {"script_backup", &in.notify.backup}, {"script_master", &in.notify.master}, {"script_fault", &in.notify.fault},
        {"script_stop", &in.notify.stop},     {"script", &in.notify.any}};
    for (const auto& [key, argv] : scripts)
        if (!argv->empty()) d[key] = command_text(*argv);
    nlohmann::json vips = nlohmann::json::array();
    for (const auto& v : in.vips)
        if (v.address.family == r.family) vips.push_back(config::vip_text(v, in.interface));
    if (!vips.empty()) d["vips"] = vips;
    nlohmann::json vroutes = nlohmann::json::array(), vrules = nlohmann::json::array();
    for (const auto& rt : in.virtual_routes)
        if (rt.to.address.family == r.family) vroutes.push_back(config::route_text(rt, in.interface));
    for (const auto& ru : in.virtual_rules)
        if (ru.family == r.family) vrules.push_back(config::rule_text(ru));
    if (!vroutes.empty()) d["vroutes"] = vroutes;
    if (!vrules.empty()) d["vrules"] = vrules;
    nlohmann::json track_ifp = nlohmann::json::array(), track_script = nlohmann::json::array();
    for (const auto& use : in.track) {
        const auto t = trackers.find(use.tracker);
        if (t == trackers.end()) continue;
        if (t->second.kind == config::TrackerKind::Interface) track_ifp.push_back(t->second.interface);
        if (t->second.kind == config::TrackerKind::Script) track_script.push_back(command_text(t->second.command));
    }
    if (!track_ifp.empty()) d["track_ifp"] = track_ifp;
    if (!track_script.empty()) d["track_script"] = track_script;
    if (in.auth_pass) {
        d["auth_type"] = 1;  // VRRP_AUTH_PASS
        d["auth_data"] = "********";
    } else {
        d["auth_type"] = 0;
    }
    const nlohmann::json stats = {{"advert_rcvd", r.adverts_received},
                                  {"advert_sent", r.sent.adverts_sent},
                                  {"become_master", r.sent.become_master},
                                  {"release_master", r.sent.release_master},
                                  {"pri_zero_rcvd", r.priority_zero_received},
                                  {"pri_zero_sent", r.sent.priority_zero_sent}};
    return {{"data", d}, {"stats", stats}};
}

}  // namespace xvrrp::keepalived
