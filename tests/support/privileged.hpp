// Privileged tests skip with a reason when not root; CI runs as root.
#pragma once

#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#define XVRRP_REQUIRE_ROOT()                                                                        \
    do {                                                                                           \
        if (::geteuid() != 0)                                                                      \
            GTEST_SKIP() << "needs root (CAP_BPF and CAP_NET_ADMIN to load XDP); CI runs as root"; \
    } while (0)

namespace xvrrp::test {

// Moves the whole test process into a fresh, unnamed network namespace, so
// BPF_PROG_TEST_RUN's ingress device (lo, ifindex 1) is the test's own and
// nothing the test does can touch the host's interfaces. It vanishes with the process.
class PrivateNetnsEnvironment : public ::testing::Environment {
public:
    void SetUp() override {
        if (::geteuid() == 0 && ::unshare(CLONE_NEWNET) != 0) FAIL() << "unshare(CLONE_NEWNET) failed";
    }
};

}  // namespace xvrrp::test
