#!/usr/bin/env bash
# The one entry point for every benchmark: bench/run.sh SUBCOMMAND [--json] [options]
#   xdp   ns per packet of each XDP path beside the empty program, and the ARP
#         answer rate of XDP against the kernel's own ARP on one veth pair
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ]; then
  echo "usage: bench/run.sh xdp [--json] [--repeat N] [--rounds N] [--arp-requests N]" >&2
  exit 2
fi
bash scripts/build.sh >&2
exec "${XVRRP_BUILD_DIR:-build}/bench/xvrrp_bench" "$@"
