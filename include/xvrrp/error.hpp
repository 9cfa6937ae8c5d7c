// Errors from system and libbpf calls, carrying errno and what was attempted.
#pragma once

#include <cerrno>
#include <string>
#include <system_error>

namespace xvrrp {

[[noreturn]] inline void throw_errno(int err, const std::string& what) {
    throw std::system_error(err < 0 ? -err : err, std::generic_category(), what);
}

// libbpf returns -errno (and sets errno); system calls return -1 and set errno.
inline int check_libbpf(int rc, const std::string& what) {
    if (rc < 0) throw_errno(rc, what);
    return rc;
}

inline int check_sys(int rc, const std::string& what) {
    if (rc < 0) throw_errno(errno, what);
    return rc;
}

}  // namespace xvrrp
