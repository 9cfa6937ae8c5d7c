#!/usr/bin/env bash
# Installs what is missing and builds everything (BPF objects, skeletons,
# library, tests, benchmarks, tools) into build/ (or $XVRRP_BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build_dir=${XVRRP_BUILD_DIR:-build}
# Warnings fail the build in CI only (CI=true); a user's newer compiler must not stop them.
werror=OFF
[ "${CI:-}" = true ] && werror=ON
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="${XVRRP_BUILD_TYPE:-RelWithDebInfo}" -DXVRRP_WERROR="$werror" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
