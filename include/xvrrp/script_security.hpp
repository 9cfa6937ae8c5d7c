// Which configured commands a root daemon refuses to run (keepalived's script_security): every
// script tracker, notify script and the notify FIFO's reader, checked at start, on reload (which
// then changes nothing) and by `xvrrpd --check`.
#pragma once

#include <string>
#include <vector>

#include "xvrrp/config.hpp"

namespace xvrrp {

// For a daemon running as root: each command someone else could replace (insecure_program), as
// "JSON.PATH: refusing to run PROGRAM as root: WHY", and each user scripts are to run as that does
// not exist. Empty when all is well or the daemon is not root.
std::vector<std::string> insecure_scripts(const config::Config& c);

}  // namespace xvrrp
