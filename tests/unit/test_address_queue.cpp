// The routers' address changes, deferred until every router's ownership is set: kept in order,
// and a change that fails is reported for its own router while the rest go on.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "xvrrp/router_host.hpp"

namespace xvrrp {
namespace {

TEST(AddressQueue, ChangesRunInTheOrderAskedAndAFailureIsReportedForItsRouter) {
    AddressQueue q;
    const IpAddress vip4 = IpAddress::from("192.0.2.100"), vip6 = IpAddress::from("2001:db8::100");
    q.add(16, 3, vip4, 24);
    q.add(17, 3, vip6, 64);    // this one fails
    q.remove(16, 3, vip4, 24);  // a release right after the take: must come last
    q.add(18, 4, vip4, 24);
    ASSERT_FALSE(q.empty());
    std::vector<std::string> done;
    const auto failed = q.apply([&](const AddressQueue::Change& c) {
        if (c.router == 17) throw std::runtime_error("add " + c.address.to_string() + ": Permission denied");
        done.push_back((c.add ? "+" : "-") + c.address.to_string() + "@" + std::to_string(c.ifindex) + "/" +
                       std::to_string(c.prefix_len));
    });
    EXPECT_EQ(done, (std::vector<std::string>{"+192.0.2.100@3/24", "-192.0.2.100@3/24", "+192.0.2.100@4/24"}));
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_EQ(failed[0].router, 17u);
    EXPECT_EQ(failed[0].what, "add 2001:db8::100: Permission denied");
    EXPECT_TRUE(q.empty()) << "applied once: a failed change is retried by its router, not by the queue";
    EXPECT_TRUE(q.apply([](const AddressQueue::Change&) { FAIL() << "nothing left to apply"; }).empty());
}

}  // namespace
}  // namespace xvrrp
