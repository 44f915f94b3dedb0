#!/usr/bin/env bash
# One command for someone with a GPU: installs what is missing, builds,
# runs the test suite on the GPU, tunes the main kernel families there,
# runs the benchmarks (bench/compare, PyTorch beside them where it is
# importable), and prints one summary to paste into an issue.
#
#   bash scripts/gpu_check.sh            # on the first GPU (tens of minutes)
#   bash scripts/gpu_check.sh --quick    # a short pass: the device tests, quick
#                                        # tunes and benchmarks (minutes)
#   EMBCL_DEVICE=1:0 bash scripts/gpu_check.sh    # another device (embcl devices numbers them)
#   EMBCL_DEVICE=cpu bash scripts/gpu_check.sh --quick   # the same on PoCL, to try the script
#
# Options: --quick; --no-install (skip scripts/install-deps.sh); --no-tests;
# --out DIR (logs; default gpu-check-<date>). EMBCL_BUILD_DIR: the build
# directory (default build). Exits 1 if there is no such device or a test
# failed, after the summary.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0 install=1 tests=1 out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --no-install) install=0 ;;
    --no-tests) tests=0 ;;
    --out) out="$2"; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu_check: unknown option '$1' (--quick, --no-install, --no-tests, --out DIR)" >&2; exit 2 ;;
  esac
  shift
done

device=${EMBCL_DEVICE:-gpu}
build=${EMBCL_BUILD_DIR:-build}
out=${out:-gpu-check-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
export EMBCL_DEVICE=$device
# the tests pick their device from EMBCL_TEST_DEVICE (tests/support); a
# few pin PoCL on purpose (multi-device, device selection) and stay there
export EMBCL_TEST_DEVICE=$device

step() { echo "== gpu_check: [${SECONDS}s] $*"; }

if [ $install = 1 ]; then
  step "installing what is missing (scripts/install-deps.sh)"
  scripts/install-deps.sh
fi

step "building in $build"
cmake -S . -B "$build" -DEMBCL_WERROR=ON > "$out/cmake.log"
cmake --build "$build" -j"$(nproc)" > "$out/build.log" 2>&1 || { tail -30 "$out/build.log"; echo "gpu_check: build failed (log: $out/build.log)" >&2; exit 1; }
tool=$build/embcl

step "device '$device'"
EMBCL_DEVICE= "$tool" devices > "$out/devices.txt" 2>&1 || true
if ! "$tool" devices --json > "$out/devices.json" 2> "$out/devices.err"; then
  {
    echo "gpu_check: no device matches EMBCL_DEVICE='$device'. The OpenCL devices here (embcl devices):"
    sed 's/^/  /' "$out/devices.txt"
    echo "Install the GPU's OpenCL driver (an ICD under /etc/OpenCL/vendors), or pick a device: EMBCL_DEVICE=P:D."
  } >&2
  exit 1
fi
# the first selected device's fields, from the JSON embcl devices printed
dev_field() {
  python3 - "$out/devices.json" "$1" <<'EOF'
import json, sys
d = [x for x in json.load(open(sys.argv[1]))["devices"] if x["selected"]]
print(d[0][sys.argv[2]] if d else "")
EOF
}
name=$(dev_field name) vendor=$(dev_field vendor) driver=$(dev_field driver_version) type=$(dev_field type)
platform=$(dev_field platform)
echo "   $name ($vendor, $type), driver $driver, platform $platform"
if [ "$device" = gpu ] && [ "$type" != GPU ]; then
  echo "gpu_check: EMBCL_DEVICE=gpu selected a $type: this machine has no OpenCL GPU (see $out/devices.txt)" >&2
  exit 1
fi

tests_line="not run" test_rc=0
if [ $tests = 1 ]; then
  labels=()
  if [ $quick = 1 ]; then
    # the device tests and the device listing: embcl tune and bench below
    # run the rest of the tool (the cli tests' own sweeps take minutes on PoCL)
    labels=(-R '^(device\.test_|cli\.test_devices_cmd$)')
  fi
  step "tests on '$device' (ctest ${labels[*]:-everything}; log $out/ctest.log)"
  ctest --test-dir "$build" -j"$(nproc)" --output-on-failure "${labels[@]}" > "$out/ctest.log" 2>&1 || test_rc=$?
  tests_line=$(grep -E 'tests passed|No tests were found' "$out/ctest.log" | tail -1 || true)
  [ -n "$tests_line" ] || tests_line="ctest failed to run (exit $test_rc; see $out/ctest.log)"
  echo "   $tests_line"
fi

if [ $quick = 1 ]; then
  families=(bag_fwd optim_row)
  tune_opt=(--quick)
else
  families=(bag_fwd bag_bwd sort optim_row optim)
  tune_opt=()
fi
: > "$out/tune.txt"
for f in "${families[@]}"; do
  step "embcl tune $f ${tune_opt[*]:-}"
  if "$tool" tune "$f" "${tune_opt[@]}" > "$out/tune-$f.log" 2>&1; then
    grep -E '^(# |    \{|EMBCL_TUNE=)' "$out/tune-$f.log" >> "$out/tune.txt" || true
    grep -E '^# ' "$out/tune-$f.log" | head -1 | sed 's/^# /   /'
  else
    echo "# $f: embcl tune failed: $(tail -1 "$out/tune-$f.log")" >> "$out/tune.txt"
    echo "   failed: $(tail -1 "$out/tune-$f.log")"
  fi
done

step "benchmarks (embcl bench${tune_opt[*]:+ --quick}, bench/compare${tune_opt[*]:+ --quick})"
"$tool" bench ${tune_opt[@]:+--quick} > "$out/bench.jsonl" 2> "$out/bench.err" || echo "   embcl bench failed: $(tail -1 "$out/bench.err")"
compare_args=()
if [ $quick = 1 ]; then
  compare_args=(--quick --filter bag)   # the embedding benches: the rest takes minutes on a CPU
fi
python3 bench/compare --build "$build" "${compare_args[@]}" > "$out/compare.jsonl" 2> "$out/compare.err" ||
  echo "   bench/compare failed: $(tail -1 "$out/compare.err")"

summary=$out/summary.txt
python3 - "$out" "$name" "$vendor" "$type" "$driver" "$platform" "$tests_line" "$device" > "$summary" <<'EOF'
import json, os, sys
out, name, vendor, typ, driver, platform, tests, sel = sys.argv[1:9]
def rows(path):
    r = []
    if os.path.exists(path):
        for line in open(path):
            line = line.strip()
            if line.startswith("{"):
                try:
                    r.append(json.loads(line))
                except ValueError:
                    pass
    return r
print("embcl gpu_check summary")
print(f"device:   {name} ({vendor}, {typ}) selected by EMBCL_DEVICE={sel}")
print(f"driver:   {driver}; platform {platform}")
print(f"tests:    {tests}")
bench = rows(os.path.join(out, "bench.jsonl"))
if bench:
    print("embcl bench:")
    for r in bench:
        extra = f", {r['gbps']:.1f} GB/s" if r.get("gbps") else ""
        extra += f", {r['tokens_per_s']:.0f} tokens/s" if r.get("tokens_per_s") else ""
        print(f"  {r['bench']:<12} {r['embcl_ms']:9.4f} ms{extra}")
cmp = rows(os.path.join(out, "compare.jsonl"))
if cmp:
    print("bench/compare (ratio = torch_ms / embcl_ms; above 1: embcl faster):")
    for r in cmp:
        ratio = "-" if r.get("ratio") is None else f"{r['ratio']:.2f}"
        print(f"  {r['bench'] + ' ' + r['case']:<60} embcl {r['embcl_ms']:9.3f} ms  ratio {ratio}")
else:
    print("bench/compare: no rows (see compare.err)")
print("tuning rows (paste into src/device/tuning/<family>.c; see README 'Tuning'):")
tune = os.path.join(out, "tune.txt")
for line in open(tune) if os.path.exists(tune) else []:
    print("  " + line.rstrip())
print(f"logs:     {out}")
EOF
echo "total:    ${SECONDS}s" >> "$summary"
echo
cat "$summary"
if [ "$test_rc" != 0 ]; then
  echo "gpu_check: tests failed (see $out/ctest.log)" >&2
  exit 1
fi
