// One xvrrpd per pin root and per control socket. A second daemon started by
// mistake must refuse before it touches anything: the live socket, the shared
// maps, the XDP links. Both are flock(2)s, released by the kernel when the
// holder exits however it exits, so a SIGKILLed daemon never blocks a restart.
#pragma once

#include <string>

#include "xvrrp/unique_fd.hpp"

namespace xvrrp {

class DaemonLock {
public:
    // Throws std::runtime_error naming the holder when either is taken.
    DaemonLock(const std::string& pin_root, const std::string& control_socket);

private:
    UniqueFd socket_lock_;  // <control_socket>.lock, holding the owner's pid
    UniqueFd pin_lock_;     // the pin root directory itself
};

}  // namespace xvrrp
