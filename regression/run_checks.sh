#!/usr/bin/env bash
# make check: unit tests on 1, 2 and 3 ranks, the end-to-end scripts, and the fast
# regression suites; one closing line "N passed, N failed" over all of them.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
# Under the sanitizers (make check SAN=1) the unit tests run; the end-to-end
# scripts drive the optimised binary and add nothing there.
if [ "${SAN:-0}" = 1 ]; then ONLY=${ONLY:-unit}; else ONLY=${ONLY:-all}; fi
export LOLA=$PWD/$BUILD/lola
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
if [ "${SAN:-0}" = 1 ]; then export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1; fi
MPIRUN=${MPIRUN:-mpirun}

passed=0 failed=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

# Run one test command; its last "N passed, N failed" line is added to the totals.
tally() {
  local name=$1
  shift
  echo "== $name"
  "$@" 2>&1 | tee "$log/out"
  count "$name" "${PIPESTATUS[0]}" "$log/out"
}

# count NAME RC OUTPUT: add a finished command's results to the totals.
count() {
  local name=$1 rc=$2 line
  line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$3" | tail -n 1)
  if [ -n "$line" ]; then
    local p f
    p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+')
    f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then failed=$((failed + 1)); echo "   ($name exited with $rc)"; fi
  else
    if [ "$rc" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "   ($name exited with $rc)"; fi
  fi
}

# The CUDA backend on the CPU emulator (regression/gpu/emu; make check builds
# it into EMU_BUILD where the CUDA toolkit's headers are): its self-test and
# the GPU check's parity programs, threads in order and, for the kernel
# families, again in reverse order (LOLA_EMU_ORDER), so that a missing barrier
# shows whichever thread reads first. The two longest run in the background,
# beside the others on the second core. The e2e scripts find its lola in LOLA_EMU.
emulated_gpu_checks() {
  local g=$EMU_BUILD/gpu
  echo "== GPU emulator: check_step --quick, check_attention_tc --quick in reverse order (in the background)"
  (
    "$g/check_step" --quick >"$log/step" 2>&1
    echo $? >"$log/step.rc"
    LOLA_EMU_ORDER=reverse "$g/check_attention_tc" --quick >"$log/tc_reverse" 2>&1
    echo $? >"$log/tc_reverse.rc"
  ) &
  local background=$!
  tally "GPU emulator: self-test" "$g/emu_selftest"
  tally "GPU emulator: self-test, reverse order" env LOLA_EMU_ORDER=reverse "$g/emu_selftest"
  tally "GPU emulator: check_kernels" "$g/check_kernels"
  tally "GPU emulator: check_kernels, reverse order" env LOLA_EMU_ORDER=reverse "$g/check_kernels"
  tally "GPU emulator: check_kernels_conv" "$g/check_kernels_conv"
  tally "GPU emulator: check_kernels_conv, reverse order" env LOLA_EMU_ORDER=reverse "$g/check_kernels_conv"
  tally "GPU emulator: check_kernels_sampler" "$g/check_kernels_sampler"
  tally "GPU emulator: check_attention_tc --quick" "$g/check_attention_tc" --quick
  wait $background
  local part
  for part in "step:check_step --quick" "tc_reverse:check_attention_tc --quick, reverse order"; do
    echo "== GPU emulator: ${part#*:}"
    cat "$log/${part%%:*}"
    count "GPU emulator: ${part#*:}" "$(cat "$log/${part%%:*}.rc" 2>/dev/null || echo 1)" "$log/${part%%:*}"
  done
}

tally "unit, 1 rank" "$BUILD/unit"
tally "unit, 2 ranks" $MPIRUN -np 2 "$BUILD/unit"
tally "unit, 3 ranks" $MPIRUN -np 3 "$BUILD/unit"
if [ "$ONLY" = all ]; then
  if [ -n "${EMU_BUILD:-}" ]; then
    export LOLA_EMU=$PWD/$EMU_BUILD/lola
    emulated_gpu_checks
  else
    echo "== GPU emulator: not built (it needs the CUDA toolkit's headers and x86-64); its checks are left out"
  fi
  for t in regression/e2e/test_*.sh; do
    [ -e "$t" ] && tally "$(basename "$t" .sh)" bash "$t"
  done
  tally "kernel dispatch layer up to date" python3 kernels/gen_dispatch.py --check
  tally "regression framework self-test" bash regression/suites/selftest.sh
  tally "regression suites (fast)" env FAST=1 BUILD="$BUILD" bash regression/suites/run.sh
  tally "jobs: pipeline dry run" bash regression/slurm/test_dry_run.sh
  tally "jobs: local Slurm pipeline" bash regression/slurm/test_pipeline.sh
fi
echo
echo "check: $passed passed, $failed failed"
[ "$failed" = 0 ]
