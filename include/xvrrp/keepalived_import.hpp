// keepalived.conf to xvrrpd's JSON (`xvrrpctl import-keepalived`). keepalived's syntax: blocks in
// braces, `#` and `!` comments to the end of the line (outside quotes), double quotes, `include`
// with globs relative to the including file. Its VRRP keywords map to the JSON of docs/config.md;
// every keyword that does not map says why, at FILE:LINE:
// - a warning where the result runs as keepalived would, or where keepalived itself ignores the
//   keyword (router_id, an unknown keyword, `state SLAVE`, a one-member sync group);
// - unsupported where behaviour is lost (virtual_server, track_bfd, SMTP, SNMP...): the JSON is
//   still written, but incomplete.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace xvrrp::keepalived {

struct Diagnostic {
    enum class Kind { Warning, Unsupported };
    Kind kind = Kind::Warning;
    std::string file;
    int line = 0;
    std::string keyword;
    std::string reason;
    // "FILE:LINE: keyword: reason" ("warning: " or "unsupported: " before the reason)
    [[nodiscard]] std::string to_string() const;
};

struct ImportOptions {
    // keepalived's checker moves real servers in IPVS, never the VIP: opt-in, a real server's
    // HTTP_GET/SSL_GET/TCP_CHECK/PING_CHECK/MISC_CHECK becomes a tracker (weight 0) of every instance.
    bool checks_from_real_servers = false;
};

struct ImportResult {
    nlohmann::json config;  // xvrrpd's configuration
    std::vector<Diagnostic> diagnostics;
    [[nodiscard]] bool complete() const;
};

class ImportError : public std::runtime_error {  // the file (or an include) cannot be read at all
public:
    using std::runtime_error::runtime_error;
};

ImportResult import_file(const std::string& path, const ImportOptions& options = {});
// The same from text (tests); includes are resolved against `dir`.
ImportResult import_text(const std::string& text, const std::string& name, const std::string& dir,
                         const ImportOptions& options = {});

// keepalived's script strings ("/usr/bin/check \"a b\" c") as argv.
std::vector<std::string> split_command(const std::string& command);

}  // namespace xvrrp::keepalived
