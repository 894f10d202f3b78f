#!/usr/bin/env bash
# Installs every Debian package Fulcrum needs to build, run its demo and run its tests.
# Idempotent: packages already present are not touched, and apt-get runs only when
# something is missing. Usage: scripts/deps.sh [extra-package ...]
set -euo pipefail

packages=(
  build-essential g++ cmake ninja-build pkg-config
  clang-format                        # scripts/check-format (run by scripts/test)
  clang-14 llvm-14 libbpf-dev bpftool # the XDP program (src/xdp/) and its libbpf skeleton
  iproute2 ethtool python3            # netns tests (ip netns, veth, checksum offload off)
  libfmt-dev libgtest-dev libgmock-dev
  libre2-dev                          # tcp-check rstring/rbinary (linear-time regexes)
  libsystemd-dev                      # sd_notify (Type=notify unit)
  netcat-openbsd curl procps
  haproxy nginx libnginx-mod-stream   # interop tests (PROXY protocol with real peers)
  redis-server                        # health tests (tcp-check against a real protocol)
  nlohmann-json3-dev libcli11-dev     # runtime API JSON output, fulcrumctl options
  socat                               # runtime API tests (as operators use it)
  nsd bind9-dnsutils                  # UDP tests: a real DNS server queried with dig
  unbound                             # UDP tests: a real PROXY v2 datagram receiver
  prometheus                          # promtool: metrics format check
  chromium                            # stats page test (headless)
  hatop tmux                          # hatop against the runtime API (show info, show stat)
  prometheus-haproxy-exporter         # the exporter scraping the runtime API
  libclang-rt-14-dev                  # fuzz and tsan presets (libFuzzer, sanitizer runtimes)
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Packages with services (haproxy, nginx) must not start them on install: tests run
# their own instances on loopback ports. policy-rc.d says "no" for the install's duration.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod +x "$policy"
  added_policy=1
fi
cleanup() { if [ "$added_policy" = 1 ]; then $SUDO rm -f "$policy"; fi; }
trap cleanup EXIT
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
