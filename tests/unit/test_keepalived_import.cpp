// xvrrpctl import-keepalived: the corpus in tests/keepalived (each NAME.conf with the JSON and the
// diagnostics it must give, and NAME.real-servers.* with --checks-from-real-servers), keepalived's
// script strings as argv, and malformed files that still give a verdict.
#include "xvrrp/keepalived_import.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "text_file.hpp"
#include "xvrrp/config.hpp"

namespace xvrrp::keepalived {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::string kCorpus = std::string(XVRRP_SOURCE_DIR) + "/tests/keepalived";

std::string read(const fs::path& p) { return test::read_text(p); }

// The diagnostics as stderr prints them, with paths relative to the corpus.
std::string diagnostics(const ImportResult& r) {
    std::string out;
    for (const auto& d : r.diagnostics) {
        std::string line = d.to_string();
        if (line.starts_with(kCorpus + "/")) line.erase(0, kCorpus.size() + 1);
        out += line + "\n";
    }
    return out;
}

void expect_case(const std::string& name, const std::string& golden, const ImportOptions& options) {
    SCOPED_TRACE(golden);
    const ImportResult r = import_file(kCorpus + "/" + name + ".conf", options);
    EXPECT_EQ(r.config, json::parse(read(kCorpus + "/" + golden + ".json")));
    const std::string diags = read(kCorpus + "/" + golden + ".diag");
    EXPECT_EQ(diagnostics(r), diags);
    EXPECT_EQ(r.complete(), diags.find(": unsupported: ") == std::string::npos);
    if (r.complete()) {
        EXPECT_NO_THROW(config::parse(r.config.dump())) << "a complete import is a valid configuration";
    }
}

TEST(KeepalivedImport, TheCorpusGivesItsJsonAndDiagnostics) {
    int cases = 0;
    for (const auto& e : fs::directory_iterator(kCorpus)) {
        if (e.path().extension() != ".conf") continue;
        const std::string name = e.path().stem();
        expect_case(name, name, {});
        if (fs::exists(kCorpus + "/" + name + ".real-servers.json"))
            expect_case(name, name + ".real-servers", ImportOptions{.checks_from_real_servers = true});
        ++cases;
    }
    EXPECT_GE(cases, 4);
}

TEST(KeepalivedImport, TheTutorialPairIsCompleteAndElectsByPriority) {
    for (const char* side : {"tutorial-master", "tutorial-backup"}) {
        const ImportResult r = import_file(kCorpus + "/" + side + ".conf");
        EXPECT_TRUE(r.complete()) << diagnostics(r);
        const config::Config c = config::parse(r.config.dump());
        ASSERT_EQ(c.instances.size(), 1u);
        EXPECT_EQ(c.instances[0].version, 2) << "keepalived's default for IPv4";
        EXPECT_EQ(c.instances[0].advert_interval_ms, 5000u);
        EXPECT_EQ(c.instances[0].auth_pass, "s3cr3t");
        EXPECT_EQ(c.instances[0].mac, config::MacMode::Interface) << "no use_vmac: the interface's MAC";
        EXPECT_EQ(c.instances[0].priority, std::string(side) == "tutorial-master" ? 90 : 80);
        ASSERT_EQ(c.sync_groups.size(), 1u);
    }
}

TEST(KeepalivedImport, ScriptStringsBecomeArgv) {
    EXPECT_EQ(split_command("/usr/bin/pgrep -x nginx"), (std::vector<std::string>{"/usr/bin/pgrep", "-x", "nginx"}));
    EXPECT_EQ(split_command("/bin/check 'a b'  \"c d\" e\\ f"), (std::vector<std::string>{"/bin/check", "a b", "c d", "e f"}));
    EXPECT_EQ(split_command("/bin/x ''"), (std::vector<std::string>{"/bin/x", ""}));
    EXPECT_TRUE(split_command("   ").empty());
}

TEST(KeepalivedImport, MalformedFilesStillGiveAVerdict) {
    // A stray brace, an unclosed block, a missing include, no instance: said, never thrown.
    const ImportResult r = import_text("}\nvrrp_instance A {\n interface eth0\n virtual_router_id 1\n"
                                       " virtual_ipaddress {\n  192.0.2.1\n }\n include missing/*.conf\n",
                                       "broken.conf", kCorpus);
    const std::string d = diagnostics(r);
    EXPECT_NE(d.find("broken.conf:1: }: warning: a brace closes nothing"), std::string::npos) << d;
    EXPECT_NE(d.find("include: warning: no file matches missing/*.conf"), std::string::npos) << d;
    EXPECT_NE(d.find("{: warning: a block is not closed"), std::string::npos) << d;
    EXPECT_EQ(r.config["instances"][0]["vips"], json::array({"192.0.2.1/32"}));

    const ImportResult empty = import_text("global_defs {\n router_id x\n}\n", "empty.conf", kCorpus);
    EXPECT_FALSE(empty.complete());
    EXPECT_NE(diagnostics(empty).find("empty.conf:0: vrrp_instance: unsupported: no VRRP instance found"), std::string::npos);

    // What xvrrpd refuses (a VRID out of range is ignored as keepalived does, so none is left)
    // makes the result incomplete, with xvrrpd's own words.
    const ImportResult bad = import_text("vrrp_instance A {\n interface eth0\n virtual_router_id 300\n"
                                         " virtual_ipaddress {\n  192.0.2.1\n }\n}\n", "bad.conf", kCorpus);
    EXPECT_FALSE(bad.complete());
    EXPECT_NE(diagnostics(bad).find("bad.conf:3: virtual_router_id: warning: \"300\" is not a number in 1-255"), std::string::npos);
    EXPECT_NE(diagnostics(bad).find("result: unsupported: xvrrpd refuses it: instances[0].vrid: is required"), std::string::npos)
        << diagnostics(bad);

    EXPECT_THROW(import_file(kCorpus + "/no-such-file.conf"), ImportError);
}

}  // namespace
}  // namespace xvrrp::keepalived
