#!/usr/bin/env bash
# Installs what is missing, builds embcl with warnings as errors, and runs
# every test. Then (CI) a second build with AddressSanitizer + UBSan runs
# the fast part of the suite: the core, io and optim labels and the fault
# injection tests of reliability (measured from a clean build directory on
# 2 cores: build 2.8 min, tests 2.4 min; about twice that when the cores are
# shared with other builds). Extra arguments go to ctest (e.g. -L embedding) and skip the
# sanitizer pass, as do EMBCL_SANITIZE_PASS=0 and a build that is itself
# sanitized (EMBCL_CMAKE_ARGS=-DEMBCL_SANITIZE=ON, the README's full run).
#
# Between the two, the GPU-class pass: the device, embedding, optim, lstm,
# graph and cli labels again with EMBCL_DEVICE_CLASS=gpu, in the same build
# directory (nothing rebuilt), so PoCL takes every GPU code path (GPU base
# defines and tuning rows, launch shapes, placement, CLBlast, the atomic
# scatter `embcl train` picks): CI has no GPU, and those paths ran nowhere
# else. With them the graph and trainer step fault tests (34 s), which fail
# OpenCL calls CLBlast makes there. Measured (`time`, kernel caches cold: the CPU class's binaries do
# not serve it) on 2 cores shared with several other builds, load ~16:
# 10.9 min (ctest 10.4), 4.5 min of CPU time; 8.2 min in an earlier run.
# The longest: cli.test_train_builtin 4.5 min, cli.test_bench_cmd 3.1,
# lstm.test_gemm 2.5 (CLBlast's kernels, built in each process; 17 s on
# the CPU class's own GEMM).
# Extra arguments skip it too; EMBCL_GPU_CLASS_PASS=0 skips it,
# EMBCL_GPU_CLASS_PASS=1 runs it even with extra arguments (over the same
# labels, the arguments going to the main run only).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=${EMBCL_BUILD_DIR:-build}
cmake -S . -B "$build" -DEMBCL_WERROR=ON ${EMBCL_CMAKE_ARGS:-}
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@"

gpu_pass=${EMBCL_GPU_CLASS_PASS:-}
if [ -z "$gpu_pass" ]; then
  gpu_pass=$([ $# -eq 0 ] && echo 1 || echo 0)
elif [ "$gpu_pass" != 0 ] && [ "$gpu_pass" != 1 ]; then
  echo "scripts/test.sh: EMBCL_GPU_CLASS_PASS is '$gpu_pass', not 0 or 1" >&2
  exit 2
fi
if [ "$gpu_pass" = 1 ]; then
  # by name (area.test_x, the area being the label), as the sanitizer pass
  # picks its tests
  gpu_tests='^(device|embedding|optim|lstm|graph|cli)\.|^reliability\.test_fault_(graph|trainer)_step$'
  echo "== GPU-class pass (EMBCL_DEVICE_CLASS=gpu) over: $gpu_tests"
  EMBCL_DEVICE_CLASS=gpu ctest --test-dir "$build" --output-on-failure -j"$(nproc)" -R "$gpu_tests"
fi

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
