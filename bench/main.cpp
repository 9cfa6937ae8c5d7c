// xvrrp_bench SUBCOMMAND [--json] ...: run through bench/run.sh, as root.
#include <sched.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <random>

#include "bench.hpp"
#include "lab.hpp"

int main(int argc, char** argv) {
    using namespace xvrrp::bench;
    CLI::App app{"xvrrp benchmarks (run through bench/run.sh)"};
    app.require_subcommand(1);

    XdpOptions x;
    auto* xdp = app.add_subcommand("xdp", "XDP path cost and ARP answer rate");
    xdp->add_flag("--json", x.json, "print one JSON object instead of the table");
    xdp->add_option("--repeat", x.repeat, "runs per BPF_PROG_TEST_RUN call")->check(CLI::Range(1000u, 100'000'000u));
    xdp->add_option("--rounds", x.rounds, "calls per path (median)")->check(CLI::Range(1u, 101u));
    xdp->add_option("--arp-requests", x.arp_requests, "requests per ARP rate round")->check(CLI::Range(1000u, 50'000'000u));

    FailoverOptions f;
    auto* failover = app.add_subcommand("failover", "failover at a random phase: client ping gap and takeover above the floor, xvrrpd and keepalived");
    failover->add_flag("--json", f.json, "print one JSON object instead of the table");
    failover->add_option("--runs", f.runs, "runs per implementation and interval")->check(CLI::Range(1u, 100u));
    ScaleOptions sc;
    auto* scale = app.add_subcommand("scale", "controller and machine CPU with N instances, xvrrpd and keepalived");
    scale->add_flag("--json", sc.json, "print one JSON object instead of the table");
    scale->add_option("--interval", sc.intervals, "advert intervals in ms (100,10)")->delimiter(',')->check(CLI::Range(10, 1000));
    scale->add_option("--instances", sc.instances, "instance counts (1,100,1000,4000)")->delimiter(',')->check(CLI::Range(1, 16000));
    scale->add_option("--max-at-10ms", sc.max_at_10ms, "largest count measured below 100 ms")->check(CLI::Range(1, 16000));
    scale->add_option("--repeats", sc.repeats, "runs per count, interval and daemon")->check(CLI::Range(1u, 20u));
    scale->add_flag("--xvrrpd-only", sc.xvrrpd_only, "skip keepalived (quick runs; no ratio)");
    scale->add_option("--window", sc.window_s, "seconds of CPU measurement")->check(CLI::Range(1u, 120u));
    scale->add_option("--seed", sc.seed, "seed of the daemon order (0: random)");
    StartupOptions st;
    auto* startup = app.add_subcommand("startup", "start-up and reload time with N instances");
    startup->add_flag("--json", st.json, "print one JSON object instead of the table");
    startup->add_option("--instances", st.instances, "instance counts")->check(CLI::Range(1, 8000));
    startup->add_option("--repeats", st.repeats, "runs per count")->check(CLI::Range(1u, 20u));
    FloodOptions fl;
    auto* flood = app.add_subcommand("flood", "lateness of one segment's adverts while another segment is flooded");
    flood->add_flag("--json", fl.json, "print one JSON object instead of the table");
    flood->add_option("--interval", fl.interval_ms, "advert interval in ms")->check(CLI::Range(10, 1000));
    flood->add_option("--phase", fl.phase_s, "seconds captured per phase")->check(CLI::Range(1u, 60u));
    flood->add_option("--repeats", fl.repeats, "quiet and flooded phases each")->check(CLI::Range(1u, 20u));
    MassOptions ms;
    auto* mass = app.add_subcommand("mass", "mass failover: when the last of N VIPs answers from the backup, xvrrpd and keepalived");
    mass->add_flag("--json", ms.json, "print one JSON object instead of the table");
    mass->add_option("--instances", ms.instances, "instance counts (1,100,1000)")->delimiter(',')->check(CLI::Range(1, 1000));
    mass->add_option("--repeats", ms.repeats, "runs per count and daemon")->check(CLI::Range(1u, 20u));
    mass->add_option("--interval", ms.interval_ms, "advert interval in ms")->check(CLI::Range(10, 1000));
    mass->add_flag("--xvrrpd-only", ms.xvrrpd_only, "skip keepalived (quick runs, profiling)");
    mass->add_option("--probe-spacing", ms.probe_spacing_us, "us between the client's requests (1 / rate)")->check(CLI::Range(5, 1000));
    ChecksOptions ck;
    auto* checks = app.add_subcommand("checks", "N http/tcp/icmp checks at 1 s: CPU per check, check latency, a 10 ms master's advert lateness, xvrrpd and keepalived");
    checks->add_flag("--json", ck.json, "print one JSON object instead of the table");
    checks->add_option("--counts", ck.counts, "check counts (10,100,1000)")->delimiter(',')->check(CLI::Range(1, 2000));
    checks->add_option("--kinds", ck.kinds, "http,tcp,icmp")->delimiter(',')->check(CLI::IsMember({"http", "tcp", "icmp"}));
    checks->add_option("--window", ck.window_s, "seconds measured per run")->check(CLI::Range(2u, 120u));
    checks->add_option("--seed", ck.seed, "seed of the daemon order (0: random)");
    checks->add_flag("--xvrrpd-only", ck.xvrrpd_only, "skip keepalived (quick runs; no ratio)");
    MetricsOptions me;
    auto* metrics = app.add_subcommand("metrics", "scrape time with N instances, and a 10 ms master's advert lateness while scraped 10/s");
    metrics->add_flag("--json", me.json, "print one JSON object instead of the table");
    metrics->add_option("--instances", me.instances, "1 s instances beside the 10 ms one (1000)")->delimiter(',')->check(CLI::Range(0, 4000));
    metrics->add_option("--repeats", me.repeats, "quiet and scraped windows per count")->check(CLI::Range(1u, 20u));
    metrics->add_option("--window", me.window_s, "seconds per window")->check(CLI::Range(2u, 120u));
    metrics->add_option("--seed", me.seed, "seed of the phase order (0: random)");
    RestartOptions rs;
    auto* restart = app.add_subcommand("restart", "the master's daemon upgraded, killed and restarted, stopped and started: client loss and advert gap, xvrrpd and keepalived");
    restart->add_flag("--json", rs.json, "print one JSON object instead of the table");
    restart->add_option("--interval", rs.interval_ms, "advert interval in ms (1000)")->check(CLI::Range(10, 10000));
    restart->add_option("--repeats", rs.repeats, "runs per scenario")->check(CLI::Range(1u, 50u));
    restart->add_option("--seed", rs.seed, "seed of the order and phases (0: random)");
    restart->add_flag("--xvrrpd-only", rs.xvrrpd_only, "skip keepalived");
    UpgradeOptions up;
    auto* upgrade = app.add_subcommand("upgrade", "the master's daemon upgraded K times with N instances: time frozen, advert gap, nothing moved");
    upgrade->add_flag("--json", up.json, "print one JSON object instead of the table");
    upgrade->add_option("--instances", up.instances, "IPv6 instances beside the IPv4 gateway (1,100,1000)")->delimiter(',')->check(CLI::Range(0, 4000));
    upgrade->add_option("--interval", up.interval_ms, "advert interval in ms (1000)")->check(CLI::Range(10, 10000));
    upgrade->add_option("--upgrades", up.upgrades, "upgrades per N")->check(CLI::Range(1u, 100u));
    upgrade->add_option("--seed", up.seed, "seed of the phases (0: random)");
    CLI11_PARSE(app, argc, argv);

    if (::geteuid() != 0) {
        std::cerr << "bench: needs root (BPF and network namespaces)\n";
        return 2;
    }
    // A benchmark stopped with ^C or kill leaves no namespace or mount behind.
    xvrrp::test::install_signal_cleanup();
    if (xdp->parsed()) {
        // BPF_PROG_TEST_RUN's ingress device is lo of a namespace of our own.
        if (::unshare(CLONE_NEWNET) != 0) {
            std::perror("unshare(CLONE_NEWNET)");
            return 1;
        }
        return run_xdp(x);
    }
    if (scale->parsed()) {
        if (sc.seed == 0) sc.seed = std::random_device{}();
        return run_scale(sc);
    }
    if (flood->parsed()) return run_flood(fl);
    if (startup->parsed()) return run_startup(st);
    if (mass->parsed()) return run_mass(ms);
    if (metrics->parsed()) return run_metrics(me);
    if (restart->parsed()) return run_restart(rs);
    if (upgrade->parsed()) return run_upgrade(up);
    if (checks->parsed()) {
        if (ck.seed == 0) ck.seed = std::random_device{}();
        return run_checks(ck);
    }
    return run_failover(f);
}
