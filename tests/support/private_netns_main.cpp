// main() for BPF test binaries: everything runs in the process's own network namespace.
#include <gtest/gtest.h>

#include "privileged.hpp"

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new xvrrp::test::PrivateNetnsEnvironment);
    return RUN_ALL_TESTS();
}
