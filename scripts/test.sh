#!/usr/bin/env bash
# Installs what is missing, builds cw with AddressSanitizer and UBSan, and
# runs the whole test suite. Usage: scripts/test.sh [extra ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build=${CW_TEST_BUILD_DIR:-build-asan}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCW_SANITIZERS=address,undefined >/dev/null
cmake --build "$build" -j"${CW_JOBS:-2}"
cd "$build"
ctest --output-on-failure --no-tests=error -j2 "$@"
