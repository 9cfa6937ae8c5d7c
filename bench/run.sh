#!/usr/bin/env bash
# The one entry point for every benchmark: bench/run.sh SUBCOMMAND [--json] [options]
#   xdp       ns per packet of each XDP path beside the empty program, and the ARP
#             answer rate of XDP against the kernel's own ARP on one veth pair
#   failover  longest client ping gap when the master's link is cut, xvrrpd and
#             keepalived at 1 s, 100 ms and 10 ms adverts
#   scale     controller CPU with N instances at 10 ms adverts, xvrrpd and keepalived
#   flood     lateness of one segment's adverts while another segment is flooded
#   startup   start-up and reload time with N instances (1000 and 4000)
#   mass      mass failover: when the last of N VIPs (1, 100, 1000) answers from the
#             backup after the master's links are cut, xvrrpd and keepalived
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ]; then
  echo "usage: bench/run.sh xdp|failover|scale|flood|startup|mass [--json] [options]  (bench/run.sh SUBCOMMAND --help)" >&2
  exit 2
fi
bash scripts/build.sh >&2
exec "${XVRRP_BUILD_DIR:-build}/bench/xvrrp_bench" "$@"
