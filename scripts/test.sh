#!/usr/bin/env bash
# The README's test command: installs, builds and runs the whole suite with
# ctest. Privileged tests (XDP, namespaces) need root and skip without it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
build_dir=${XVRRP_BUILD_DIR:-build}
# Namespaces a killed earlier run may have left (tests use the xvt-/xvb- prefixes).
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^xv[tbd]-' || true); do
  ip netns del "$ns" 2>/dev/null || true
done
cd "$build_dir"
ctest --output-on-failure --timeout 300 "$@"
