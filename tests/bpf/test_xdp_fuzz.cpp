// Tens of thousands of mutated frames through the real XDP program. An
// independent reference decides which frames are well-formed requests for an
// owned VIP; the program must answer exactly those (with the reference's
// reply), never abort, and leave every frame it does not answer untouched.
// A second reference, for adverts, decides which are valid for an instance of
// the world: the program must accept exactly those, and no other advert may
// move any instance's state (its peer entry, its events).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <cstring>
#include <map>
#include <random>

#include "hex.hpp"
#include "privileged.hpp"
#include "world.hpp"
#include "xdp_run.hpp"

using namespace xvrrp;
using namespace xvrrp::test;

namespace {

constexpr unsigned kIfindex = 1;
constexpr int kFrames = 40000;

struct Parsed {
    std::size_t l3 = 0;
    std::uint16_t type = 0;
    std::uint16_t vlan = 0;
    std::vector<VlanTag> tags;
};

std::uint16_t be16(const Bytes& f, std::size_t off) { return static_cast<std::uint16_t>(f[off] << 8 | f[off + 1]); }

std::optional<Parsed> parse_l2(const Bytes& f) {
    if (f.size() < 14) return std::nullopt;
    Parsed p{.l3 = 14, .type = be16(f, 12)};
    for (int i = 0; i < 2 && (p.type == 0x8100 || p.type == 0x88a8); ++i) {
        if (f.size() < p.l3 + 4) return std::nullopt;
        p.tags.push_back({static_cast<std::uint16_t>(be16(f, p.l3) & 0x0fff), p.type});
        p.vlan = p.tags.back().vid;
        p.type = be16(f, p.l3 + 2);
        p.l3 += 4;
    }
    return p;
}

std::optional<Mac> owned_mac(const IpAddress& a, std::uint16_t vlan) {
    if (vlan == 0 && a == kVipOwned) return virtual_mac(kVridV3, Family::V4);
    if (vlan == 0 && a == kVipIfaceMac) return kRouterMac;
    if (vlan == kVlan && a == kVipVlan) return virtual_mac(kVridVlan, Family::V4);
    if (vlan == 0 && a == kVip6Owned) return virtual_mac(kVridV3, Family::V6);
    return std::nullopt;
}

// The reply a correct responder sends, or nothing. Written from RFC 826 and RFC 4861, not from the BPF code.
std::optional<Bytes> reference_reply_body(const Bytes& f);

// A reply keeps the request's tags whole (priority and DEI bits too).
std::optional<Bytes> reference_reply(const Bytes& f) {
    auto r = reference_reply_body(f);
    auto p = parse_l2(f);
    if (r && p) std::copy(f.begin() + 12, f.begin() + static_cast<long>(p->l3) - 2, r->begin() + 12);
    return r;
}

std::optional<Bytes> reference_reply_body(const Bytes& f) {
    auto p = parse_l2(f);
    if (!p) return std::nullopt;
    const std::size_t o = p->l3;
    if (p->type == kEthArp) {
        if (f.size() < o + 28 || be16(f, o) != 1 || be16(f, o + 2) != 0x0800 || f[o + 4] != 6 || f[o + 5] != 4 ||
            be16(f, o + 6) != kArpRequest)
            return std::nullopt;
        Mac sha;
        std::copy_n(f.begin() + static_cast<long>(o + 8), 6, sha.begin());
        IpAddress spa, tpa;
        std::copy_n(f.begin() + static_cast<long>(o + 14), 4, spa.bytes.begin());
        std::copy_n(f.begin() + static_cast<long>(o + 24), 4, tpa.bytes.begin());
        auto mac = owned_mac(tpa, p->vlan);
        if (!mac || spa == tpa || (sha[0] & 1)) return std::nullopt;
        Bytes r = ethernet_frame(sha, *mac, kEthArp, arp_packet(kArpReply, *mac, tpa, sha, spa), p->tags);
        r.insert(r.end(), f.begin() + static_cast<long>(r.size()), f.end());  // padding stays
        return r;
    }
    if (p->type == kEthIpv6) {
        if (f.size() < o + 40 + 24 || (f[o] >> 4) != 6 || f[o + 6] != kIpProtoIcmpv6 || f[o + 40] != kNdNeighborSolicit)
            return std::nullopt;
        const std::size_t len = be16(f, o + 4);
        if (f[o + 7] != 255 || f[o + 41] != 0 || len < 24 || len > 256 || f.size() < o + 40 + len) return std::nullopt;
        IpAddress src, dst, target;
        src.family = dst.family = target.family = Family::V6;
        std::copy_n(f.begin() + static_cast<long>(o + 8), 16, src.bytes.begin());
        std::copy_n(f.begin() + static_cast<long>(o + 24), 16, dst.bytes.begin());
        std::copy_n(f.begin() + static_cast<long>(o + 48), 16, target.bytes.begin());
        Checksum c;
        c.add_pseudo_header(src, dst, kIpProtoIcmpv6, static_cast<std::uint32_t>(len));
        if (c.add(std::span(f).subspan(o + 40, len)).finish() != 0) return std::nullopt;
        // RFC 4861 7.1.1: options of non-zero length filling the message exactly (the dataplane
        // walks up to 6, more than any real solicitation carries); from the unspecified address
        // only to a solicited-node address and without a source link-layer option.
        std::size_t opt = o + 40 + 24;
        bool has_sll = false;
        for (int n = 0; opt < o + 40 + len; ++n) {
            if (n == 6 || opt + 2 > o + 40 + len || f[opt + 1] == 0) return std::nullopt;
            has_sll |= f[opt] == 1;
            opt += 8u * f[opt + 1];
        }
        if (opt != o + 40 + len) return std::nullopt;
        const bool to_solicited_node = dst.bytes[0] == 0xff && dst.bytes[1] == 0x02 &&
                                       std::all_of(dst.bytes.begin() + 2, dst.bytes.begin() + 11, [](auto b) { return b == 0; }) &&
                                       dst.bytes[11] == 1 && dst.bytes[12] == 0xff;
        if (src.is_unspecified() && (has_sll || !to_solicited_node)) return std::nullopt;
        auto mac = owned_mac(target, p->vlan);
        if (!mac) return std::nullopt;
        Mac to_mac;
        std::copy_n(f.begin() + 6, 6, to_mac.begin());
        IpAddress to = src;
        std::uint8_t flags = kNaRouter | kNaOverride | kNaSolicited;
        if (src.is_unspecified()) {
            to = IpAddress::from("ff02::1");
            to_mac = multicast_mac(to);
            flags &= static_cast<std::uint8_t>(~kNaSolicited);
        }
        const Bytes icmp = icmpv6_message(target, to, kNdNeighborAdvert, 0, na_body(flags, target, *mac));
        return ethernet_frame(to_mac, *mac, kEthIpv6, ipv6_packet(target, to, kIpProtoIcmpv6, 255, icmp), p->tags);
    }
    return std::nullopt;
}

std::vector<Bytes> seeds() {
    const VlanTag vlan{kVlan};
    return {
        arp_request(kVipOwned),
        arp_request(kVipIfaceMac),
        arp_request(kVipVlan, {vlan}),
        arp_request(kVipUnowned),
        arp_request(kVipOwned, {}, kVipOwned),
        arp_reply_from(kPeerMac, kVipOwned),
        ns_frame(kVip6Owned),
        ns_frame(kVip6Owned, kClientIp6, false),
        ns_frame(kVip6Owned, IpAddress::from("::")),
        ns_frame(kVip6Unowned),
        advert_frame(advert(kVridV3)),
        advert_frame(advert(kVridV2, 200, 2)),
        advert_frame(advert6(kVridV3), kPeerIp6),
        advert_frame(advert(kVridVlan), kPeerIp, {vlan}),
        udp4_frame(),
        udp4_frame(virtual_mac(kVridV3, Family::V4)),
    };
}

Bytes mutate(Bytes f, std::mt19937& rng) {
    auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
    const int rounds = 1 + static_cast<int>(pick(3));
    for (int r = 0; r < rounds; ++r) {
        switch (pick(6)) {
            case 0:  // flip a bit
                f[pick(f.size())] ^= static_cast<std::uint8_t>(1u << pick(8));
                break;
            case 1:  // any value at any byte
                f[pick(f.size())] = static_cast<std::uint8_t>(pick(256));
                break;
            case 2:  // a byte in the first 80, where the headers are
                f[pick(std::min<std::size_t>(f.size(), 80))] = static_cast<std::uint8_t>(pick(256));
                break;
            case 3:  // truncate, never below what BPF_PROG_TEST_RUN accepts
                f.resize(14 + pick(f.size() - 13));
                break;
            case 4:  // extend with junk
                for (std::size_t n = 1 + pick(40); n; --n) f.push_back(static_cast<std::uint8_t>(pick(256)));
                break;
            case 5:  // nothing: keep some frames well-formed
                break;
        }
    }
    return f;
}

// A new seed every run (printed; XVRRP_FUZZ_SEED=N replays one), over a fixed corpus of seeds.
std::uint32_t fuzz_seed() {
    const char* fixed = std::getenv("XVRRP_FUZZ_SEED");
    const auto seed = fixed ? static_cast<std::uint32_t>(std::strtoul(fixed, nullptr, 0)) : std::random_device{}();
    std::cout << "fuzz seed " << seed << " (replay with XVRRP_FUZZ_SEED=" << seed << ")\n";
    ::testing::Test::RecordProperty("seed", std::to_string(seed));
    return seed;
}

TEST(XdpFuzz, AnswersExactlyTheWellFormedRequestsForOwnedVips) {
    XVRRP_REQUIRE_ROOT();
    Dataplane dp(DataplaneOptions{.pin_root = ""});
    configure_world(dp, kIfindex);

    const auto seed = fuzz_seed();
    std::mt19937 rng(seed);
    const auto base = seeds();
    int answered = 0, refused = 0;
    for (int i = 0; i < kFrames; ++i) {
        const Bytes in = mutate(base[static_cast<std::size_t>(i) % base.size()], rng);
        const XdpRun run = xdp_test_run(dp.prog_fd(), in, kIfindex);
        const auto want = reference_reply(in);
        ASSERT_NE(run.verdict, XDP_ABORTED) << "frame " << i << ":\n" << to_hex(in);
        if (want) {
            ASSERT_EQ(verdict_name(run.verdict), "XDP_TX") << "seed " << seed << ", frame " << i << ":\n" << to_hex(in);
            ASSERT_EQ(run.output, *want) << "seed " << seed << ", frame " << i << ":\n" << to_hex(in)
                                         << "\nexpected:\n" << to_hex(*want) << "\nactual:\n" << to_hex(run.output);
            ++answered;
        } else {
            ASSERT_NE(verdict_name(run.verdict), "XDP_TX")
                << "answered a frame that is not a well-formed request for an owned VIP, seed " << seed
                << ", frame " << i << ":\n" << to_hex(in) << "\nreply:\n" << to_hex(run.output);
            ASSERT_EQ(run.output, in) << "a frame not answered was modified, frame " << i << ":\n" << to_hex(in);
            ++refused;
        }
    }
    // The mutations must leave both kinds in good number, or the test proves little.
    EXPECT_GT(answered, kFrames / 20);
    EXPECT_GT(refused, kFrames / 2);
    const auto stats = dp.stats();
    EXPECT_EQ(stats[XVRRP_STAT_ARP_REPLIED].packets + stats[XVRRP_STAT_NS_REPLIED].packets,
              static_cast<std::uint64_t>(answered));
    RecordProperty("answered", answered);
    RecordProperty("refused", refused);
}

// ---- adverts ----

// The world's instances (configure_world), as the advert reference sees them.
struct WorldInstance {
    xvrrp_inst_key key;
    std::uint8_t version;
    bool auth_pass;
};

std::vector<WorldInstance> world_instances() {
    return {{inst_key(kIfindex, kVridV3), 3, false},
            {inst_key(kIfindex, kVridV2), 2, true},
            {inst_key(kIfindex, kVridV3, Family::V6), 3, false},
            {inst_key(kIfindex, kVridVlan, Family::V4, kVlan), 3, false},
            {inst_key(kIfindex, kVridMaster), 3, false}};
}

enum class AdvertClass { NotAnAdvert, NotOurs, Invalid, Valid };

struct AdvertView {
    std::size_t vrrp = 0, payload = 0;
    IpAddress src, dst;
};

// Where the VRRP message of an IPv4 or IPv6 frame with protocol 112 is, if the IP layer is sound
// enough to say; nullopt for anything else.
std::optional<AdvertView> locate_advert(const Bytes& f, bool& ip_invalid) {
    ip_invalid = false;
    auto p = parse_l2(f);
    if (!p) return std::nullopt;
    const std::size_t o = p->l3;
    AdvertView v;
    if (p->type == kEthIpv4) {
        if (f.size() < o + 20 || f[o + 9] != kIpProtoVrrp) return std::nullopt;
        const std::size_t ihl = f[o] & 0x0f;
        if (ihl < 5 || f.size() < o + ihl * 4) return std::nullopt;  // not an IPv4 header: the stack's to judge
        Checksum hc;
        const std::size_t tot = be16(f, o + 2);
        // RFC 791: version 4; adverts carry no options and are never fragments.
        ip_invalid = (f[o] >> 4) != 4 || ihl != 5 || (be16(f, o + 6) & 0x3fff) ||
                     hc.add(std::span(f).subspan(o, 20)).finish() != 0 || tot < 20;
        v.vrrp = o + 20;
        v.payload = tot >= 20 ? tot - 20 : 0;
        v.src.family = v.dst.family = Family::V4;
        std::copy_n(f.begin() + static_cast<long>(o + 12), 4, v.src.bytes.begin());
        std::copy_n(f.begin() + static_cast<long>(o + 16), 4, v.dst.bytes.begin());
        return v;
    }
    if (p->type == kEthIpv6) {
        if (f.size() < o + 40 || f[o + 6] != kIpProtoVrrp) return std::nullopt;
        ip_invalid = (f[o] >> 4) != 6;
        v.vrrp = o + 40;
        v.payload = be16(f, o + 4);
        v.src.family = v.dst.family = Family::V6;
        std::copy_n(f.begin() + static_cast<long>(o + 8), 16, v.src.bytes.begin());
        std::copy_n(f.begin() + static_cast<long>(o + 24), 16, v.dst.bytes.begin());
        return v;
    }
    return std::nullopt;
}

// RFC 9568 7.1 and RFC 3768 7.1, written from the RFCs: what a receiver must check before an
// advert may touch its state. The instance it is for, if any.
AdvertClass reference_advert(const Bytes& f, std::optional<WorldInstance>& for_inst) {
    bool ip_invalid = false;
    const auto v = locate_advert(f, ip_invalid);
    if (!v) return AdvertClass::NotAnAdvert;
    if (ip_invalid) return AdvertClass::Invalid;
    if (f.size() < v->vrrp + 8) return AdvertClass::Invalid;  // not even the fixed fields
    const auto p = parse_l2(f);
    const std::uint8_t vrid = f[v->vrrp + 1];
    for (const auto& w : world_instances())
        if (w.key.vrid == vrid && w.key.vlan == p->vlan && w.key.family == static_cast<std::uint8_t>(v->src.family))
            for_inst = w;
    if (!for_inst) return AdvertClass::NotOurs;  // another router's VRID: the stack's
    const WorldInstance& w = *for_inst;
    const std::size_t h = v->vrrp, alen = v->src.family == Family::V4 ? 4 : 16;
    const std::size_t ttl_at = p->l3 + (v->src.family == Family::V4 ? 8 : 7);
    if ((f[h] >> 4) != w.version || (f[h] & 0x0f) != 1 || f[ttl_at] != 255) return AdvertClass::Invalid;
    const std::size_t need = 8 + f[h + 3] * alen + (w.version == 2 ? 8 : 0);
    if (v->payload < need || v->payload > XVRRP_MAX_VRRP_LEN || f.size() < h + v->payload) return AdvertClass::Invalid;
    Checksum c;
    if (w.version == 3) c.add_pseudo_header(v->src, v->dst, kIpProtoVrrp, static_cast<std::uint32_t>(v->payload));
    if (c.add(std::span(f).subspan(h, v->payload)).finish() != 0) return AdvertClass::Invalid;
    if (w.version == 2) {
        if (f[h + 4] != 1 || !std::equal(kPassword.begin(), kPassword.end(), f.begin() + static_cast<long>(h + need - 8)))
            return AdvertClass::Invalid;
        if (f[h + 5] != 1) return AdvertClass::Invalid;  // v2: the interval must be ours (1 s)
    } else if ((be16(f, h + 4) & 0x0fff) == 0) {
        return AdvertClass::Invalid;  // Max Advert Interval 0
    }
    return AdvertClass::Valid;
}

// Recomputes the IPv4 header and VRRP checksums where the lengths allow, so that mutations
// reach the checks behind them (version, type, TTL, count, interval, authentication).
void fix_checksums(Bytes& f) {
    bool ip_invalid = false;
    const auto v = locate_advert(f, ip_invalid);
    if (!v) return;
    const auto p = parse_l2(f);
    if (v->src.family == Family::V4 && (f[p->l3] & 0x0f) == 5) {
        f[p->l3 + 10] = f[p->l3 + 11] = 0;
        const std::uint16_t hc = Checksum().add(std::span(f).subspan(p->l3, 20)).finish();
        f[p->l3 + 10] = static_cast<std::uint8_t>(hc >> 8);
        f[p->l3 + 11] = static_cast<std::uint8_t>(hc);
    }
    if (v->payload < 8 || f.size() < v->vrrp + v->payload) return;
    f[v->vrrp + 6] = f[v->vrrp + 7] = 0;
    Checksum c;
    if ((f[v->vrrp] >> 4) != 2) c.add_pseudo_header(v->src, v->dst, kIpProtoVrrp, static_cast<std::uint32_t>(v->payload));
    const std::uint16_t sum = c.add(std::span(f).subspan(v->vrrp, v->payload)).finish();
    f[v->vrrp + 6] = static_cast<std::uint8_t>(sum >> 8);
    f[v->vrrp + 7] = static_cast<std::uint8_t>(sum);
}

std::vector<Bytes> advert_seeds() {
    const VlanTag vlan{kVlan};
    return {advert_frame(advert(kVridV3)),           advert_frame(advert(kVridV3, 50)),
            advert_frame(advert(kVridV2, 200, 2)),   advert_frame(advert6(kVridV3), kPeerIp6),
            advert_frame(advert(kVridVlan), kPeerIp, {vlan}), advert_frame(advert(kVridMaster, 0)),
            advert_frame(advert(kVridMaster, 150)),  advert_frame(advert(60)),
            advert_frame(advert6(60), kPeerIp6)};
}

std::vector<Bytes> peer_entries(const Dataplane& dp) {
    std::vector<Bytes> out;
    for (const auto& w : world_instances()) {
        const auto peer = dp.peer(w.key);
        Bytes b(sizeof(xvrrp_peer));
        if (peer) std::memcpy(b.data(), &*peer, sizeof(xvrrp_peer));
        out.push_back(std::move(b));
    }
    return out;
}

// Every mutated advert: accepted exactly when the reference says it is valid, and a rejected one
// moves nothing: no instance's peer entry (sender, priority, interval, advert count, timer
// deadline, rate-limit window) and no event changes.
TEST(XdpFuzz, AdvertsMoveStateOnlyWhenWellFormed) {
    XVRRP_REQUIRE_ROOT();
    Dataplane dp(DataplaneOptions{.pin_root = ""});
    configure_world(dp, kIfindex);
    const auto seed = fuzz_seed();
    std::mt19937 rng(seed);
    const auto base = advert_seeds();
    std::map<AdvertClass, int> seen;
    constexpr int kAdverts = 20000;
    for (int i = 0; i < kAdverts; ++i) {
        Bytes in = mutate(base[static_cast<std::size_t>(i) % base.size()], rng);
        if (rng() % 2) fix_checksums(in);
        std::optional<WorldInstance> inst;
        const AdvertClass want = reference_advert(in, inst);
        ++seen[want];
        const auto before_peers = peer_entries(dp);
        const auto before = dp.stats();
        const XdpRun run = xdp_test_run(dp.prog_fd(), in, kIfindex);
        const auto after = dp.stats();
        const auto valid = after[XVRRP_STAT_ADVERT_VALID].packets - before[XVRRP_STAT_ADVERT_VALID].packets;
        const std::string where = "seed " + std::to_string(seed) + ", advert " + std::to_string(i) + ":\n" + to_hex(in);
        ASSERT_NE(run.verdict, XDP_ABORTED) << where;
        if (want == AdvertClass::Valid) {
            ASSERT_EQ(valid, 1u) << "a valid advert was refused, " << where;
            ASSERT_EQ(verdict_name(run.verdict), "XDP_DROP") << where;
            const auto peer = dp.peer(inst->key);
            ASSERT_TRUE(peer);
            bool ignored = false;
            const auto v = locate_advert(in, ignored);
            EXPECT_EQ(peer->priority, in[v->vrrp + 2]) << where;
            EXPECT_EQ(std::memcmp(peer->addr, v->src.bytes.data(), 16), 0) << where;
            continue;
        }
        ASSERT_EQ(valid, 0u) << "an advert the reference refuses was accepted, " << where;
        ASSERT_EQ(peer_entries(dp), before_peers) << "a refused advert moved an instance's state, " << where;
        ASSERT_EQ(after[XVRRP_STAT_EVENTS_SENT].packets, before[XVRRP_STAT_EVENTS_SENT].packets) << where;
        if (want == AdvertClass::Invalid) {
            ASSERT_EQ(verdict_name(run.verdict), "XDP_DROP") << where;
        } else if (want == AdvertClass::NotOurs) {
            ASSERT_EQ(verdict_name(run.verdict), "XDP_PASS") << where;
        }
        ASSERT_EQ(run.output, in) << where;
    }
    // Each kind in good number, or the test proves little.
    for (AdvertClass k : {AdvertClass::Valid, AdvertClass::Invalid, AdvertClass::NotOurs})
        EXPECT_GT(seen[k], kAdverts / 50) << static_cast<int>(k);
    RecordProperty("valid", seen[AdvertClass::Valid]);
    RecordProperty("invalid", seen[AdvertClass::Invalid]);
    std::cout << "adverts: " << seen[AdvertClass::Valid] << " valid, " << seen[AdvertClass::Invalid] << " invalid, "
              << seen[AdvertClass::NotOurs] << " for other VRIDs, " << seen[AdvertClass::NotAnAdvert] << " not adverts\n";
}

}  // namespace
