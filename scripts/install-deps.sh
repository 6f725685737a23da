#!/usr/bin/env bash
# Installs the Debian 12 packages cw needs to build, test and run.
# Idempotent and quiet when everything is already installed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libcaf-dev
  libsqlite3-dev libsqlitecpp-dev sqlite3
  nlohmann-json3-dev
  libboost1.81-dev libboost-filesystem1.81-dev
  libspdlog-dev libfmt-dev
  libcli11-dev
  libtomlplusplus-dev
  libsimdjson-dev
  libssl-dev
  libjemalloc-dev
  curl python3
  tzdata
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
else
  sudo=
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
