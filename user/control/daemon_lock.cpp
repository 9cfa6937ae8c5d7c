#include "xvrrp/daemon_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "xvrrp/dataplane.hpp"
#include "xvrrp/error.hpp"

namespace xvrrp {

namespace {

// The pid the holder wrote into its lock file, for the message.
std::string holder(const std::string& lock_path) {
    std::ifstream in(lock_path);
    std::string pid;
    in >> pid;
    return pid.empty() ? "another xvrrpd" : "xvrrpd pid " + pid;
}

bool try_lock(int fd) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return true;
    if (errno == EWOULDBLOCK) return false;
    throw_errno(errno, "flock");
}

}  // namespace

DaemonLock::DaemonLock(const std::string& pin_root, const std::string& control_socket) {
    const std::string lock_path = control_socket + ".lock";
    std::filesystem::create_directories(std::filesystem::path(lock_path).parent_path());
    socket_lock_.reset(check_sys(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644), "open " + lock_path));
    if (!try_lock(socket_lock_.get()))
        throw std::runtime_error("control socket " + control_socket + " belongs to " + holder(lock_path) +
                                 " (lock " + lock_path + "): not starting a second daemon");

    ensure_pin_root(pin_root);
    pin_lock_.reset(check_sys(::open(pin_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open " + pin_root));
    if (!try_lock(pin_lock_.get()))
        throw std::runtime_error("pin root " + pin_root + " is in use by another xvrrpd: not starting a second daemon");

    // The pid only serves the message of a later refusal: failing to write it changes nothing.
    const std::string pid = std::to_string(::getpid()) + "\n";
    const bool written = ::ftruncate(socket_lock_.get(), 0) == 0 &&
                         ::pwrite(socket_lock_.get(), pid.data(), pid.size(), 0) == static_cast<ssize_t>(pid.size());
    (void)written;
}

}  // namespace xvrrp
