#!/usr/bin/env bash
# The one entry point for every benchmark: bench/run.sh SUBCOMMAND [--json] [options]
#   xdp       ns per packet of each XDP path beside the empty program, and the ARP
#             answer rate of XDP against the kernel's own ARP on one veth pair
#   failover  the master's link cut at a random phase, 20 runs per interval (1 s, 100 ms,
#             10 ms) and daemon: the client's longest ping gap, and the backup's takeover
#             above the protocol floor from a capture, xvrrpd and keepalived
#   scale     CPU of each daemon and of the whole machine with N instances (up to 4000 at
#             100 ms adverts, 1000 at 10 ms), adverts sent against due, xvrrpd and keepalived
#   flood     lateness of one segment's adverts while another segment is flooded
#   startup   start-up and reload time with N instances (1000 and 4000)
#   mass      mass failover: when the last of N VIPs (1, 100, 1000) answers from the
#             backup after the master's links are cut, xvrrpd and keepalived
#   checks    N http/tcp/icmp checks at 1 s (10, 100, 1000): CPU per check, check latency
#             and a 10 ms master's advert lateness, xvrrpd's built-in checks against
#             keepalived's vrrp_scripts (curl, bash /dev/tcp, ping)
#   restart   the master's daemon upgraded (xvrrpctl upgrade), killed and started, stopped and
#             started, at a random phase: client ping loss and gap, advert gap, xvrrpd and keepalived
#   upgrade   the master's daemon upgraded K times with N instances (1, 100, 1000): how long nobody
#             advertised, the gateway's advert gap, instances moved on either router, r2's adverts
#   metrics   Prometheus scrape time with N instances (1000), and a 10 ms master's advert
#             lateness while scraped 10 times a second, beside quiet windows in random order
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ]; then
  echo "usage: bench/run.sh xdp|failover|scale|flood|startup|mass|checks|metrics|restart|upgrade [--json] [options]  (bench/run.sh SUBCOMMAND --help)" >&2
  exit 2
fi
bash scripts/build.sh >&2
exec "${XVRRP_BUILD_DIR:-build}/bench/xvrrp_bench" "$@"
