// Config validation: the bundled default and a full example parse; every
// class of mistake is rejected with the JSON path and the reason.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "xvrrp/config.hpp"

using namespace xvrrp;
using namespace xvrrp::config;
using json = nlohmann::json;

namespace {

json minimal() {
    return json::parse(R"({
      "instances": [
        {"name": "a", "interface": "eth0", "vrid": 1, "vips": ["192.0.2.100/24"]},
        {"name": "b", "interface": "eth0", "vrid": 2, "vips": ["2001:db8::100/64"]}
      ]})");
}

// The error message for a config, or "" when it parsed.
std::string error_of(const json& j) {
    try {
        parse(j.dump());
        return "";
    } catch (const ConfigError& e) {
        return e.what();
    }
}

#define EXPECT_REJECTED(j, path, reason_part)                                          \
    do {                                                                               \
        const std::string msg = error_of(j);                                           \
        EXPECT_EQ(msg.rfind(std::string(path) + ": ", 0), 0u) << "message: " << msg;   \
        EXPECT_NE(msg.find(reason_part), std::string::npos) << "message: " << msg;     \
    } while (0)

}  // namespace

TEST(Config, BundledDefaultParses) {
    const Config c = load_file(XVRRP_SOURCE_DIR "/config/default.json");
    ASSERT_EQ(c.instances.size(), 2u);
    EXPECT_EQ(c.instances[0].adver_int_cs(), 10);
    EXPECT_TRUE(c.instances[0].has_family(Family::V4));
    EXPECT_TRUE(c.instances[0].has_family(Family::V6));
    EXPECT_EQ(c.instances[1].auth_pass, "xvrrp");
    EXPECT_EQ(c.interface_options("vr0").xdp_mode, XdpMode::Native);
}

TEST(Config, DefaultsAreTheDocumentedOnes) {
    const Config c = parse(minimal().dump());
    const Instance& i = c.instances[0];
    EXPECT_EQ(i.version, 3);
    EXPECT_EQ(i.priority, 100);
    EXPECT_EQ(i.advert_interval_ms, 1000u);
    EXPECT_TRUE(i.preempt);
    EXPECT_EQ(i.preempt_delay_ms, 0u);
    EXPECT_TRUE(i.accept_mode);
    EXPECT_EQ(i.mac, MacMode::Virtual);
    EXPECT_TRUE(i.unicast_peers.empty());
    EXPECT_EQ(i.down_timer_adverts, 3);
    EXPECT_FALSE(i.v3_checksum_as_v2);
    EXPECT_EQ(i.announce, Announce{});
    EXPECT_EQ(i.vips[0].prefix_len, 24);
    EXPECT_EQ(c.global.pin_root, "/sys/fs/bpf/xvrrp");
    EXPECT_EQ(c.global.heartbeat_timeout_ms, 1000u);
    EXPECT_EQ(c.interface_options("eth0"), InterfaceOptions{});
}

TEST(Config, FullExampleParses) {
    json j = minimal();
    j["global"] = {{"pin_root", "/sys/fs/bpf/x"}, {"control_socket", "/run/x.sock"}, {"heartbeat_timeout_ms", 0}};
    j["interfaces"] = {{"eth0", {{"xdp_mode", "generic"}, {"pass_adverts", true}}}};
    j["instances"][0].update({{"version", 2}, {"priority", 255}, {"advert_interval_ms", 3000}, {"preempt", false},
                              {"preempt_delay_ms", 5000}, {"accept_mode", false}, {"mac", "interface"},
                              {"unicast_source", "192.0.2.1"}, {"unicast_peers", {"192.0.2.2", "192.0.2.3"}},
                              {"authentication", {{"type", "pass"}, {"password", "12345678"}}},
                              {"down_timer_adverts", 4},
                              {"announce", {{"delay_ms", 10}, {"repeat", 3}, {"interval_ms", 50}, {"refresh_ms", 60000}}}});
    j["instances"][1].update({{"v3_checksum_as_v2", true}, {"advert_interval_ms", 10}});
    const Config c = parse(j.dump());
    EXPECT_EQ(c.instances[0].unicast_peers.size(), 2u);
    EXPECT_EQ(c.instances[0].announce.refresh_ms, 60000u);
    EXPECT_TRUE(c.interface_options("eth0").pass_adverts);
    EXPECT_EQ(c.instances[1].adver_int_cs(), 1);
}

TEST(Config, NotJson) {
    const std::string msg = [] {
        try {
            parse("{\"instances\": [");
        } catch (const ConfigError& e) {
            return std::string(e.what());
        }
        return std::string();
    }();
    EXPECT_NE(msg.find("not valid JSON"), std::string::npos) << msg;
}

TEST(Config, UnknownKeysAreNamed) {
    json j = minimal();
    j["instances"][1]["priorty"] = 200;
    EXPECT_REJECTED(j, "instances[1].priorty", "unknown key");
    j = minimal();
    j["globl"] = json::object();
    EXPECT_REJECTED(j, "globl", "unknown key");
    j = minimal();
    j["instances"][0]["announce"] = {{"repeats", 2}};
    EXPECT_REJECTED(j, "instances[0].announce.repeats", "unknown key");
}

TEST(Config, WrongTypes) {
    json j = minimal();
    j["instances"][0]["priority"] = "high";
    EXPECT_REJECTED(j, "instances[0].priority", "must be an integer, got a string");
    j = minimal();
    j["instances"][0]["preempt"] = 1;
    EXPECT_REJECTED(j, "instances[0].preempt", "must be true or false");
    j = minimal();
    j["instances"][0]["vips"] = "192.0.2.100";
    EXPECT_REJECTED(j, "instances[0].vips", "must be an array");
    j = minimal();
    j["instances"] = json::object();
    EXPECT_REJECTED(j, "instances", "must be an array");
}

TEST(Config, MissingRequiredKeys) {
    json j = minimal();
    j["instances"][0].erase("vrid");
    EXPECT_REJECTED(j, "instances[0].vrid", "is required");
    j = minimal();
    j["instances"][1].erase("interface");
    EXPECT_REJECTED(j, "instances[1].interface", "is required");
    EXPECT_REJECTED(json::object(), "instances", "at least one instance");
}

TEST(Config, OutOfRangeValues) {
    json j = minimal();
    j["instances"][0]["priority"] = 0;
    EXPECT_REJECTED(j, "instances[0].priority", "must be 1-255, got 0");
    j["instances"][0]["priority"] = 256;
    EXPECT_REJECTED(j, "instances[0].priority", "must be 1-255, got 256");
    j = minimal();
    j["instances"][0]["vrid"] = 0;
    EXPECT_REJECTED(j, "instances[0].vrid", "must be 1-255");
    j = minimal();
    j["instances"][0]["version"] = 4;
    EXPECT_REJECTED(j, "instances[0].version", "must be 2-3");
    j = minimal();
    j["instances"][0]["advert_interval_ms"] = 5;
    EXPECT_REJECTED(j, "instances[0].advert_interval_ms", "must be 10-40950");
    j["instances"][0]["advert_interval_ms"] = 15;
    EXPECT_REJECTED(j, "instances[0].advert_interval_ms", "multiple of 10");
    j = minimal();
    j["instances"][0].update({{"version", 2}, {"advert_interval_ms", 1500}});
    EXPECT_REJECTED(j, "instances[0].advert_interval_ms", "whole seconds");
    j = minimal();
    j["instances"][0]["down_timer_adverts"] = 0;
    EXPECT_REJECTED(j, "instances[0].down_timer_adverts", "must be 1-255");
}

// keepalived's `virtual_ipaddress { 192.0.2.10/24 dev eth1 label eth1:vip scope link }`.
TEST(Config, VipObjectsCarryDevLabelAndScope) {
    json j = minimal();
    j["instances"][0]["vips"] = json::parse(R"([
      "192.0.2.100/24",
      {"address": "198.51.100.10/24", "dev": "eth1", "label": "eth1:vip", "scope": "link"},
      {"address": "203.0.113.10", "dev": "eth0", "scope": 200}])");
    const Config c = parse(j.dump());
    const auto& v = c.instances[0].vips;
    ASSERT_EQ(v.size(), 3u);
    EXPECT_EQ(v[0], (Vip{.address = IpAddress::from("192.0.2.100"), .prefix_len = 24}));
    EXPECT_EQ(v[1].dev, "eth1");
    EXPECT_EQ(v[1].label, "eth1:vip");
    EXPECT_EQ(v[1].scope, 253);
    EXPECT_EQ(v[1].prefix_len, 24);
    EXPECT_EQ(v[2].dev, "") << "the instance's own interface is the default";
    EXPECT_EQ(v[2].scope, 200);
    EXPECT_EQ(vip_text(v[0], "eth0"), "192.0.2.100/24 dev eth0 scope global");
    EXPECT_EQ(vip_text(v[1], "eth0"), "198.51.100.10/24 dev eth1 scope link label eth1:vip");
    EXPECT_EQ(vip_text(v[2], "eth0"), "203.0.113.10 dev eth0 scope site");
}

// keepalived's virtual_routes / virtual_rules: held while MASTER, one family each.
TEST(Config, VirtualRoutesAndRules) {
    json j = minimal();
    j["instances"][0]["virtual_routes"] = json::parse(R"([
      {"to": "198.51.100.0/24", "via": "192.0.2.254", "table": 100, "metric": 10, "src": "192.0.2.100"},
      {"to": "0.0.0.0/0", "dev": "eth1", "scope": "link"},
      {"to": "203.0.113.0/24", "type": "blackhole"}])");
    j["instances"][0]["virtual_rules"] = json::parse(R"([
      {"from": "192.0.2.100", "table": 100, "priority": 100},
      {"to": "198.51.100.0/24", "iif": "eth0", "fwmark": 7, "table": 100}])");
    j["instances"][1]["virtual_routes"] = json::parse(R"([{"to": "2001:db8:1::/48", "via": "2001:db8::1"}])");
    const Config c = parse(j.dump());
    const auto& r = c.instances[0].virtual_routes;
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r[0].to, (Prefix{IpAddress::from("198.51.100.0"), 24}));
    EXPECT_EQ(r[0].via, IpAddress::from("192.0.2.254"));
    EXPECT_EQ(r[0].table, 100u);
    EXPECT_EQ(route_text(r[0], "eth0"), "198.51.100.0/24 via 192.0.2.254 dev eth0 src 192.0.2.100 table 100 metric 10");
    EXPECT_EQ(route_text(r[1], "eth0"), "0.0.0.0/0 dev eth1 scope link");
    EXPECT_EQ(r[2].type, RouteType::Blackhole);
    EXPECT_EQ(route_text(r[2], "eth0"), "blackhole 203.0.113.0/24");
    const auto& u = c.instances[0].virtual_rules;
    ASSERT_EQ(u.size(), 2u);
    EXPECT_EQ(u[0].family, Family::V4);
    EXPECT_EQ(rule_text(u[0]), "from 192.0.2.100 lookup 100 priority 100");
    EXPECT_EQ(rule_text(u[1]), "to 198.51.100.0/24 iif eth0 fwmark 7 lookup 100");
    EXPECT_EQ(c.instances[1].virtual_routes.at(0).to.len, 48);
}

TEST(Config, BadVirtualRoutesAndRules) {
    json j = minimal();
    auto route = [&](const char* text) { j["instances"][0]["virtual_routes"] = json::array({json::parse(text)}); };
    route(R"({"via": "192.0.2.254"})");
    EXPECT_REJECTED(j, "instances[0].virtual_routes[0].to", "is required");
    route(R"({"to": "198.51.100.7/24"})");
    EXPECT_REJECTED(j, "instances[0].virtual_routes[0].to", "did you mean \"198.51.100.0/24\"");
    route(R"({"to": "198.51.100.0/24", "via": "2001:db8::1"})");
    EXPECT_REJECTED(j, "instances[0].virtual_routes[0].via", "not of the family of the destination");
    route(R"({"to": "198.51.100.0/24", "type": "blackhole", "via": "192.0.2.1"})");
    EXPECT_REJECTED(j, "instances[0].virtual_routes[0]", "a blackhole route has no via or dev");
    route(R"({"to": "198.51.100.0/24", "type": "nat"})");
    EXPECT_REJECTED(j, "instances[0].virtual_routes[0].type", "must be unicast, blackhole");
    route(R"({"to": "198.51.100.0/24", "table": 255})");
    EXPECT_REJECTED(j, "instances[0].virtual_routes[0].table", "the kernel's local table");
    route(R"({"to": "2001:db8:1::/48"})");
    EXPECT_REJECTED(j, "instances[0].virtual_routes[0]", "no VIP of that family");
    j = minimal();
    auto rule = [&](const char* text) { j["instances"][0]["virtual_rules"] = json::array({json::parse(text)}); };
    rule(R"({"table": 100})");
    EXPECT_REJECTED(j, "instances[0].virtual_rules[0]", "needs \"from\" or \"to\"");
    rule(R"({"from": "192.0.2.100"})");
    EXPECT_REJECTED(j, "instances[0].virtual_rules[0].table", "is required");
    rule(R"({"from": "192.0.2.100", "to": "2001:db8::/32", "table": 1})");
    EXPECT_REJECTED(j, "instances[0].virtual_rules[0].to", "not of the family of \"from\"");
    rule(R"({"from": "192.0.2.100", "table": 1, "goto": 5})");
    EXPECT_REJECTED(j, "instances[0].virtual_rules[0].goto", "unknown key");
}

TEST(Config, VmacInterface) {
    json j = minimal();
    j["instances"][0]["vmac_interface"] = "vrrp.1";
    EXPECT_EQ(parse(j.dump()).instances[0].vmac_interface, "vrrp.1");
    j["instances"][0]["mac"] = "interface";
    EXPECT_REJECTED(j, "instances[0].vmac_interface", "needs \"mac\": \"virtual\"");
    j = minimal();
    j["instances"][0]["vmac_interface"] = "eth0";
    EXPECT_REJECTED(j, "instances[0].vmac_interface", "must differ from the instance's interface");
    j["instances"][0]["vmac_interface"] = "vrrp/1";
    EXPECT_REJECTED(j, "instances[0].vmac_interface", "not an interface name");
    j["instances"][0]["vmac_interface"] = "vrrp.1";
    j["instances"][0]["vips"] = {"192.0.2.100/24", "2001:db8::1/64"};
    EXPECT_REJECTED(j, "instances[0].vmac_interface", "an instance of one address family");
    j = minimal();
    j["instances"][0]["vmac_interface"] = "vrrp.1";
    j["instances"][1]["vmac_interface"] = "vrrp.1";
    EXPECT_REJECTED(j, "instances[1].vmac_interface", "is also the vmac_interface of instances[0]");
    j["instances"][1]["vmac_interface"] = "vrrp.2";
    j["instances"][1]["interface"] = "vrrp.1";
    EXPECT_REJECTED(j, "instances[0].vmac_interface", "is an instance's interface");
}

TEST(Config, BadVipObjects) {
    json j = minimal();
    j["instances"][0]["vips"] = json::parse(R"([{"dev": "eth1"}])");
    EXPECT_REJECTED(j, "instances[0].vips[0].address", "is required");
    j["instances"][0]["vips"] = json::parse(R"([{"address": "192.0.2.1", "scope": "galaxy"}])");
    EXPECT_REJECTED(j, "instances[0].vips[0].scope", "must be global, site, link, host, nowhere or 0-255");
    j["instances"][0]["vips"] = json::parse(R"([{"address": "192.0.2.1", "scope": 256}])");
    EXPECT_REJECTED(j, "instances[0].vips[0].scope", "must be 0-255");
    j["instances"][0]["vips"] = json::parse(R"([{"address": "192.0.2.1", "label": "a-very-long-label-name"}])");
    EXPECT_REJECTED(j, "instances[0].vips[0].label", "at most 15 characters");
    j["instances"][1]["vips"] = json::parse(R"([{"address": "2001:db8::1", "label": "eth0:6"}])");
    j["instances"][0]["vips"] = {"192.0.2.100"};
    EXPECT_REJECTED(j, "instances[1].vips[0].label", "IPv4 addresses only");
    j = minimal();
    j["instances"][0]["vips"] = json::parse(R"([{"address": "192.0.2.1", "dev": "a/b"}])");
    EXPECT_REJECTED(j, "instances[0].vips[0].dev", "not an interface name");
    j["instances"][0]["vips"] = json::parse(R"([{"address": "192.0.2.1", "device": "eth1"}])");
    EXPECT_REJECTED(j, "instances[0].vips[0].device", "unknown key");
    j["instances"][0]["vips"] = json::parse(R"([{"address": "192.0.2.300"}])");
    EXPECT_REJECTED(j, "instances[0].vips[0].address", "not an IPv4 or IPv6 address");
}

TEST(Config, BadAddresses) {
    json j = minimal();
    j["instances"][0]["vips"] = {"192.0.2.100/24", "192.0.2.300"};
    EXPECT_REJECTED(j, "instances[0].vips[1]", "not an IPv4 or IPv6 address");
    j["instances"][0]["vips"] = {"192.0.2.100/33"};
    EXPECT_REJECTED(j, "instances[0].vips[0]", "prefix length must be 0-32");
    j["instances"][0]["vips"] = {"192.0.2.100", "192.0.2.100/24"};
    EXPECT_REJECTED(j, "instances[0].vips[1]", "listed twice");
    j["instances"][0]["vips"] = json::array();
    EXPECT_REJECTED(j, "instances[0].vips", "at least one VIP");
    j = minimal();
    j["instances"][0]["unicast_peers"] = {"2001:db8::2"};
    EXPECT_REJECTED(j, "instances[0].unicast_peers[0]", "no VIP of");
    j = minimal();
    j["instances"][0]["unicast_source"] = "192.0.2.1";
    EXPECT_REJECTED(j, "instances[0].unicast_source", "only used with unicast_peers");
    j = minimal();
    j["instances"][0]["interface"] = "a/b";
    EXPECT_REJECTED(j, "instances[0].interface", "not an interface name");
}

TEST(Config, VersionSpecificKeys) {
    json j = minimal();
    j["instances"][1]["version"] = 2;
    EXPECT_REJECTED(j, "instances[1].vips[0]", "VRRPv2 carries IPv4 only");
    j = minimal();
    j["instances"][0]["authentication"] = {{"type", "pass"}, {"password", "x"}};
    EXPECT_REJECTED(j, "instances[0].authentication", "only for version 2");
    j["instances"][0]["version"] = 2;
    j["instances"][0]["authentication"]["password"] = "123456789";
    EXPECT_REJECTED(j, "instances[0].authentication.password", "1-8 characters");
    j["instances"][0]["authentication"] = {{"type", "ah"}, {"password", "x"}};
    EXPECT_REJECTED(j, "instances[0].authentication.type", "only \"pass\"");
    j = minimal();
    j["instances"][0].update({{"version", 2}, {"v3_checksum_as_v2", true}});
    EXPECT_REJECTED(j, "instances[0].v3_checksum_as_v2", "only applies to version 3");
}

TEST(Config, EnumeratedStrings) {
    json j = minimal();
    j["instances"][0]["mac"] = "vmac";
    EXPECT_REJECTED(j, "instances[0].mac", "\"virtual\" or \"interface\"");
    j = minimal();
    j["interfaces"] = {{"eth0", {{"xdp_mode", "offload"}}}};
    EXPECT_REJECTED(j, "interfaces.eth0.xdp_mode", "\"auto\", \"native\" or \"generic\"");
    j = minimal();
    j["global"] = {{"pin_root", "relative/path"}};
    EXPECT_REJECTED(j, "global.pin_root", "absolute path");
}

TEST(Config, DuplicateVridOnOneInterfaceAndFamily) {
    json j = minimal();
    j["instances"][1]["vrid"] = 1;  // same interface, other family: allowed (separate virtual MACs)
    EXPECT_EQ(error_of(j), "");
    j["instances"][1]["vips"] = {"192.0.2.101/24"};
    EXPECT_REJECTED(j, "instances[1].vrid", "VRID 1 on eth0 (IPv4) is also used by instances[0]");
    j["instances"][1]["interface"] = "eth1";  // another interface: allowed
    EXPECT_EQ(error_of(j), "");
}

TEST(Config, VipInTwoInstances) {
    json j = minimal();
    j["instances"][1]["vips"] = {"2001:db8::1/64", "192.0.2.100/32"};
    EXPECT_REJECTED(j, "instances[1].vips[1]", "192.0.2.100 is also a VIP of instances[0] (\"a\")");
}

TEST(Config, DuplicateNames) {
    json j = minimal();
    j["instances"][1]["name"] = "a";
    EXPECT_REJECTED(j, "instances[1].name", "\"a\" is also the name of instances[0]");
}

namespace {

json with_vips(const json& vips, int version = 3) {
    json j = minimal();
    j["instances"][0]["vips"] = vips;
    j["instances"][0]["version"] = version;
    return j;
}

}  // namespace

TEST(Config, CheckRejectsWhatTheRuntimeCannotCarry) {
    EXPECT_REJECTED(with_vips({"224.0.0.18"}), "instances[0].vips[0]", "multicast");
    EXPECT_REJECTED(with_vips({"ff02::12"}), "instances[0].vips[0]", "multicast");
    EXPECT_REJECTED(with_vips({"169.254.1.1/16"}), "instances[0].vips[0]", "link-local");
    EXPECT_REJECTED(with_vips({"fe80::1/64"}), "instances[0].vips[0]", "link-local");

    json many4 = json::array(), many6 = json::array();
    for (int i = 0; i < 256; ++i) many4.push_back("198.51." + std::to_string(i / 200) + "." + std::to_string(i % 200 + 1));
    for (int i = 0; i < 65; ++i) many6.push_back("2001:db8::" + std::to_string(i + 1));
    EXPECT_REJECTED(with_vips(many4), "instances[0].vips", "at most 255");
    EXPECT_REJECTED(with_vips(many6), "instances[0].vips", "1048-byte advert");
    many6.erase(many6.end() - 1);
    EXPECT_EQ(error_of(with_vips(many6)), "") << "64 IPv6 addresses fit in 1032 bytes";

    // More routers than slots: 8193 IPv6 instances are 8193 routers.
    json big = json::object();
    big["instances"] = json::array();
    for (int i = 0; i < 8193; ++i)
        big["instances"].push_back({{"name", "i" + std::to_string(i)}, {"interface", "eth" + std::to_string(i / 250)},
                                    {"vrid", i % 250 + 1},
                                    {"vips", {"2001:db8:" + std::to_string(i / 250 + 1) + "::" + std::to_string(i % 250 + 1)}}});
    EXPECT_REJECTED(big, "instances", "8193 routers");
    big["instances"].erase(big["instances"].end() - 1);
    EXPECT_EQ(error_of(big), "") << "8192 routers fit";
}

TEST(Config, UnicastOptionsNeedPeers) {
    json j = minimal();
    j["instances"][0]["unicast_routed"] = true;
    EXPECT_REJECTED(j, "instances[0].unicast_routed", "only used with unicast_peers");
    j["instances"][0]["unicast_peers"] = {"192.0.2.2"};
    const Config c = parse(j.dump());
    EXPECT_TRUE(c.instances[0].unicast_routed);
    EXPECT_TRUE(c.instances[0].unicast_check_source) << "on by default";
}

// keepalived's vrrp_mcast_group4/6: one multicast group per family the instance has, none with
// unicast peers; the RFC's where none is given.
TEST(Config, MulticastGroupsAreMulticastOnePerFamilyAndNotWithPeers) {
    json j = minimal();
    EXPECT_EQ(parse(j.dump()).instances[0].advert_group(Family::V4), IpAddress::from("224.0.0.18"));
    EXPECT_EQ(parse(j.dump()).instances[1].advert_group(Family::V6), IpAddress::from("ff02::12"));
    j["instances"][0]["multicast_groups"] = {"192.0.2.19"};
    EXPECT_REJECTED(j, "instances[0].multicast_groups[0]", "is not a multicast address");
    j["instances"][0]["multicast_groups"] = {"ff02::19"};
    EXPECT_REJECTED(j, "instances[0].multicast_groups[0]", "a family this instance has no VIP of");
    j["instances"][0].erase("multicast_groups");
    j["instances"][1]["multicast_groups"] = {"ff05::19"};
    EXPECT_REJECTED(j, "instances[1].multicast_groups[0]", "not of link-local scope");
    j["instances"][1].erase("multicast_groups");
    j["instances"][0]["multicast_groups"] = {"224.0.0.19", "224.0.0.20"};
    EXPECT_REJECTED(j, "instances[0].multicast_groups[1]", "a second group of the same family");
    j["instances"][0]["multicast_groups"] = {"224.0.0.19"};
    j["instances"][0]["unicast_peers"] = {"192.0.2.2"};
    EXPECT_REJECTED(j, "instances[0].multicast_groups", "only used without unicast_peers");
    j["instances"][0].erase("unicast_peers");
    j["instances"][1]["multicast_groups"] = {"ff02::19"};
    const Config c = parse(j.dump());
    EXPECT_EQ(c.instances[0].advert_group(Family::V4), IpAddress::from("224.0.0.19"));
    EXPECT_EQ(c.instances[1].advert_group(Family::V6), IpAddress::from("ff02::19"));
}

TEST(Config, EveryProblemIsReportedNotOnlyTheFirst) {
    json j = minimal();
    j["global"] = {{"pin_root", "relative"}};
    j["instances"][0]["priority"] = 300;
    j["instances"][1]["vips"] = {"ff02::1"};
    j["instances"].push_back({{"name", "c"}, {"interface", "eth0"}, {"vrid", 3}, {"vips", {"192.0.2.100/24"}}});
    j["instances"].push_back({{"name", "c"}, {"interface", "eth0"}, {"vrid", 4}, {"vips", {"192.0.2.101/24"}}});
    j["typo"] = 1;
    try {
        parse(j.dump());
        FAIL() << "accepted";
    } catch (const ConfigError& e) {
        const std::string msg = e.what();
        EXPECT_EQ(e.count(), 5u) << msg;
        EXPECT_EQ(e.path(), "global.pin_root");
        for (const char* part : {"global.pin_root: must be an absolute path", "instances[0].priority: must be 1-255",
                                 "instances[1].vips[0]: a multicast address", "typo: unknown key",
                                 "instances[3].name: \"c\" is also the name of instances[2]"})
            EXPECT_NE(msg.find(part), std::string::npos) << part << "\n" << msg;
    }
}

// Several problems inside one instance are all reported, each once: a setting that needs a bad
// one (the interval needs the version) is not reported again in its name.
TEST(Config, EveryProblemInsideOneInstanceIsReported) {
    json j = minimal();
    json& in = j["instances"][0];
    in["name"] = "";
    in["priority"] = 0;
    in["vips"] = {"ff02::1", "192.0.2.100/24", "192.0.2.100/24", "not an address"};
    in["unicast_peers"] = {"192.0.2.2", 7};
    in["authentication"] = {{"type", "ah"}, {"password", ""}};
    in["mac"] = "sometimes";
    in["announce"] = {{"repeat", 1000}};
    in["preemt"] = false;
    in["version"] = 4;
    in["advert_interval_ms"] = 15;
    try {
        parse(j.dump());
        FAIL() << "accepted";
    } catch (const ConfigError& e) {
        const std::string msg = e.what();
        const std::vector<std::string> parts{
            "instances[0].name: must not be empty", "instances[0].version: must be 2-3", "instances[0].priority: must be 1-255",
            "instances[0].vips[0]: a multicast address", "instances[0].vips[2]: listed twice",
            "instances[0].vips[3]: not an IPv4 or IPv6 address", "instances[0].mac: must be",
            "instances[0].unicast_peers[1]: must be a string", "instances[0].authentication.type: only \"pass\"",
            "instances[0].authentication.password: must be 1-8", "instances[0].announce.repeat: must be 0-100",
            "instances[0].preemt: unknown key"};
        for (const auto& part : parts) EXPECT_NE(msg.find(part), std::string::npos) << part << "\n" << msg;
        EXPECT_EQ(e.count(), parts.size()) << msg;
        EXPECT_EQ(msg.find("advert_interval_ms"), std::string::npos) << "not judged without a version\n" << msg;
    }
}

namespace {

json with_trackers() {
    json j = minimal();
    j["trackers"] = json::parse(R"({
      "web":  {"type": "tcp", "address": "198.51.100.1", "port": 80, "interval_ms": 500, "fall": 2},
      "chk":  {"type": "script", "command": ["/bin/true"], "weight": -20},
      "prio": {"type": "file", "path": "/run/xvrrp/prio"},
      "up":   {"type": "interface", "name": "eth1", "down_delay_ms": 100}
    })");
    j["instances"][0]["track"] = json::parse(R"(["chk", {"tracker": "web", "weight": 10, "reverse": true}, "prio", "up"])");
    return j;
}

TEST(Config, TrackersParseWithTheirDefaultsAndTheUsesResolveWeights) {
    const Config c = parse(with_trackers().dump());
    ASSERT_EQ(c.trackers.size(), 4u);
    const Tracker& web = c.trackers.at("web");
    EXPECT_EQ(web.kind, TrackerKind::Tcp);
    EXPECT_EQ(web.timeout_ms, 500u) << "the timeout defaults to the interval";
    EXPECT_EQ(web.fall, 2u);
    EXPECT_EQ(web.rise, 1u);
    EXPECT_EQ(c.trackers.at("prio").weight, 1) << "a file's weight defaults to 1";
    EXPECT_EQ(c.trackers.at("up").interface, "eth1");
    const auto& uses = c.instances[0].track;
    ASSERT_EQ(uses.size(), 4u);
    EXPECT_EQ(uses[0], (TrackUse{"chk", -20, false})) << "the tracker's weight when the use gives none";
    EXPECT_EQ(uses[1], (TrackUse{"web", 10, true}));
    EXPECT_EQ(uses[2], (TrackUse{"prio", 1, false}));
    EXPECT_TRUE(c.instances[0].track_primary);
}

TEST(Config, TrackerMistakesAreNamed) {
    json j = with_trackers();
    j["instances"][0]["track"][0] = "nope";
    EXPECT_REJECTED(j, "instances[0].track[0]", "no tracker named \"nope\"");

    j = with_trackers();
    j["instances"][0]["track"][1] = "chk";
    EXPECT_REJECTED(j, "instances[0].track[1]", "listed twice");

    j = with_trackers();
    j["instances"][0]["track"][1]["weight"] = 254;
    EXPECT_REJECTED(j, "instances[0].track[1].weight", "must be -253-253 for a tcp tracker");

    j = with_trackers();
    j["instances"][0]["priority"] = 255;
    j["instances"][0]["track"] = json::parse(R"(["up", {"tracker": "web", "weight": -10}])");
    EXPECT_REJECTED(j, "instances[0].track[1].weight", "priority 255 never changes");

    j = with_trackers();
    j["trackers"]["web"]["address"] = "web.example";
    EXPECT_REJECTED(j, "trackers.web.address", "not an IPv4 or IPv6 address");

    j = with_trackers();
    j["trackers"]["chk"]["command"] = "/bin/true";
    EXPECT_REJECTED(j, "trackers.chk.command", "non-empty array of strings");

    j = with_trackers();
    j["trackers"]["prio"]["path"] = "relative/prio";
    EXPECT_REJECTED(j, "trackers.prio.path", "absolute path");

    j = with_trackers();
    j["trackers"]["chk"]["weight"] = -254;
    EXPECT_REJECTED(j, "trackers.chk.weight", "must be -253-253");

    j = with_trackers();
    j["trackers"]["web"]["type"] = "bfd";
    EXPECT_REJECTED(j, "trackers.web.type", "must be \"interface\", \"script\", \"file\", \"tcp\", \"icmp\", \"http\" or \"process\"");

    j = with_trackers();
    j["trackers"]["web"]["prot"] = 80;
    EXPECT_REJECTED(j, "trackers.web.prot", "unknown key");
}

TEST(Config, AnOwnerMayTrackWithWeightZero) {
    json j = with_trackers();
    j["instances"][0]["priority"] = 255;
    j["instances"][0]["track"] = json::parse(R"([{"tracker": "chk", "weight": 0}, "up"])");
    const Config c = parse(j.dump());
    EXPECT_EQ(c.instances[0].track[0].weight, 0);
}

TEST(Config, AFileTrackerTakesWeightsTo254) {
    json j = with_trackers();
    j["instances"][0]["track"] = json::parse(R"([{"tracker": "prio", "weight": -254}])");
    EXPECT_EQ(parse(j.dump()).instances[0].track[0].weight, -254);
}

TEST(Config, NotifyScriptsAndTheFifo) {
    json j = minimal();
    j["global"] = json::parse(R"({"notify_fifo": {"path": "/run/xvrrp/notify", "script": ["/usr/local/bin/fifo-reader", "-v"]},
                                  "notify_timeout_ms": 3000})");
    j["instances"][0]["notify"] = json::parse(R"({"master": ["/etc/xvrrp/master.sh", "a b"], "any": ["/etc/xvrrp/any.sh"]})");
    j["instances"][0]["notify_priority_changes"] = true;
    const Config c = parse(j.dump());
    EXPECT_EQ(c.global.notify_fifo, "/run/xvrrp/notify");
    EXPECT_EQ(c.global.notify_fifo_script, (std::vector<std::string>{"/usr/local/bin/fifo-reader", "-v"}));
    EXPECT_EQ(c.global.notify_timeout_ms, 3000u);
    EXPECT_EQ(c.instances[0].notify.master, (std::vector<std::string>{"/etc/xvrrp/master.sh", "a b"}));
    EXPECT_TRUE(c.instances[0].notify.backup.empty());
    EXPECT_EQ(c.instances[0].notify.any, (std::vector<std::string>{"/etc/xvrrp/any.sh"}));
    EXPECT_TRUE(c.instances[0].notify_priority_changes);
    EXPECT_FALSE(c.instances[1].notify_priority_changes);
    EXPECT_TRUE(c.instances[1].notify.empty());
    EXPECT_EQ(parse(minimal().dump()).global.notify_timeout_ms, 10000u);
}

TEST(Config, NotifyMistakesAreNamed) {
    json j = minimal();
    j["instances"][0]["notify"] = json::parse(R"({"master": "/etc/xvrrp/master.sh"})");
    EXPECT_REJECTED(j, "instances[0].notify.master", "must be a non-empty array of strings (argv), got a string");
    j["instances"][0]["notify"] = json::parse(R"({"backup": [""]})");
    EXPECT_REJECTED(j, "instances[0].notify.backup[0]", "must name the program");
    j["instances"][0]["notify"] = json::parse(R"({"mastre": ["/bin/true"]})");
    EXPECT_REJECTED(j, "instances[0].notify.mastre", "unknown key");
    j = minimal();
    j["global"] = json::parse(R"({"notify_fifo": {"path": "notify"}})");
    EXPECT_REJECTED(j, "global.notify_fifo.path", "must be an absolute path");
    j["global"] = json::parse(R"({"notify_fifo": {"path": "/run/n", "script": []}})");
    EXPECT_REJECTED(j, "global.notify_fifo.script", "must be a non-empty array");
    j["global"] = json::parse(R"({"notify_timeout_ms": 10})");
    EXPECT_REJECTED(j, "global.notify_timeout_ms", "must be 100-3600000");
}

TEST(Config, HttpTrackers) {
    json j = minimal();
    j["trackers"] = json::parse(R"({"web": {"type": "http", "url": "https://192.0.2.1:8443/health", "host": "www.example.com",
                                            "status": [200, "300-302"], "digest": "EFF5BC1EF8EC9D03E640FC4370F5EACD"},
                                    "plain": {"type": "http", "url": "http://[2001:db8::1]/"}})");
    const Config c = parse(j.dump());
    const Tracker& web = c.trackers.at("web");
    EXPECT_EQ(web.kind, TrackerKind::Http);
    EXPECT_TRUE(web.url.tls);
    EXPECT_EQ(web.url.port, 8443);
    EXPECT_EQ(web.host, "www.example.com");
    EXPECT_EQ(web.status, (std::vector<http::StatusRange>{{200, 200}, {300, 302}}));
    EXPECT_EQ(web.digest, "eff5bc1ef8ec9d03e640fc4370f5eacd");
    const Tracker& plain = c.trackers.at("plain");
    EXPECT_EQ(plain.status, (std::vector<http::StatusRange>{{200, 299}})) << "default: any 2xx";
    EXPECT_EQ(plain.url.port, 80);

    j["trackers"] = json::parse(R"({"web": {"type": "http", "url": "http://www.example.com/"}})");
    EXPECT_REJECTED(j, "trackers.web.url", "\"www.example.com\" is not an IP address (no host names)");
    j["trackers"] = json::parse(R"({"web": {"type": "http", "url": "http://192.0.2.1/", "digest": "abc"}})");
    EXPECT_REJECTED(j, "trackers.web.digest", "must be 32 hex digits");
    j["trackers"] = json::parse(R"({"web": {"type": "http", "url": "http://192.0.2.1/", "status": ["2xx"]}})");
    EXPECT_REJECTED(j, "trackers.web.status[0]", "a status code 100-599 or a range");
    j["trackers"] = json::parse(R"({"web": {"type": "http", "url": "http://192.0.2.1/", "status": [700]}})");
    EXPECT_REJECTED(j, "trackers.web.status[0]", "a status code is 100-599, got 700");
    j["trackers"] = json::parse(R"({"web": {"type": "http", "url": "http://192.0.2.1/", "status": []}})");
    EXPECT_REJECTED(j, "trackers.web.status", "at least one");
    j["trackers"] = json::parse(R"({"web": {"type": "http"}})");
    EXPECT_REJECTED(j, "trackers.web.url", "is required");
}

TEST(Config, SyncGroups) {
    json j = with_trackers();  // instance "a" tracks chk (-20), web (10), prio and up
    j["instances"][0]["track"] = json::parse(R"([{"tracker": "chk", "weight": 0}])");
    j["sync_groups"] = json::parse(R"([{"name": "VG_1", "instances": ["a", "b"], "track": ["up"],
                                        "notify": {"any": ["/usr/local/bin/group-notify"]}}])");
    j["trackers"]["up"]["weight"] = 0;
    const Config c = parse(j.dump());
    ASSERT_EQ(c.sync_groups.size(), 1u);
    EXPECT_EQ(c.sync_groups[0].instances, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(c.sync_groups[0].track[0].tracker, "up");
    EXPECT_EQ(c.sync_groups[0].notify.any, (std::vector<std::string>{"/usr/local/bin/group-notify"}));
    EXPECT_FALSE(c.sync_groups[0].tracking_weight);
}

TEST(Config, SyncGroupMistakesAreNamed) {
    json base = with_trackers();
    base["instances"][0]["track"] = json::array();
    json j = base;
    j["sync_groups"] = json::parse(R"([{"name": "VG_1", "instances": ["a", "nope"]}])");
    EXPECT_REJECTED(j, "sync_groups[0].instances[1]", "no instance named \"nope\"");
    j["sync_groups"] = json::parse(R"([{"name": "VG_1", "instances": ["a", "a"]}])");
    EXPECT_REJECTED(j, "sync_groups[0].instances[1]", "listed twice");
    j["sync_groups"] = json::parse(R"([{"name": "VG_1", "instances": ["a"]}, {"name": "VG_2", "instances": ["b", "a"]}])");
    EXPECT_REJECTED(j, "sync_groups[1].instances[1]", "\"a\" is already in sync group \"VG_1\"");
    j["sync_groups"] = json::parse(R"([{"name": "VG_1", "instances": ["a"]}, {"name": "VG_1", "instances": ["b"]}])");
    EXPECT_REJECTED(j, "sync_groups[1].name", "is also the name of sync_groups[0]");
    j["sync_groups"] = json::parse(R"([{"name": "VG_1", "instances": []}])");
    EXPECT_REJECTED(j, "sync_groups[0].instances", "at least one instance");
    j["sync_groups"] = json::parse(R"([{"name": "VG_1", "instances": ["a"], "track": [{"tracker": "chk", "weight": -20}]}])");
    EXPECT_REJECTED(j, "sync_groups[0].track[0]", "only put it in FAULT (weight 0) unless sync_group_tracking_weight");
    // A member's own weighted tracker: an error unless the group allows it.
    j = base;
    j["instances"][0]["track"] = json::parse(R"(["chk"])");
    j["sync_groups"] = json::parse(R"([{"name": "VG_1", "instances": ["b", "a"]}])");
    EXPECT_REJECTED(j, "sync_groups[0].instances[1]", "\"a\" tracks \"chk\" with weight -20, which would move it alone");
    j["sync_groups"][0]["sync_group_tracking_weight"] = true;
    EXPECT_EQ(error_of(j), "");
    // An instance with a problem of its own is reported there only, not again by its group.
    j = base;
    j["instances"][1]["vrid"] = 0;
    j["sync_groups"] = json::parse(R"([{"name": "VG_1", "instances": ["a", "b"]}])");
    EXPECT_REJECTED(j, "instances[1].vrid", "must be 1-255");
}

TEST(Config, StartAs) {
    json j = minimal();
    j["instances"][0]["start_as"] = "master";
    j["instances"][0]["preempt"] = false;
    const Config c = parse(j.dump());
    EXPECT_TRUE(c.instances[0].start_as_master);
    EXPECT_FALSE(c.instances[1].start_as_master);
    j["instances"][0]["start_as"] = "MASTER";
    EXPECT_REJECTED(j, "instances[0].start_as", "must be \"backup\" or \"master\"");
}

TEST(Config, ProcessTrackers) {
    json j = minimal();
    j["trackers"] = json::parse(R"({"nginx": {"type": "process", "name": "nginx", "quorum": 2, "quorum_max": 4, "weight": -254}})");
    const Config c = parse(j.dump());
    EXPECT_EQ(c.trackers.at("nginx").process, "nginx");
    EXPECT_EQ(c.trackers.at("nginx").quorum, 2u);
    EXPECT_EQ(c.trackers.at("nginx").quorum_max, 4u);
    EXPECT_EQ(c.trackers.at("nginx").weight, -254) << "process weights reach -254, as file ones";
    j["trackers"] = json::parse(R"({"nginx": {"type": "process", "name": "/usr/sbin/nginx"}})");
    EXPECT_REJECTED(j, "trackers.nginx.name", "must be a process name");
    j["trackers"] = json::parse(R"({"nginx": {"type": "process", "name": "nginx", "quorum": 3, "quorum_max": 2}})");
    EXPECT_REJECTED(j, "trackers.nginx.quorum_max", "must be at least quorum (3) or 0");
}

TEST(Config, ScriptUsers) {
    json j = with_trackers();
    j["global"] = json::parse(R"({"script_user": "nobody"})");
    j["trackers"]["own"] = json::parse(R"({"type": "script", "command": ["/bin/true"], "user": "daemon"})");
    const Config c = parse(j.dump());
    EXPECT_EQ(c.global.script_user, "nobody");
    EXPECT_EQ(c.trackers.at("chk").user, "nobody") << "the global one where the tracker names none";
    EXPECT_EQ(c.trackers.at("own").user, "daemon");
    EXPECT_EQ(parse(with_trackers().dump()).trackers.at("chk").user, std::nullopt) << "none: root";
    j["trackers"]["own"]["user"] = "a b";
    EXPECT_REJECTED(j, "trackers.own.user", "not a user name");
}

}  // namespace


TEST(ConfigMetrics, ListenAddressPortAndPath) {
    json j = minimal();
    EXPECT_FALSE(parse(j.dump()).global.metrics) << "absent: off";
    j["global"]["metrics"] = {{"listen", "192.0.2.1:9650"}};
    const auto m = parse(j.dump()).global.metrics;
    ASSERT_TRUE(m);
    EXPECT_EQ(m->address, IpAddress::from("192.0.2.1"));
    EXPECT_EQ(m->port, 9650);
    EXPECT_EQ(m->path, "/metrics");
    j["global"]["metrics"] = {{"listen", "[2001:db8::1]:9100"}, {"path", "/vrrp/metrics"}};
    const auto m6 = parse(j.dump()).global.metrics;
    ASSERT_TRUE(m6);
    EXPECT_EQ(m6->address, IpAddress::from("2001:db8::1"));
    EXPECT_EQ(m6->port, 9100);
    EXPECT_EQ(m6->path, "/vrrp/metrics");
}

TEST(ConfigMetrics, MistakesNameThePath) {
    json j = minimal();
    for (const char* bad : {"192.0.2.1", "192.0.2.1:", "192.0.2.1:0", "192.0.2.1:65536", "192.0.2.1:http",
                            "2001:db8::1:9650", "[192.0.2.1]:9650", "gateway:9650", ":9650"}) {
        SCOPED_TRACE(bad);
        j["global"]["metrics"] = {{"listen", bad}};
        EXPECT_REJECTED(j, "global.metrics.listen", "");
    }
    j["global"]["metrics"] = {{"listen", "192.0.2.1:0"}};
    EXPECT_REJECTED(j, "global.metrics.listen", "port must be 1 to 65535");
    j["global"]["metrics"] = {{"listen", "192.0.2.1:9650"}, {"path", "metrics"}};
    EXPECT_REJECTED(j, "global.metrics.path", "absolute URL path");
    j["global"]["metrics"] = {{"listen", "192.0.2.1:9650"}, {"path", "/m?x=1"}};
    EXPECT_REJECTED(j, "global.metrics.path", "without query");
    j["global"]["metrics"] = {{"path", "/metrics"}};
    EXPECT_REJECTED(j, "global.metrics.listen", "");
    j["global"]["metrics"] = {{"listen", "192.0.2.1:9650"}, {"port", 9650}};
    EXPECT_REJECTED(j, "global.metrics.port", "unknown key");
}
