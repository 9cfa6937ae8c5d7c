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

// A slice at a time: the first `max` in order, the rest after, ahead of what was queued meanwhile.
TEST(AddressQueue, ASliceAppliesTheOldestChangesAndLeavesTheRestInOrder) {
    AddressQueue q;
    for (int i = 0; i < 5; ++i) q.add(16, 3, IpAddress::from("192.0.2." + std::to_string(100 + i)), 24);
    std::vector<std::string> done;
    auto record = [&](const AddressQueue::Change& c) { done.push_back((c.add ? "+" : "-") + c.address.to_string()); };
    EXPECT_TRUE(q.apply(record, 2).empty());
    EXPECT_EQ(done, (std::vector<std::string>{"+192.0.2.100", "+192.0.2.101"}));
    ASSERT_FALSE(q.empty());
    q.remove(16, 3, IpAddress::from("192.0.2.100"), 24);  // queued meanwhile: after the three left
    done.clear();
    EXPECT_TRUE(q.apply(record, 3).empty());
    EXPECT_EQ(done, (std::vector<std::string>{"+192.0.2.102", "+192.0.2.103", "+192.0.2.104"}));
    done.clear();
    EXPECT_TRUE(q.apply(record, 3).empty());
    EXPECT_EQ(done, (std::vector<std::string>{"-192.0.2.100"}));
    EXPECT_TRUE(q.empty());
}

// A resumed MASTER's additions of addresses the kernel has already are dropped; the rest stay.
TEST(AddressQueue, AdditionsAlreadyDoneAreDroppedForOneRouterOnly) {
    AddressQueue q;
    const IpAddress here = IpAddress::from("192.0.2.100"), missing = IpAddress::from("192.0.2.101");
    q.add(16, 3, here, 24);
    q.add(16, 3, missing, 24);
    q.remove(16, 3, here, 24);
    q.add(17, 3, here, 24);  // another router's
    q.drop_present_adds(16, [&](unsigned ifindex, const IpAddress& a) { return ifindex == 3 && a == here; });
    std::vector<std::string> done;
    (void)q.apply([&](const AddressQueue::Change& c) {
        done.push_back(std::to_string(c.router) + (c.add ? " +" : " -") + c.address.to_string());
    });
    EXPECT_EQ(done, (std::vector<std::string>{"16 +192.0.2.101", "16 -192.0.2.100", "17 +192.0.2.100"}));
}

}  // namespace
}  // namespace xvrrp
