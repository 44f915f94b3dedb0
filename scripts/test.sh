#!/usr/bin/env bash
# Installs what is missing, builds embcl with warnings as errors, and runs
# every test. Extra arguments go to ctest (e.g. -L embedding).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=${EMBCL_BUILD_DIR:-build}
cmake -S . -B "$build" -DEMBCL_WERROR=ON ${EMBCL_CMAKE_ARGS:-}
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@"
