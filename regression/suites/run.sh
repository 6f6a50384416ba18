#!/usr/bin/env bash
# Batch regression suites: run each suite's deck on 1 and on several ranks, measure its
# figures, compare them with the suite's reference within the stated tolerances, print one
# table, and exit non-zero on any failure. See regression/suites/README.md.
#
#   bash regression/suites/run.sh [SUITE ...]      (make regression)
# Environment:
#   BUILD=build        where the binary is (LOLA=path overrides it)
#   UPDATE=1           rewrite each suite's reference from its first rank count, show the diff,
#                      then check every rank count against the new reference
#   FAST=1             only the suites whose suite.conf says FAST=1 (make check runs these)
#   RANKS="1 3"        override every suite's rank counts
#   MPIRUN=mpirun      the launcher; it is given MPIRUN_NP (default -np) and the rank count
#                      (on a Slurm allocation: MPIRUN=srun MPIRUN_NP=-n)
#   SUITES_DIR=dir     where the suites are (default: this folder); the framework's self-test uses it
#   KEEP=1             keep the run folders (they are always kept when something failed)
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
suites_dir="${SUITES_DIR:-$here}"
lola="${LOLA:-$root/${BUILD:-build}/lola}"
ranks_override="${RANKS:-}"
mpirun_cmd="${MPIRUN:-mpirun} ${MPIRUN_NP:--np}"
python="$(command -v /usr/bin/python3 || command -v python3)" || {
  echo "regression: python3 is needed to compare figures" >&2
  exit 1
}
compare="$python $here/lib/compare.py"
export FIGURES="$python $here/lib/figures.py"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Open MPI: more ranks than cores is fine here, and unbound ranks share the cores fairly.
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_hwloc_base_binding_policy=none
# One thread per rank unless asked: suites measure results, not speed, and CI has 2 cores.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

if [ ! -x "$lola" ]; then
  echo "regression: no binary at $lola (build it with make, or set LOLA=...)" >&2
  exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/lola-regression.XXXXXX")"
rows="$work/rows.tsv"
: >"$rows"
failed_suites=()

# The stages this binary has: the first word of each line under "stages:" in `lola --help`.
known_stages=" $("$lola" --help 2>/dev/null | awk '/^stages:/ { on = 1; next } on && NF == 0 { exit } on { print $1 }' | tr '\n' ' ') "
has_stage() { [[ "$known_stages" == *" $1 "* ]]; }

# Run the binary on N ranks; suites' own suite_run functions call it too.
lola_run() {
  local n="$1"
  shift
  # shellcheck disable=SC2086  # the launcher is a command line by design
  timeout --kill-after=10 "$TIMEOUT" $mpirun_cmd "$n" "$lola" "$@"
}

# The default way to run a suite: its deck, into its run folder, with its overrides.
default_run() {
  local ranks="$1" run_dir="$2"
  lola_run "$ranks" "$SUITE_DIR/deck.cfg" "run.dir=$run_dir" "${SUITE_OVERRIDES[@]}"
}

add_row() { printf '%s\n' "$(IFS=$'\t'; echo "$*")" >>"$rows"; }

run_suite() {
  local suite="$1" dir="$suites_dir/$1"
  # Suite settings (see README.md), with their defaults; suite.conf may define suite_run().
  SUITE_RANKS="1 2" SUITE_FAST=0 SUITE_NEEDS="" SUITE_TIMEOUT=300 SUITE_EXPECT_EXIT=0 SUITE_OVERRIDES=()
  SUITE_DEBS=""
  unset -f suite_run
  SUITE_DIR="$dir"
  # shellcheck disable=SC1091
  [ -f "$dir/suite.conf" ] && source "$dir/suite.conf"
  [ -n "$ranks_override" ] && SUITE_RANKS="$ranks_override"
  TIMEOUT="$SUITE_TIMEOUT"
  if [ "${FAST:-0}" = 1 ] && [ "$SUITE_FAST" != 1 ]; then return 0; fi
  local stage
  for stage in $SUITE_NEEDS; do
    if ! has_stage "$stage"; then
      echo "regression: $suite: skipped, this build has no '$stage' stage"
      add_row "$suite" "-" "(needs stage $stage)" "-" "-" "-" "skip"
      return 0
    fi
  done
  # Debian packages the suite's measure needs (installed as root on Debian, else named).
  if [ -n "$SUITE_DEBS" ] && ! bash "$root/regression/deps.sh" $SUITE_DEBS; then
    add_row "$suite" "-" "dependencies" "$SUITE_DEBS" "missing" "exact" "FAIL"
    failed_suites+=("$suite")
    return 0
  fi
  local reference="$dir/reference" before="$work/$suite.reference.before"
  [ -f "$reference" ] && cp "$reference" "$before" || : >"$before"
  local first=1 ranks run_dir log measured rc start
  for ranks in $SUITE_RANKS; do
    run_dir="$work/$suite-np$ranks"
    log="$run_dir.log"
    measured="$run_dir.figures"
    start=$SECONDS
    export SUITE_DIR RUN_DIR="$run_dir" LOG="$log" NP="$ranks" TIMEOUT
    if declare -F suite_run >/dev/null; then
      (suite_run "$ranks" "$run_dir") >"$log" 2>&1
    else
      default_run "$ranks" "$run_dir" >"$log" 2>&1
    fi
    rc=$?
    echo "regression: $suite on $ranks rank(s): exit $rc after $((SECONDS - start)) s (log: $log)"
    if [ "$rc" != "$SUITE_EXPECT_EXIT" ]; then
      add_row "$suite" "$ranks" "exit_status" "$SUITE_EXPECT_EXIT" "$rc" "exact" "FAIL"
      tail -n 15 "$log" | sed 's/^/    | /'
      failed_suites+=("$suite")
      first=0
      continue
    fi
    # A figures.py error inside $(...) does not stop the script: its message is caught here.
    if ! (cd "$dir" && bash ./measure) >"$measured" 2>"$measured.err" ||
      grep -q '^figures.py:' "$measured.err" || ! $compare validate "$measured" 2>>"$measured.err"; then
      add_row "$suite" "$ranks" "measure" "ok" "error" "exact" "FAIL"
      sed 's/^/    | /' "$measured.err"
      failed_suites+=("$suite")
      first=0
      continue
    fi
    if [ "${UPDATE:-0}" = 1 ] && [ "$first" = 1 ]; then
      $compare update "$reference" "$measured" || exit 1
      if diff -q "$before" "$reference" >/dev/null; then
        echo "regression: $suite: reference unchanged"
      else
        echo "regression: $suite: reference rewritten:"
        diff -u --label "$suite/reference (before)" --label "$suite/reference (now)" "$before" "$reference"
      fi
    fi
    first=0
    if ! $compare check "$suite" "$ranks" "$reference" "$measured" >>"$rows"; then
      failed_suites+=("$suite")
    fi
  done
}

selected=("$@")
if [ ${#selected[@]} -eq 0 ]; then
  for d in "$suites_dir"/*/; do
    [ -f "$d/measure" ] && selected+=("$(basename "$d")")
  done
fi
for suite in "${selected[@]}"; do
  if [ ! -f "$suites_dir/$suite/measure" ]; then
    echo "regression: no suite '$suite' in $suites_dir (a suite is a folder with a measure script)" >&2
    exit 2
  fi
  run_suite "$suite"
done

echo
$compare table "$rows"
passed=$(awk -F'\t' '$7 == "pass"' "$rows" | wc -l)
failed=$(awk -F'\t' '$7 == "FAIL"' "$rows" | wc -l)
skipped=$(awk -F'\t' '$7 == "skip"' "$rows" | wc -l)
echo
if [ "$failed" -gt 0 ] || [ ${#failed_suites[@]} -gt 0 ]; then
  echo "regression: failing suites: $(printf '%s\n' "${failed_suites[@]}" | sort -u | tr '\n' ' ')"
  echo "regression: run folders and logs kept in $work"
elif [ "${KEEP:-0}" = 1 ]; then
  echo "regression: run folders kept in $work"
else
  rm -rf "$work"
fi
echo "regression: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ ${#failed_suites[@]} -eq 0 ]
