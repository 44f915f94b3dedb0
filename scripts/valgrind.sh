#!/usr/bin/env bash
# Runs test executables under valgrind memcheck: any memory error, or a
# definite/indirect leak, not matched by tests/valgrind.supp (PoCL, LLVM,
# glibc, hwloc, the ICD loader; each entry says why) fails. Criterion's test
# workers are followed (--trace-children), the compilers PoCL runs are not.
# Valgrind runs PoCL's kernels on one thread, ~50-100x slower, so the
# default set is the fast part of the suite: the host-only io and core
# tests, core_test_tensor (every tensor op on PoCL), the optimizer's bad
# input and the OpenCL fault injection of the foundation (31 minutes on 2
# cores shared with other work, optim_test_errors 16 of them). Name executables (e.g. embedding_test_errors) to run
# others; "all" runs every one (hours). mpi_test_* programs run on 2 ranks
# under mpiexec, each rank under valgrind with Open MPI's own suppressions
# too (its log: <test>.<pid>.log), components kept loaded so that the
# suppressions can name the frames of what they keep until exit.
#   scripts/valgrind.sh [TEST...]      (EMBCL_BUILD_DIR: default build)
set -uo pipefail
cd "$(dirname "$0")/.."
build=${EMBCL_BUILD_DIR:-build}
if [ ! -d "$build/tests" ]; then
  cmake -S . -B "$build" -DEMBCL_WERROR=ON >/dev/null && cmake --build "$build" -j2 >/dev/null || exit 1
fi
tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
  tests=(core_test_status core_test_ref_reader
         io_test_json io_test_vocab io_test_corpus io_test_pretrained io_test_safetensors io_test_fuzz_replay io_test_stale_temps
         core_test_tensor optim_test_errors reliability_test_fault_foundation)
elif [ "${tests[0]}" = all ]; then
  tests=()
  for f in "$build"/tests/*_test_* "$build"/tests/mpi/mpi_test_*; do [ -x "$f" ] && tests+=("$(basename "$f")"); done
fi
mkdir -p "$build/valgrind"
# the kernel caches ctest fills, so kernels are not compiled under valgrind
export POCL_CACHE_DIR=$PWD/$build/test-cache/pocl EMBCL_CACHE_DIR=$PWD/$build/test-cache/embcl
export XDG_CACHE_HOME=$PWD/$build/test-cache/xdg
failed=0
for t in "${tests[@]}"; do
  log="$build/valgrind/$t.log"
  start=$(date +%s)
  # --vex-guest-max-insns: PoCL's fully unrolled kernels made a superblock
  # too big for VEX's scratch ("VEX temporary storage exhausted", valgrind
  # itself aborting in lstm_test_ops_ref's dropout kernel)
  vg=(valgrind --tool=memcheck --vex-guest-max-insns=25 --leak-check=full --show-leak-kinds=definite,indirect
      --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --num-callers=40
      --trace-children=yes --trace-children-skip='*/ld,*/ld.*,*lld*,*clang*,*/sh,*/bash'
      --suppressions=tests/valgrind.supp --gen-suppressions=all)
  case $t in
  mpi_test_*)
    rm -f "$build/valgrind/$t".*.log
    mpiexec -n 2 --allow-run-as-root --oversubscribe -x OMPI_MCA_btl_vader_single_copy_mechanism=none \
      -x OMPI_MCA_mca_base_component_disable_dlclose=1 \
      "${vg[@]}" --suppressions=/usr/share/openmpi/openmpi-valgrind.supp --log-file="$build/valgrind/$t.%p.log" \
      "$build/tests/mpi/$t" >"$log" 2>&1
    rc=$?
    cat "$build/valgrind/$t".*.log >>"$log" ;;
  *)
    # each killed child starts under valgrind: 4 kills, not 50
    EMBCL_TEST_KILLS=4 "${vg[@]}" "$build/tests/$t" >"$log" 2>&1
    rc=$? ;;
  esac
  errs=$(grep -h "ERROR SUMMARY" "$log" | awk '{ s += $4 } END { print s + 0 }')
  lost=$(grep -h "definitely lost:" "$log" | awk '{ gsub(",", "", $4); s += $4 } END { print s + 0 }')
  verdict=ok
  if [ $rc -ne 0 ] || [ "$errs" -ne 0 ]; then verdict=FAIL; failed=1; fi
  printf '%-40s %-4s %5ss  errors %s, definitely lost %s bytes (unsuppressed)  %s\n' "$t" "$verdict" \
    $(( $(date +%s) - start )) "$errs" "$lost" "$log"
done
exit $failed
