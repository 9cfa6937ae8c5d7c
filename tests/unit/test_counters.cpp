// The counters' status model (counters.hpp) against the ABI it is made from.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>

#include "xvrrp/counters.hpp"

using namespace xvrrp;

TEST(Counters, EveryGlobalCounterHasItsOwnNameAndAHelpText) {
    std::set<std::string_view> names;
    for (const CounterInfo& c : kStatInfo) {
        EXPECT_FALSE(c.name.empty());
        EXPECT_FALSE(c.help.empty()) << c.name;
        EXPECT_EQ(c.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_0123456789"), std::string_view::npos) << c.name;
        EXPECT_TRUE(names.insert(c.name).second) << c.name << " twice";
    }
    EXPECT_EQ(names.size(), std::size_t{XVRRP_STAT_MAX});
    // Names users and scripts rely on stay where the enum puts them.
    EXPECT_EQ(stat_name(XVRRP_STAT_ARP_REPLIED), "arp_replied");
    EXPECT_EQ(stat_name(XVRRP_STAT_KERNEL_CLAIM_DROPPED), "kernel_claim_dropped");
    EXPECT_EQ(stat_name(XVRRP_STAT_MAX), "?");
}

TEST(Counters, EveryInstanceCounterIsVisitedOnceWithItsValue) {
    xvrrp_inst_stats s{};
    for (std::size_t i = 0; i < sizeof(s) / 8; ++i) {  // each field its own value
        const std::uint64_t v = 100 + i;
        std::memcpy(reinterpret_cast<char*>(&s) + 8 * i, &v, 8);
    }
    std::set<std::string_view> names;
    std::set<std::uint64_t> values;
    for_each_instance_counter(s, [&](const CounterInfo& c, std::uint64_t v) {
        EXPECT_FALSE(c.help.empty()) << c.name;
        EXPECT_TRUE(names.insert(c.name).second) << c.name << " twice";
        values.insert(v);
    });
    EXPECT_EQ(names.size(), sizeof(s) / 8) << "every field of xvrrp_inst_stats, and nothing else";
    EXPECT_EQ(values.size(), sizeof(s) / 8);
    EXPECT_TRUE(names.count("adverts_priority_zero") && names.count("master_down") && names.count("events_limited"));
}
