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
#include <numeric>
#include <random>
#include <stdexcept>
#include <thread>

#include "arp_gen.skel.h"
#include "frame_edit.hpp"
#include "stats.hpp"
#include "lab.hpp"
#include "world.hpp"
#include "xdp_replay.skel.h"
#include "xdp_run.hpp"
#include "xvrrp/kernel_clock.hpp"
#include "xvrrp/skeleton.hpp"
#include "bench.hpp"

using namespace xvrrp;
using namespace xvrrp::test;

namespace {

using ReplaySkel = SkeletonPtr<xdp_replay_bpf, xdp_replay_bpf__destroy>;
using GenSkel = SkeletonPtr<arp_gen_bpf, arp_gen_bpf__destroy>;

using Options = xvrrp::bench::XdpOptions;

// Nanoseconds per run of one BPF_PROG_TEST_RUN call with o.repeat runs, by this thread's CPU
// time (the runs execute in the call, on this thread): the kernel's own figure is a whole number
// of ns, too coarse beside the floor, and the wall clock around a call read whole 4 ms scheduler
// ticks on the machine of 2026-12-06 (a 100,000-run call of the empty program read 160 or 200
// ns a run, nothing between), and counts time spent preempted. The call's set-up, spread over
// the runs, adds well under 0.1 ns.
double thread_cpu_ns() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

double one_call_ns(int prog_fd, const Bytes& frame, const Options& o) {
    const double t0 = thread_cpu_ns();
    xdp_test_run(prog_fd, frame, 1, o.repeat);
    return (thread_cpu_ns() - t0) / o.repeat;
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
    s->bss->xvrrp_tick_ns = kernel_tick_ns();  // the fail-safe clock, as the daemon sets it
    return s;
}

// One figure per path: its calls' median and spread (ns per packet).
using xvrrp::bench::Summary;

// A path against the empty program of the same round (each round runs every path once), so a drift
// of the machine between rounds cancels. The ns over the empty program go beside the ratio: a
// slower floor alone lowers a ratio, and would flatter the program.
struct Paired {
    Summary over_floor_ns;  // path - empty (net of the request's copy where there is one)
    Summary ratio;          // (path net of the copy) / empty
};

struct PathFigures {
    Summary empty, pass, advert, arp, arp_restore, ns, ns_restore;
    Summary vip_lookup, inst_lookup, inst_hash_lookup, clock;  // building blocks
    Paired pass_vs_empty, advert_vs_empty, arp_vs_empty, ns_vs_empty, clock_vs_empty;
};

// restore: the replay wrapper's copy of the request alone (its own floor included), or none.
Paired pair_with_empty(const std::vector<double>& path, const std::vector<double>& empty,
                       const std::vector<double>* restore = nullptr) {
    std::vector<double> over, ratio;
    for (std::size_t r = 0; r < path.size(); ++r) {
        const double copy = restore ? (*restore)[r] - empty[r] : 0.0;
        over.push_back(path[r] - copy - empty[r]);
        ratio.push_back((path[r] - copy) / empty[r]);
    }
    return {xvrrp::bench::summarize(over), xvrrp::bench::summarize(ratio)};
}

PathFigures measure_paths(const Options& o, std::mt19937& rng) {
    Dataplane dp(DataplaneOptions{.pin_root = ""});
    configure_world(dp, 1);
    PassProgram empty;

    const Bytes udp = udp4_frame();
    const Bytes adv = advert_frame(advert(kVridV3, 200));
    const Bytes arp = pad_to(arp_request(kVipOwned), 60);
    const Bytes ns = ns_frame(kVip6Owned);
    if (ns.size() != 86) throw std::runtime_error("NS fixture is not 86 bytes");

    ReplaySkel replay = open_replay(dp);
    // The kernel hash map the instance directory replaced, holding the same instance, so the
    // two lookups are compared in the same run.
    const xvrrp_inst_key probe_key{.ifindex = 1, .vrid = 1, .family = XVRRP_AF_INET};
    const xvrrp_inst probe_inst = make_inst(3, XVRRP_STATE_BACKUP, kRouterIp);
    check_libbpf(bpf_map_update_elem(bpf_map__fd(replay->maps.bench_inst_hash), &probe_key, &probe_inst, BPF_ANY),
                 "fill bench_inst_hash");
    const int replay_arp = bpf_program__fd(replay->progs.replay_arp);
    const int replay_ns = bpf_program__fd(replay->progs.replay_ns);
    auto use_frame = [&](const Bytes& f) { std::memcpy(replay->bss->replay_frame, f.data(), f.size()); };

    // Each path must be the path we think it is, on every repeat.
    expect_verdict(empty.prog_fd(), udp, XDP_PASS, "empty program");
    expect_verdict(dp.prog_fd(), udp, XDP_PASS, "pass-through");
    expect_verdict(dp.prog_fd(), adv, XDP_DROP, "VRRP advert");
    use_frame(arp);
    expect_verdict(replay_arp, arp, XDP_TX, "ARP reply");
    use_frame(ns);
    expect_verdict(replay_ns, ns, XDP_TX, "NA reply");
    expect_verdict(bpf_program__fd(replay->progs.block_vip_lookup), arp, XDP_PASS, "VIP lookup hit");
    expect_verdict(bpf_program__fd(replay->progs.block_inst_lookup), arp, XDP_PASS, "instance lookup hit");
    expect_verdict(bpf_program__fd(replay->progs.block_inst_hash_lookup), arp, XDP_PASS, "instance hash lookup hit");

    struct Case {
        Summary* out;
        int prog;
        const Bytes* frame;
        const Bytes* replay = nullptr;  // copied into the replay programs' frame first
        std::vector<double> samples{};
    };
    PathFigures f{};
    std::vector<Case> cases{
        {&f.empty, empty.prog_fd(), &udp},
        {&f.pass, dp.prog_fd(), &udp},
        {&f.advert, dp.prog_fd(), &adv},
        {&f.arp, replay_arp, &arp, &arp},
        {&f.arp_restore, bpf_program__fd(replay->progs.restore_arp_only), &arp, &arp},
        {&f.ns, replay_ns, &ns, &ns},
        {&f.ns_restore, bpf_program__fd(replay->progs.restore_ns_only), &ns, &ns},
        {&f.vip_lookup, bpf_program__fd(replay->progs.block_vip_lookup), &arp},
        {&f.inst_lookup, bpf_program__fd(replay->progs.block_inst_lookup), &arp},
        {&f.inst_hash_lookup, bpf_program__fd(replay->progs.block_inst_hash_lookup), &arp},
        {&f.clock, bpf_program__fd(replay->progs.block_clock), &arp},
    };
    // Rounds interleave the paths in a new random order each time, so a drift of the machine
    // (another tenant, frequency) spreads over all of them instead of landing on one.
    const auto valid_before = dp.stats()[XVRRP_STAT_ADVERT_VALID].packets;
    std::vector<std::size_t> order(cases.size());
    for (unsigned r = 0; r < o.rounds; ++r) {
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), rng);
        for (std::size_t i : order) {
            Case& c = cases[i];
            if (c.replay) use_frame(*c.replay);
            c.samples.push_back(one_call_ns(c.prog, *c.frame, o));
        }
    }
    if (dp.stats()[XVRRP_STAT_ADVERT_VALID].packets - valid_before < std::uint64_t{o.repeat} * o.rounds)
        throw std::runtime_error("adverts were not all counted valid");
    for (Case& c : cases) *c.out = xvrrp::bench::summarize(c.samples);
    auto rounds = [&](const Summary& of) -> const std::vector<double>& {
        const auto it = std::find_if(cases.begin(), cases.end(), [&](const Case& c) { return c.out == &of; });
        if (it == cases.end()) throw std::logic_error("a paired figure without its case");
        return it->samples;
    };
    f.pass_vs_empty = pair_with_empty(rounds(f.pass), rounds(f.empty));
    f.advert_vs_empty = pair_with_empty(rounds(f.advert), rounds(f.empty));
    f.arp_vs_empty = pair_with_empty(rounds(f.arp), rounds(f.empty), &rounds(f.arp_restore));
    f.ns_vs_empty = pair_with_empty(rounds(f.ns), rounds(f.empty), &rounds(f.ns_restore));
    f.clock_vs_empty = pair_with_empty(rounds(f.clock), rounds(f.empty));
    return f;
}

// ---- ARP answer rate: generator -> veth -> responder (XDP or kernel) -> veth -> sink ----

struct RateFigures {
    double xdp_pps = 0, kernel_pps = 0;
    double xdp_answered = 0, kernel_answered = 0;  // share of requests answered
    std::string unavailable;                       // why not measured: the other fields mean nothing
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

    // Has the generator send n requests out of g0: 0, or the errno of a kernel refusing its mode
    // (BPF_F_TEST_XDP_LIVE_FRAMES; some sandboxed kernels refuse it with EPERM).
    int generate(unsigned n) {
        const auto* req = reinterpret_cast<const std::uint8_t*>(skel->bss->request);
        const Bytes frame(req, req + 60);
        xdp_md ctx{};
        ctx.data_end = 60;
        ctx.ingress_ifindex = g0;
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_size_in = 60, .ctx_in = &ctx,
                    .ctx_size_in = sizeof(ctx), .repeat = static_cast<int>(n),
                    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = kBatch);
        NetnsScope in(gen);
        return bpf_prog_test_run_opts(bpf_program__fd(skel->progs.arp_gen), &opts) == 0 ? 0 : errno;
    }

    // Why the rate cannot be measured here, or "".
    std::string refusal() {
        const int err = generate(1);
        return err ? std::string("the kernel refuses BPF_F_TEST_XDP_LIVE_FRAMES, the generator's mode (") +
                         std::strerror(err) + ")"
                   : "";
    }

    // Sends n requests; returns (answers per second, share answered).
    std::pair<double, double> run(unsigned n) {
        skel->bss->replies = 0;
        const auto t0 = std::chrono::steady_clock::now();
        if (const int err = generate(n)) throw_errno(err, "live-frames run");
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
    if (std::string why = lab.refusal(); !why.empty()) return {.unavailable = why};
    PassProgram pass;
    Dataplane dp(DataplaneOptions{.pin_root = ""});
    dp.set_fail_safe_tick(kernel_tick_ns());
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

// The advert's target: 3x the floor plus what the precise clock read costs over it.
double advert_target(const PathFigures& p) { return 3.0 + (p.clock_vs_empty.ratio.median - 1.0); }

void print_table(const PathFigures& p, const RateFigures& r, const Options& o, unsigned seed) {
    std::printf("XDP paths, BPF_PROG_TEST_RUN, %u rounds x %u repeats by thread CPU time, paths interleaved in random "
                "order (seed %u)\n",
                o.rounds, o.repeat, seed);
    std::printf("%-34s %8s %8s %15s %10s %8s %8s %8s\n", "path", "ns/pkt", "p95", "min-max", "over empty", "x empty",
                "x p95", "target");
    auto row = [&](const char* name, const Summary& s, const Paired* vs, const std::string& target) {
        std::printf("%-34s %8.2f %8.2f %7.2f-%-7.2f", name, s.median, s.p95, s.min, s.max);
        if (vs)
            std::printf(" %10.2f %8.2f %8.2f %8s\n", vs->over_floor_ns.median, vs->ratio.median, vs->ratio.p95,
                        target.c_str());
        else
            std::printf(" %10s %8s %8s %8s\n", "", "1.00", "", "");
    };
    char adv_target[32];
    std::snprintf(adv_target, sizeof(adv_target), "<=%.2f", advert_target(p));
    row("empty XDP_PASS program (floor)", p.empty, nullptr, "");
    row("pass-through IPv4 UDP", p.pass, &p.pass_vs_empty, "<=1.3");
    row("VRRPv3 advert (checksum, state)", p.advert, &p.advert_vs_empty, adv_target);
    row("ARP request -> reply (XDP_TX)*", p.arp, &p.arp_vs_empty, "<=2.0");
    row("IPv6 NS -> NA (XDP_TX)*", p.ns, &p.ns_vs_empty, "<=2.0");
    std::printf("over empty (ns) and x empty: each round's call against the same round's empty program, median of "
                "the rounds (x p95: their 95th percentile)\n");
    std::printf("* ns/pkt includes restoring the request before each run: %.2f ns (ARP), %.2f ns (NS) alone; "
                "over empty and x empty leave the copy out\n",
                p.arp_restore.median, p.ns_restore.median);
    std::printf("the advert's target is 3x plus the precise clock read (bpf_ktime_get_ns() %.2f ns over empty)\n",
                p.clock_vs_empty.over_floor_ns.median);
    const double floor = p.empty.median;
    std::printf("building blocks over the floor: VIP table lookup %.2f ns, instance directory lookup %.2f ns "
                "(a kernel hash lookup of the same instance: %.2f ns)\n",
                p.vip_lookup.median - floor, p.inst_lookup.median - floor, p.inst_hash_lookup.median - floor);
    if (!r.unavailable.empty()) {
        std::printf("\nARP answer rate: not measured: %s\n", r.unavailable.c_str());
        return;
    }
    std::printf("\nARP answer rate, %u requests x %u rounds on one veth pair (median)\n", o.arp_requests, o.arp_rounds);
    std::printf("%-34s %12s %10s\n", "responder", "answers/s", "answered");
    std::printf("%-34s %12.0f %9.2f%%\n", "xvrrp XDP", r.xdp_pps, 100 * r.xdp_answered);
    std::printf("%-34s %12.0f %9.2f%%\n", "kernel ARP", r.kernel_pps, 100 * r.kernel_answered);
    std::printf("%-34s %12.2f %10s\n", "ratio XDP / kernel (target >= 5)", r.xdp_pps / r.kernel_pps, "");
}

nlohmann::json to_json(const Summary& s) {
    return {{"median", s.median}, {"p95", s.p95}, {"min", s.min}, {"max", s.max}, {"n", s.n}};
}

nlohmann::json to_json(const Paired& p) {
    return {{"ns_over_empty", to_json(p.over_floor_ns)}, {"ratio", to_json(p.ratio)}};
}

nlohmann::json to_json(const PathFigures& p, const RateFigures& r, const Options& o, unsigned seed) {
    const double floor = p.empty.median;
    return {
        {"repeat", o.repeat},
        {"rounds", o.rounds},
        {"seed", seed},
        {"empty_ns", to_json(p.empty)},
        {"ns_per_packet", {{"pass_ipv4_udp", to_json(p.pass)}, {"vrrp_advert", to_json(p.advert)},
                           {"arp_reply", to_json(p.arp)}, {"na_reply", to_json(p.ns)}}},
        {"clock", "thread CPU time"},
        // Round by round against the empty program; ARP and NS net of the request's copy.
        {"paired_with_empty", {{"pass_ipv4_udp", to_json(p.pass_vs_empty)}, {"vrrp_advert", to_json(p.advert_vs_empty)},
                               {"arp_reply", to_json(p.arp_vs_empty)}, {"na_reply", to_json(p.ns_vs_empty)},
                               {"ktime_get_ns", to_json(p.clock_vs_empty)}}},
        {"targets", {{"pass_ipv4_udp", 1.3}, {"vrrp_advert", advert_target(p)}, {"arp_reply", 2.0}, {"na_reply", 2.0}}},
        {"restore_ns", {{"arp", p.arp_restore.median}, {"ns", p.ns_restore.median}}},
        {"building_blocks_ns_over_floor", {{"vip_table_lookup", p.vip_lookup.median - floor},
                                           {"instance_directory_lookup", p.inst_lookup.median - floor},
                                           {"instance_hash_lookup", p.inst_hash_lookup.median - floor},
                                           {"ktime_get_ns", p.clock.median - floor}}},
        {"arp_rate", r.unavailable.empty()
                         ? nlohmann::json{{"requests", o.arp_requests}, {"xdp_answers_per_s", r.xdp_pps},
                                          {"kernel_answers_per_s", r.kernel_pps}, {"xdp_answered_share", r.xdp_answered},
                                          {"kernel_answered_share", r.kernel_answered},
                                          {"ratio", r.xdp_pps / r.kernel_pps}}
                         : nlohmann::json{{"unavailable", r.unavailable}}},
    };
}

}  // namespace

namespace xvrrp::bench {

int run_xdp(const XdpOptions& o) {
    try {
        const unsigned seed = std::random_device{}();
        std::mt19937 rng(seed);
        const PathFigures paths = measure_paths(o, rng);
        const RateFigures rate = measure_arp_rate(o);
        if (o.json)
            std::cout << to_json(paths, rate, o, seed).dump(2) << "\n";
        else
            print_table(paths, rate, o, seed);
    } catch (const std::exception& e) {
        std::cerr << "bench xdp: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

}  // namespace xvrrp::bench
