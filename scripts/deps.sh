#!/usr/bin/env bash
# Installs every Debian package Fulcrum needs to build, run its demo and run its tests.
# Idempotent: packages already present are not touched, and apt-get runs only when
# something is missing. Usage: scripts/deps.sh [extra-package ...]
set -euo pipefail

packages=(
  build-essential g++ cmake ninja-build pkg-config
  libfmt-dev libgtest-dev libgmock-dev
  netcat-openbsd curl procps
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
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
