#!/usr/bin/env bash
# The README's demo command: installs, builds and runs the dataplane demo lab.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
exec "${XVRRP_BUILD_DIR:-build}/tools/xvrrp-demo"
