// bench/run.sh xdp: nanoseconds per packet for each XDP path beside the empty
// program, measured in the same run with BPF_PROG_TEST_RUN; and the ARP
// answer rate of XDP against the kernel's own ARP on one veth pair.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sched.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "arp_gen.skel.h"
#include "frame_edit.hpp"
#include "stats.hpp"
#include "lab.hpp"
#include "world.hpp"
#include "xdp_replay.skel.h"
#include "xdp_run.hpp"
#include "xvrrp/skeleton.hpp"
#include "bench.hpp"

using namespace xvrrp;
using namespace xvrrp::test;

namespace {

using ReplaySkel = SkeletonPtr<xdp_replay_bpf, xdp_replay_bpf__destroy>;
using GenSkel = SkeletonPtr<arp_gen_bpf, arp_gen_bpf__destroy>;

using Options = xvrrp::bench::XdpOptions;

// Median of per-run means over several BPF_PROG_TEST_RUN calls.
double ns_per_packet(int prog_fd, const Bytes& frame, const Options& o) {
    std::vector<double> v;
    for (unsigned r = 0; r < o.rounds; ++r)
        v.push_back(static_cast<double>(xdp_test_run(prog_fd, frame, 1, o.repeat).duration_ns));
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

void expect_verdict(int prog_fd, const Bytes& frame, int verdict, const char* what) {
    const int got = xdp_test_run(prog_fd, frame, 1).verdict;
    if (got != verdict)
        throw std::runtime_error(std::string(what) + ": expected " + verdict_name(verdict) + ", got " + verdict_name(got));
}

// The replay programs run the production code on the production maps.
ReplaySkel open_replay(const Dataplane& dp) {
    ReplaySkel s(xdp_replay_bpf__open());
    if (!s) throw std::runtime_error("open xdp_replay");
    bpf_map* map = nullptr;
    bpf_object__for_each_map(map, s->obj) {
        bpf_map__set_pin_path(map, nullptr);
        const std::string name = bpf_map__name(map);
        if (name.rfind("xvrrp_", 0) == 0) check_libbpf(bpf_map__reuse_fd(map, dp.map_fd(name)), "reuse " + name);
    }
    check_libbpf(xdp_replay_bpf__load(s.get()), "load xdp_replay");
    return s;
}

struct PathFigures {
    double empty, pass, advert, arp, arp_restore, ns, ns_restore;
    double vip_lookup, inst_lookup, clock;  // building blocks
};

PathFigures measure_paths(const Options& o) {
    Dataplane dp(DataplaneOptions{.pin_root = ""});
    configure_world(dp, 1);
    PassProgram empty;

    const Bytes udp = udp4_frame();
    const Bytes adv = advert_frame(advert(kVridV3, 200));
    const Bytes arp = pad_to(arp_request(kVipOwned), 60);
    const Bytes ns = ns_frame(kVip6Owned);
    if (ns.size() != 86) throw std::runtime_error("NS fixture is not 86 bytes");

    ReplaySkel replay = open_replay(dp);
    const int replay_arp = bpf_program__fd(replay->progs.replay_arp);
    const int replay_ns = bpf_program__fd(replay->progs.replay_ns);

    // Each path must be the path we think it is, on every repeat.
    expect_verdict(empty.prog_fd(), udp, XDP_PASS, "empty program");
    expect_verdict(dp.prog_fd(), udp, XDP_PASS, "pass-through");
    expect_verdict(dp.prog_fd(), adv, XDP_DROP, "VRRP advert");
    std::memcpy(replay->bss->replay_frame, arp.data(), arp.size());
    expect_verdict(replay_arp, arp, XDP_TX, "ARP reply");
    PathFigures f{};
    f.arp = ns_per_packet(replay_arp, arp, o);
    f.arp_restore = ns_per_packet(bpf_program__fd(replay->progs.restore_arp_only), arp, o);
    std::memcpy(replay->bss->replay_frame, ns.data(), ns.size());
    expect_verdict(replay_ns, ns, XDP_TX, "NA reply");
    f.ns = ns_per_packet(replay_ns, ns, o);
    f.ns_restore = ns_per_packet(bpf_program__fd(replay->progs.restore_ns_only), ns, o);

    expect_verdict(bpf_program__fd(replay->progs.block_vip_lookup), arp, XDP_PASS, "VIP lookup hit");
    f.vip_lookup = ns_per_packet(bpf_program__fd(replay->progs.block_vip_lookup), arp, o);
    expect_verdict(bpf_program__fd(replay->progs.block_inst_lookup), arp, XDP_PASS, "instance lookup hit");
    f.inst_lookup = ns_per_packet(bpf_program__fd(replay->progs.block_inst_lookup), arp, o);
    f.clock = ns_per_packet(bpf_program__fd(replay->progs.block_clock), arp, o);

    const auto valid_before = dp.stats()[XVRRP_STAT_ADVERT_VALID].packets;
    f.empty = ns_per_packet(empty.prog_fd(), udp, o);
    f.pass = ns_per_packet(dp.prog_fd(), udp, o);
    f.advert = ns_per_packet(dp.prog_fd(), adv, o);
    if (dp.stats()[XVRRP_STAT_ADVERT_VALID].packets - valid_before < std::uint64_t{o.repeat} * o.rounds)
        throw std::runtime_error("adverts were not all counted valid");
    return f;
}

// ---- ARP answer rate: generator -> veth -> responder (XDP or kernel) -> veth -> sink ----

struct RateFigures {
    double xdp_pps = 0, kernel_pps = 0;
    double xdp_answered = 0, kernel_answered = 0;  // share of requests answered
};

constexpr unsigned kBatch = 128;  // frames per live-frames batch: more overflows the veth ring (256)

struct ArpLab {
    Netns gen{"xvb-g"}, rtr{"xvb-r"};
    GenSkel skel;
    XdpAttachment sink;
    unsigned g0 = 0, r0 = 0;

    ArpLab() {
        add_veth(gen, "g0", rtr, "r0");
        gen.exec("ip addr add 192.0.2.10/24 dev g0");
        rtr.exec("ip addr add 192.0.2.1/24 dev r0");
        g0 = gen.ifindex("g0");
        r0 = rtr.ifindex("r0");
        skel.reset(arp_gen_bpf__open_and_load());
        if (!skel) throw std::runtime_error("load arp_gen");
        Mac g0_mac = *parse_mac(gen.exec("cat /sys/class/net/g0/address").substr(0, 17));
        const Bytes req = pad_to(ethernet_frame(kBroadcastMac, g0_mac, kEthArp,
                                                arp_packet(kArpRequest, g0_mac, kClientIp, Mac{}, kVipOwned)),
                                 60);
        std::memcpy(skel->bss->request, req.data(), req.size());
        std::memcpy(skel->bss->vip, kVipOwned.bytes.data(), 4);
        sink = attach_in(gen, "g0", bpf_program__fd(skel->progs.arp_sink));
    }

    // Sends n requests; returns (answers per second, share answered).
    std::pair<double, double> run(unsigned n) {
        skel->bss->replies = 0;
        const auto* req = reinterpret_cast<const std::uint8_t*>(skel->bss->request);
        const Bytes frame(req, req + 60);
        xdp_md ctx{};
        ctx.data_end = 60;
        ctx.ingress_ifindex = g0;
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_size_in = 60, .ctx_in = &ctx,
                    .ctx_size_in = sizeof(ctx), .repeat = static_cast<int>(n),
                    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = kBatch);
        NetnsScope in(gen);
        const auto t0 = std::chrono::steady_clock::now();
        check_libbpf(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.arp_gen), &opts), "live-frames run");
        // Answers still in flight when the generator returns are waited for (at most 1 s).
        std::uint64_t last = 0;
        auto t1 = std::chrono::steady_clock::now();
        for (int i = 0; i < 100; ++i) {
            const std::uint64_t now = __atomic_load_n(&skel->bss->replies, __ATOMIC_RELAXED);
            if (now >= n) {
                t1 = std::chrono::steady_clock::now();
                break;
            }
            if (now == last && i > 0) break;
            last = now;
            t1 = std::chrono::steady_clock::now();
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        const double secs = std::chrono::duration<double>(t1 - t0).count();
        const double answered = static_cast<double>(skel->bss->replies);
        return {answered / secs, answered / n};
    }
};

RateFigures measure_arp_rate(const Options& o) {
    ArpLab lab;
    PassProgram pass;
    Dataplane dp(DataplaneOptions{.pin_root = ""});
    dp.set_instance(inst_key(lab.r0, 1), make_inst(3, XVRRP_STATE_MASTER, kRouterIp));
    dp.set_vip(vip_key(lab.r0, kVipOwned), make_vip(virtual_mac(1, Family::V4), true), inst_key(lab.r0, 1));
    std::vector<double> xdp_pps, kernel_pps, xdp_share, kernel_share;
    for (unsigned r = 0; r < o.arp_rounds; ++r) {
        {
            XdpAttachment x = attach_in(lab.rtr, "r0", dp.prog_fd());
            auto [pps, share] = lab.run(o.arp_requests);
            xdp_pps.push_back(pps);
            xdp_share.push_back(share);
        }
        {
            // The kernel answers for an address on r0; the empty program lets frames in.
            lab.rtr.exec("ip addr add 192.0.2.100/24 dev r0");
            XdpAttachment x = attach_in(lab.rtr, "r0", pass.prog_fd());
            auto [pps, share] = lab.run(o.arp_requests);
            kernel_pps.push_back(pps);
            kernel_share.push_back(share);
            lab.rtr.exec("ip addr del 192.0.2.100/24 dev r0");
        }
    }
    return {xvrrp::bench::summarize(xdp_pps).median, xvrrp::bench::summarize(kernel_pps).median, *std::min_element(xdp_share.begin(), xdp_share.end()),
            *std::min_element(kernel_share.begin(), kernel_share.end())};
}

void print_table(const PathFigures& p, const RateFigures& r, const Options& o) {
    std::printf("XDP paths, BPF_PROG_TEST_RUN, median of %u runs x %u repeats (ns per packet)\n", o.rounds, o.repeat);
    std::printf("%-34s %9s %9s %8s\n", "path", "ns/pkt", "x empty", "target");
    auto row = [&](const char* name, double ns, const char* target) {
        std::printf("%-34s %9.1f %9.2f %8s\n", name, ns, ns / p.empty, target);
    };
    row("empty XDP_PASS program (floor)", p.empty, "");
    row("pass-through IPv4 UDP", p.pass, "<=1.3");
    row("VRRPv3 advert (checksum, state)", p.advert, "<=3.0");
    row("ARP request -> reply (XDP_TX)*", p.arp, "<=2.0");
    row("IPv6 NS -> NA (XDP_TX)*", p.ns, "<=2.0");
    std::printf("* includes restoring the request before each run: %.1f ns (ARP), %.1f ns (NS) alone\n",
                p.arp_restore, p.ns_restore);
    std::printf("building blocks over the floor: VIP table lookup %.1f ns, instance hash lookup %.1f ns, "
                "bpf_ktime_get_ns() %.1f ns\n",
                p.vip_lookup - p.empty, p.inst_lookup - p.empty, p.clock - p.empty);
    std::printf("\nARP answer rate, %u requests x %u rounds on one veth pair (median)\n", o.arp_requests, o.arp_rounds);
    std::printf("%-34s %12s %10s\n", "responder", "answers/s", "answered");
    std::printf("%-34s %12.0f %9.2f%%\n", "xvrrp XDP", r.xdp_pps, 100 * r.xdp_answered);
    std::printf("%-34s %12.0f %9.2f%%\n", "kernel ARP", r.kernel_pps, 100 * r.kernel_answered);
    std::printf("%-34s %12.2f %10s\n", "ratio XDP / kernel (target >= 5)", r.xdp_pps / r.kernel_pps, "");
}

nlohmann::json to_json(const PathFigures& p, const RateFigures& r, const Options& o) {
    return {
        {"repeat", o.repeat},
        {"rounds", o.rounds},
        {"empty_ns", p.empty},
        {"ns_per_packet", {{"pass_ipv4_udp", p.pass}, {"vrrp_advert", p.advert}, {"arp_reply", p.arp},
                           {"na_reply", p.ns}}},
        {"ratio_to_empty", {{"pass_ipv4_udp", p.pass / p.empty}, {"vrrp_advert", p.advert / p.empty},
                            {"arp_reply", p.arp / p.empty}, {"na_reply", p.ns / p.empty}}},
        {"restore_ns", {{"arp", p.arp_restore}, {"ns", p.ns_restore}}},
        {"building_blocks_ns_over_floor", {{"vip_table_lookup", p.vip_lookup - p.empty},
                                           {"instance_hash_lookup", p.inst_lookup - p.empty},
                                           {"ktime_get_ns", p.clock - p.empty}}},
        {"arp_rate", {{"requests", o.arp_requests}, {"xdp_answers_per_s", r.xdp_pps},
                      {"kernel_answers_per_s", r.kernel_pps}, {"xdp_answered_share", r.xdp_answered},
                      {"kernel_answered_share", r.kernel_answered}, {"ratio", r.xdp_pps / r.kernel_pps}}},
    };
}

}  // namespace

namespace xvrrp::bench {

int run_xdp(const XdpOptions& o) {
    try {
        const PathFigures paths = measure_paths(o);
        const RateFigures rate = measure_arp_rate(o);
        if (o.json)
            std::cout << to_json(paths, rate, o).dump(2) << "\n";
        else
            print_table(paths, rate, o);
    } catch (const std::exception& e) {
        std::cerr << "bench xdp: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

}  // namespace xvrrp::bench
