#!/usr/bin/env bash
# Installs what is missing, builds cw with AddressSanitizer and UBSan, and
# runs the whole test suite. Usage: scripts/test.sh [extra ctest args]
# CW_SANITIZERS=thread runs it under ThreadSanitizer instead (in build-tsan).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
sanitizers=${CW_SANITIZERS:-address,undefined}
default_build=build-asan
[[ $sanitizers == thread ]] && default_build=build-tsan
build=${CW_TEST_BUILD_DIR:-$default_build}
# ccache hits across checkouts: paths under this tree are hashed relative to
# it and the build directory is not hashed, so a clean clone (CI) reuses
# what another checkout of the same sources compiled. Defines that carry
# absolute paths (fixture and binary locations) still differ per checkout.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCW_SANITIZERS="$sanitizers" >/dev/null
cmake --build "$build" -j"${CW_JOBS:-2}"
cd "$build"
ctest --output-on-failure --no-tests=error -j2 "$@"
