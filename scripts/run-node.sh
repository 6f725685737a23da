#!/usr/bin/env bash
# Installs what is missing, builds cw (release) and starts cw-node on its
# embedded defaults. Extra arguments go to cw-node.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"${CW_JOBS:-2}"
exec build/apps/cw-node/cw-node "$@"
