#!/usr/bin/env bash
# Installs the Debian 12 packages xvrrp needs to build, test and benchmark.
# Idempotent and quiet: it only calls apt-get when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  clang llvm                      # BPF target compiler (clang -target bpf)
  libbpf-dev bpftool libelf-dev zlib1g-dev
  libnl-3-dev libnl-route-3-dev
  libspdlog-dev libfmt-dev nlohmann-json3-dev libcli11-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev
  libssl-dev openssl              # https checks and http digests (OpenSSL); the labs' test certificates
  iproute2 iputils-ping tcpdump python3 python3-scapy
  keepalived                      # interop peer and benchmark baseline
  curl                            # keepalived's HTTP check script in bench/run.sh checks
  xdp-tools                       # xdp-loader, for manual inspection
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# promtool (checks the metrics endpoint's exposition in the labs) from Debian's prometheus
# package, unpacked into the project's .tools/ rather than installed: installing it would start a
# Prometheus server on the host where systemd runs.
tools_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.tools"
if [[ ! -x "$tools_dir/promtool" ]]; then
  echo "install-deps: unpacking promtool from Debian's prometheus package into $tools_dir"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  export DEBIAN_FRONTEND=noninteractive
  (cd "$work" && chmod 0777 "$work" && { apt-get download prometheus >/dev/null 2>&1 ||
     { apt-get update -qq && apt-get download prometheus >/dev/null; }; })
  dpkg-deb -x "$work"/prometheus_*.deb "$work/root"
  mkdir -p "$tools_dir"
  install -m 0755 "$work/root/usr/bin/promtool" "$tools_dir/promtool"
fi

# keepalived's package may start a host-wide service where systemd runs. It is the
# host's and stays as it is: the labs run their own keepalived inside their
# namespaces, with their own pid files, and never meet it.

# bpffs for pinned maps (absent on some minimal machines).
if ! mountpoint -q /sys/fs/bpf 2>/dev/null; then
  mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
fi
