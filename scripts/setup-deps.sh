#!/usr/bin/env bash
# Installs every build, test and benchmark dependency of vswitch from Debian's packages.
# Idempotent: packages already present are skipped, so a second run costs one dpkg query.
set -euo pipefail

packages=(
  build-essential cmake pkg-config linux-perf
  libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev libsodium-dev libssl-dev wireguard-tools
  libbpf-dev libxdp-dev xdp-tools clang llvm bpftool linux-libc-dev
  iproute2 ethtool iputils-ping iputils-arping iperf3 tcpdump tshark nftables jq procps psmisc curl prometheus frr
  scdoc man-db groff-base systemd lintian vagrant python3-matplotlib
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
  [[ $(id -u) -eq 0 ]] || { echo "setup-deps: run as root to install: ${missing[*]}" >&2; exit 1; }
  echo "setup-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Packages with daemons of their own (prometheus, frr) must not start them: the tests run
  # their own instances in namespaces. policy-rc.d answers "not now" to invoke-rc.d while we install.
  policy=/usr/sbin/policy-rc.d
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup-deps: all dependencies present"
