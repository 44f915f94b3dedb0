#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and fuzzes each for
# SECONDS (default 600) on one core, growing its corpus under
# build-fuzz/corpus/<target>/ from the seeds in fuzz/corpus/<target>/.
# Crashes land in build-fuzz/crashes/<target>/; copy each into
# tests/data/fuzz/<target>/ so the regression tests replay it forever.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
shift || true
CC=clang cmake -S . -B build-fuzz -DEMBCL_FUZZ=ON -DEMBCL_BUILD_TESTS=OFF -DEMBCL_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in build-fuzz/fuzz/fuzz_*; do targets+=("$(basename "$f" | sed 's/^fuzz_//')"); done
fi
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/crashes/$t"
  echo "== fuzz_$t for ${secs}s"
  LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp \
    "build-fuzz/fuzz/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix="build-fuzz/crashes/$t/" "build-fuzz/corpus/$t" "fuzz/corpus/$t" 2>&1 | tail -n 12
done
