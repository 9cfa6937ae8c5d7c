// Which configured commands a root daemon refuses to run (keepalived's script_security): every
// script tracker, notify script and the notify FIFO's reader, checked at start, on reload (which
// then changes nothing) and by `xvrrpd --check`.
#pragma once

#include <string>
#include <vector>

#include "xvrrp/config.hpp"

namespace xvrrp {

// For a daemon running as root: each command someone else could replace (insecure_program), as
// "JSON.PATH: refusing to run PROGRAM as root: WHY". Empty when all are safe or not root.
std::vector<std::string> insecure_scripts(const config::Config& c);

}  // namespace xvrrp
