#!/usr/bin/env bash
# Installs what is missing, builds embcl with warnings as errors, and runs
# every test. Then (CI) a second build with AddressSanitizer + UBSan runs
# the fast part of the suite: the core, io and optim labels and the fault
# injection tests of reliability (measured from a clean build directory on
# 2 cores: build 2.8 min, tests 2.4 min; about twice that when the cores are
# shared with other builds). Extra arguments go to ctest (e.g. -L embedding) and skip the
# sanitizer pass, as do EMBCL_SANITIZE_PASS=0 and a build that is itself
# sanitized (EMBCL_CMAKE_ARGS=-DEMBCL_SANITIZE=ON, the README's full run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=${EMBCL_BUILD_DIR:-build}
cmake -S . -B "$build" -DEMBCL_WERROR=ON ${EMBCL_CMAKE_ARGS:-}
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@"

if [ $# -gt 0 ] || [ "${EMBCL_SANITIZE_PASS:-1}" = 0 ] || [[ "${EMBCL_CMAKE_ARGS:-}" == *SANITIZE* ]]; then
  exit 0
fi
asan=${EMBCL_ASAN_BUILD_DIR:-build-asan}
fast='^(core|io|optim)\.test_|^reliability\.test_(fault_foundation|fault_graph_step)$'
echo "== sanitizer pass (ASan + UBSan) over: $fast"
cmake -S . -B "$asan" -DEMBCL_WERROR=ON -DEMBCL_SANITIZE=ON -DEMBCL_BUILD_BENCH=OFF >/dev/null
# only the library and the fast tests' executables (ctest names area.test_x
# the target area_test_x)
mapfile -t targets < <(ctest --test-dir "$asan" -N -R "$fast" | sed -n 's/^ *Test *#[0-9]*: \([a-z]*\)\.\(test_[a-z0-9_]*\)$/\1_\2/p')
cmake --build "$asan" -j"$(nproc)" --target "${targets[@]}"
ctest --test-dir "$asan" --output-on-failure -j"$(nproc)" -R "$fast"
