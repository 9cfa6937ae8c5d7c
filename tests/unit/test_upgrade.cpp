// The upgrade's handover document (versioned JSON) and its channel (a socketpair).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "xvrrp/upgrade.hpp"

using namespace xvrrp;

namespace {
Handover sample() {
    Handover h;
    HandoverRouter r{.name = "gateway", .family = Family::V6, .state = fsm::State::Master, .transitions = 2,
                     .since_transition_ns = 123'456'789};
    r.sent.adverts_sent = 1000;
    r.sent.become_master = 1;
    r.schedule = RouterDriver::Schedule{.advert_at = 5'000'000'000, .announce_left = 2, .next_announce = 4'900'000'000,
                                        .next_refresh = 65'000'000'000};
    h.routers.push_back(r);
    h.routers.push_back(HandoverRouter{.name = "seg1", .state = fsm::State::Backup, .transitions = 1,
                                       .preempt_at = 9'000'000'000});
    h.reloads_ok = 3;
    h.reloads_failed = 1;
    h.maintenance = {"seg1"};
    HandoverEarlier e{.name = "gateway", .family = Family::V4};
    e.sent.adverts_sent = 50;
    e.received.adverts_valid = 7;
    h.earlier.push_back(e);
    TrackerView t{.name = "web", .kind = config::TrackerKind::Tcp, .up = false, .value = 0, .detail = "connection refused",
                  .checks = 12, .failures = 3, .duration_ns = 400'000};
    t.durations.observe(400'000);
    h.trackers.push_back(t);
    h.groups = {{"VG", 1}};
    h.notify_waiting = {{"INSTANCE gateway", {{"/bin/echo", "master"}, {"/bin/echo", "backup"}}}};
    h.config = R"({"instances": []})";
    h.frozen_at_ns = 77;
    return h;
}
}  // namespace

TEST(Upgrade, HandoverRoundTrips) {
    const Handover h = sample();
    const nlohmann::json j = to_json(h);
    EXPECT_EQ(j["version"], Handover::kVersion);
    const Handover back = handover_from_json(j);
    ASSERT_EQ(back.trackers.size(), 1u);
    EXPECT_EQ(back.trackers[0].failures, 3u);
    EXPECT_EQ(back.trackers[0].durations.count, 1u);
    EXPECT_FALSE(back.trackers[0].up);
    ASSERT_EQ(back.earlier.size(), 1u);
    EXPECT_EQ(back.earlier[0].received.adverts_valid, 7u);
    EXPECT_EQ(back.groups.at("VG"), 1);
    EXPECT_EQ(back.notify_waiting.at("INSTANCE gateway").size(), 2u);
    ASSERT_TRUE(back.routers[0].schedule);
    EXPECT_EQ(*back.routers[0].schedule, *h.routers[0].schedule);
    EXPECT_FALSE(back.routers[0].schedule->second_burst_at);
    EXPECT_FALSE(back.routers[1].schedule) << "a BACKUP has none";
    EXPECT_EQ(back.routers[1].preempt_at, 9'000'000'000u);
    EXPECT_FALSE(back.routers[0].preempt_at);
    EXPECT_EQ(back.config, h.config);
    EXPECT_EQ(handover_from_json(j), h);
    EXPECT_EQ(handover_from_json(nlohmann::json::parse(j.dump())), h) << "through text, as on the channel";
}

// Fields added within version 1 are optional: an older O's document still reads.
TEST(Upgrade, AVersionOneDocumentWithoutTheLaterFieldsReads) {
    nlohmann::json j = to_json(sample());
    j.erase("groups");
    j.erase("config");
    j["routers"][0].erase("schedule");
    const Handover back = handover_from_json(j);
    EXPECT_TRUE(back.groups.empty());
    EXPECT_TRUE(back.config.empty());
    EXPECT_EQ(back.routers.size(), 2u);
    EXPECT_FALSE(back.routers[0].schedule);
}

TEST(Upgrade, AnotherVersionOrAMalformedDocumentIsRefused) {
    nlohmann::json j = to_json(sample());
    j["version"] = Handover::kVersion + 1;
    try {
        (void)handover_from_json(j);
        FAIL() << "another version was read";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("this xvrrpd reads version 1"), std::string::npos) << e.what();
    }
    j = to_json(sample());
    j["routers"][0].erase("transitions");
    EXPECT_THROW((void)handover_from_json(j), std::runtime_error);
    j = to_json(sample());
    j["routers"][0]["state"] = 9;
    EXPECT_THROW((void)handover_from_json(j), std::runtime_error);
    EXPECT_THROW((void)handover_from_json(nlohmann::json::array()), std::runtime_error);
}

TEST(Upgrade, ChannelCarriesWholeDocumentsAndSeesTheOtherEndGo) {
    auto [one, other] = UpgradeChannel::pair();
    UpgradeChannel a{std::move(one)};
    auto b = std::make_unique<UpgradeChannel>(std::move(other));
    EXPECT_FALSE(a.receive(std::chrono::milliseconds(10))) << "nothing sent yet";
    b->send({{"prepared", true}});
    const auto got = a.receive(std::chrono::milliseconds(1000));
    ASSERT_TRUE(got);
    EXPECT_EQ((*got)["prepared"], true);
    b->send(to_json(sample()));
    const auto doc = a.receive(std::chrono::milliseconds(1000));
    ASSERT_TRUE(doc);
    EXPECT_EQ(handover_from_json(*doc), sample());
    // Two queued, a short one first: each is read whole and alone (the buffer is sized per message).
    b->send({{"n", 1}});
    b->send(to_json(sample()));
    const auto first = a.receive(std::chrono::milliseconds(1000)), second = a.receive(std::chrono::milliseconds(1000));
    ASSERT_TRUE(first && second);
    EXPECT_EQ(*first, nlohmann::json({{"n", 1}}));
    EXPECT_EQ(handover_from_json(*second), sample());
    // A handover of 4000 routers (about 1 MB) in one message: above the default socket buffers.
    Handover big;
    for (int i = 0; i < 4000; ++i)
        big.routers.push_back(HandoverRouter{.name = "vr" + std::to_string(i), .state = fsm::State::Master, .transitions = 2});
    const std::string text = to_json(big).dump();
    if (::geteuid() != 0 && text.size() > 200'000) GTEST_SKIP() << "unprivileged: socket buffers cannot be forced past wmem_max";
    b->send(to_json(big));
    const auto got_big = a.receive(std::chrono::milliseconds(1000));
    ASSERT_TRUE(got_big) << text.size() << " bytes";
    EXPECT_EQ(handover_from_json(*got_big).routers.size(), 4000u);
    b.reset();
    EXPECT_FALSE(a.receive(std::chrono::milliseconds(1000))) << "closed: no message";
}

// The old daemon waits for the commit between its adverts: wait() tells a message or a close
// from a limit that passed, without reading anything.
TEST(Upgrade, ChannelWaitTellsAMessageOrACloseFromTimePassing) {
    auto [one, other] = UpgradeChannel::pair();
    UpgradeChannel a{std::move(one)};
    auto b = std::make_unique<UpgradeChannel>(std::move(other));
    EXPECT_FALSE(a.wait(std::chrono::milliseconds(5))) << "nothing sent yet";
    EXPECT_FALSE(a.wait(std::chrono::nanoseconds(0)));
    b->send({{"committed", true}});
    EXPECT_TRUE(a.wait(std::chrono::milliseconds(1000)));
    EXPECT_TRUE(a.wait(std::chrono::nanoseconds(0))) << "still there: wait reads nothing";
    const auto got = a.receive(std::chrono::milliseconds(0));
    ASSERT_TRUE(got);
    EXPECT_EQ((*got)["committed"], true);
    EXPECT_FALSE(a.wait(std::chrono::milliseconds(5))) << "read: nothing left";
    b.reset();
    EXPECT_TRUE(a.wait(std::chrono::milliseconds(1000))) << "the other end closed";
    EXPECT_FALSE(a.receive(std::chrono::milliseconds(0))) << "and there is no message";
}

// The "prepared" message names N's configuration; O leaves its own out of the handover when the
// names agree, so two texts that differ anywhere must be named apart.
TEST(Upgrade, ConfigDigestNamesTheTextItWasTakenOf) {
    const std::string text = R"({"instances": [{"name": "gateway", "vrid": 51}]})";
    EXPECT_EQ(config_digest(text), config_digest(std::string(text)));
    std::string other = text;
    other[other.find("51")] = '6';
    EXPECT_NE(config_digest(other), config_digest(text));
    EXPECT_NE(config_digest(text + " "), config_digest(text));
    EXPECT_NE(config_digest(""), config_digest(text));
    EXPECT_EQ(config_digest("").rfind("fnv1a64:0:", 0), 0u) << config_digest("");
}
