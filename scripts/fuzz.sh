#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and fuzzes each for
# SECONDS (default 600) on one core, growing its corpus under
# build-fuzz/corpus/<target>/ from the seeds in fuzz/corpus/<target>/.
# Crashes land in build-fuzz/crashes/<target>/; copy each into
# tests/data/fuzz/<target>/ so the regression tests replay it forever.
# Targets: corpus, device_select, json, offsets (EmbeddingBag indices and
# offsets on the OpenCL device: needs PoCL), pretrained, safetensors, vocab.
# Each run appends "target seconds runs" to build-fuzz/fuzz-hours.log, so
# the time fuzzed adds up across runs (scripts/fuzz.sh hours prints it).
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   |   scripts/fuzz.sh hours
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = hours ]; then
  awk '{ s[$1] += $2 } END { for (t in s) printf "%-14s %7.2f h\n", t, s[t] / 3600 }' build-fuzz/fuzz-hours.log | sort
  exit 0
fi
secs=${1:-600}
shift || true
CC=clang cmake -S . -B build-fuzz -DEMBCL_FUZZ=ON -DEMBCL_BUILD_TESTS=OFF -DEMBCL_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in build-fuzz/fuzz/fuzz_*; do targets+=("$(basename "$f" | sed 's/^fuzz_//')"); done
fi
status=0
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/crashes/$t"
  echo "== fuzz_$t for ${secs}s"
  start=$(date +%s)
  LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp \
    "build-fuzz/fuzz/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix="build-fuzz/crashes/$t/" "build-fuzz/corpus/$t" "fuzz/corpus/$t" 2>&1 | tee "build-fuzz/last-$t.log" | tail -n 12 ||
    { echo "fuzz_$t STOPPED: a crash, input in build-fuzz/crashes/$t/"; status=1; }
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "build-fuzz/last-$t.log" | tail -n 1)
  echo "$t $(( $(date +%s) - start )) ${runs:-0}" >> build-fuzz/fuzz-hours.log
done
exit $status
