// The fixture of the xvrrpd lab tests: a VrrpLab of two routers (more on request) and a
// client, the routers' logs printed when a test fails, and the helpers those tests share.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <iostream>
#include <memory>
#include <string>

#include "privileged.hpp"
#include "text_file.hpp"
#include "xvrrp/abi.h"
#include "vrrp_lab.hpp"

namespace xvrrp::test {

// A per-instance counter from xvrrpd's status (the first instance of the family).
inline std::uint64_t counter(const nlohmann::json& status, const std::string& key, const std::string& family = "IPv4") {
    for (const auto& i : status["instances"])
        if (i["family"] == family) return i["counters"].value(key, std::uint64_t{0});
    return 0;
}

// Routers that hold vip (default: the lab's IPv4 VIP) on dev.
inline int vip_holders(VrrpLab& lab, int routers, const std::string& vip = "192.0.2.100/24", const std::string& dev = "vr0") {
    int n = 0;
    for (int i = 1; i <= routers; ++i)
        n += lab.router(i).exec("ip -4 addr show dev " + dev).find(vip) != std::string::npos;
    return n;
}

inline bool client_reaches_vip(VrrpLab& lab, const std::string& vip = "192.0.2.100") {
    return lab.client().exec_status("ping -c 1 -W 1 " + vip) == 0;
}

// ARP requests router i's XDP program answered, from its pinned counters (readable with the daemon dead).
inline std::uint64_t arp_replied_by(VrrpLab& lab, int i) {
    const auto dump = nlohmann::json::parse(lab.router(i).exec("bpftool -j map dump pinned " + lab.pin_root(i) + "/xvrrp_stats"));
    // bpftool -j prints raw bytes under "key"/"values" and the BTF-typed view under "formatted".
    std::uint64_t n = 0;
    for (const auto& raw : dump) {
        const auto& e = raw.contains("formatted") ? raw["formatted"] : raw;
        if (e["key"] == XVRRP_STAT_ARP_REPLIED)
            for (const auto& cpu : e["values"]) n += cpu["value"]["packets"].get<std::uint64_t>();
    }
    return n;
}

// A directory of the test's own (files trackers watch, scripts, notify logs), removed afterwards.
class ScratchDir {
public:
    ScratchDir() {
        char tmpl[] = "/tmp/xvrrp-lab-XXXXXX";
        if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
        path_ = tmpl;
    }
    ~ScratchDir() { std::filesystem::remove_all(path_); }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }
    void write(const std::string& name, const std::string& text) const {
        const std::string tmp = file(name) + ".tmp";
        std::ofstream(tmp) << text;
        std::filesystem::rename(tmp, file(name));  // as an operator's tool would: atomically
    }
    void remove(const std::string& name) const { std::filesystem::remove(file(name)); }
    // The file's content ("" when it is missing).
    [[nodiscard]] std::string read(const std::string& name) const { return read_text(file(name)); }
    // An executable script (mode 0755) of this text; its path.
    std::string script(const std::string& name, const std::string& text) const {
        std::ofstream(file(name)) << text;
        std::filesystem::permissions(file(name), std::filesystem::perms(0755));
        return file(name);
    }

private:
    std::string path_;
};

class DaemonLab : public ::testing::Test {
protected:
    virtual int segments() const { return 1; }
    virtual int routers() const { return 2; }
    void SetUp() override {
        XVRRP_REQUIRE_ROOT();
        lab_ = std::make_unique<VrrpLab>(routers(), segments());
    }
    void TearDown() override {
        if (HasFailure() && lab_) {
            for (int i = 1; i <= routers(); ++i) std::cerr << "---- r" << i << " log\n" << lab_->log(i);
        }
        lab_.reset();
    }
    // Starts router i's daemon (again) and waits until its control socket answers; returns what it
    // logged from this start on (a router's log runs on across its restarts).
    std::string start_and_log(int i, const nlohmann::json& cfg, std::chrono::milliseconds limit = std::chrono::seconds(3)) {
        const std::size_t from = lab_->log(i).size();
        lab_->start(i, cfg);
        if (!VrrpLab::wait_until([&] { return !lab_->status(i).is_null(); }, limit)) ADD_FAILURE() << "r" << i << " never answered";
        return lab_->log(i).substr(from);
    }
#ifdef XVRRPCTL_PATH
    // xvrrpctl against router i's daemon, from its namespace: what it printed (stderr too), then
    // "rc=N" with its exit status.
    std::string xvrrpctl(int i, const std::string& args) {
        return lab_->router(i).exec(std::string(XVRRPCTL_PATH) + " -s " + lab_->socket(i) + " " + args + " 2>&1; echo rc=$?");
    }
#endif
    bool becomes(int i, const std::string& state, std::chrono::milliseconds limit = std::chrono::seconds(5),
                 const std::string& family = "IPv4", const std::string& name = "gateway") {
        return VrrpLab::wait_until([&] { return lab_->state(i, family, name) == state; }, limit);
    }
    // r1 (150) and r2 (100) sending unicast adverts to each other's primary; true once elected.
    bool start_unicast_pair() {
        for (int i : {1, 2}) {
            nlohmann::json c = lab_->config(i, i == 1 ? 150 : 100);
            c["instances"][0]["vips"] = {"192.0.2.100/24"};
            c["instances"][0]["unicast_peers"] = {VrrpLab::router_ip(3 - i)};
            lab_->start(i, c);
        }
        return becomes(1, "MASTER") && becomes(2, "BACKUP");
    }
    std::unique_ptr<VrrpLab> lab_;
};

}  // namespace xvrrp::test
