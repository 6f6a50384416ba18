#!/usr/bin/env bash
# Tests of the regression framework itself: the tolerance rules of lib/compare.py, and run.sh
# on suites made here that must fail (tolerance violated, wrong exit code, figure missing) and
# must pass (within tolerance, after UPDATE=1). Uses the `info` stage; ~10 s.
#
#   bash regression/suites/selftest.sh            (BUILD=build; LOLA=path overrides the binary)
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="$(command -v /usr/bin/python3 || command -v python3)"
compare="$python $here/lib/compare.py"
work="$(mktemp -d "${TMPDIR:-/tmp}/lola-selftest.XXXXXX")"
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

ok() { # ok DESCRIPTION COMMAND...
  local what="$1"
  shift
  if "$@" >"$work/step.out" 2>&1; then
    passed=$((passed + 1))
    echo "  ok    $what"
  else
    failed=$((failed + 1))
    echo "  FAIL  $what"
    sed 's/^/        | /' "$work/step.out" | tail -n 20
  fi
}
fails() { ! "$@"; }
# runsh SUITE [VAR=value ...]: run.sh on one suite made here; its output stays in $work/run.out.
runsh() {
  local suite="$1"
  shift
  env SUITES_DIR="$suites" "$@" bash "$here/run.sh" "$suite" >"$work/run.out" 2>&1
  local rc=$?
  cat "$work/run.out"
  return $rc
}

# --- compare.py: one figure against one reference line ------------------------------------
verdict() { # verdict REFERENCE-VALUE TOLERANCE MEASURED-VALUE -> prints pass or FAIL
  printf 'x %s %s\n' "$1" "$2" >"$work/ref"
  printf 'x %s\n' "$3" >"$work/got"
  $compare check s 1 "$work/ref" "$work/got" | cut -f7
}
expect() { # expect VERDICT REFERENCE TOLERANCE MEASURED
  [ "$(verdict "$2" "$3" "$4")" = "$1" ]
}
echo "compare.py tolerances:"
ok "exact: same text passes" expect pass abc123 exact abc123
ok "exact: one character off fails" expect FAIL abc123 exact abc124
ok "abs:0.1: 1.05 against 1.0 passes" expect pass 1.0 abs:0.1 1.05
ok "abs:0.1: 1.2 against 1.0 fails" expect FAIL 1.0 abs:0.1 1.2
ok "rel:1e-3: 1000.9 against 1000 passes" expect pass 1000 rel:1e-3 1000.9
ok "rel:1e-3: 1001.1 against 1000 fails" expect FAIL 1000 rel:1e-3 1001.1
ok "rel:1e-3: -1000.9 against 1000 fails (sign)" expect FAIL 1000 rel:1e-3 -1000.9
ok "le:0.5: 0.5 passes, reference ignored" expect pass 99 le:0.5 0.5
ok "le:0.5: 0.51 fails" expect FAIL 0.1 le:0.5 0.51
ok "ge:0: 0 passes" expect pass 1 ge:0 0
ok "ge:0: -1e-9 fails" expect FAIL 1 ge:0 -1e-9
ok "nan never passes a numeric tolerance" expect FAIL 1.0 abs:1e9 nan
ok "text never passes a numeric tolerance" expect FAIL 1.0 abs:1e9 fast
printf 'a 1 exact\nb 2 exact\n' >"$work/ref2"
printf 'a 1\n' >"$work/got2"
ok "a figure the run did not produce fails" fails $compare check s 1 "$work/ref2" "$work/got2"
printf 'a 1 exact\n' >"$work/ref3"
printf 'a 1\nc 3\n' >"$work/got3"
ok "a figure with no reference yet fails (record it with UPDATE=1)" fails $compare check s 1 "$work/ref3" "$work/got3"
printf 'a 1 within:3\n' >"$work/ref4"
ok "an unknown tolerance is refused" fails $compare check s 1 "$work/ref4" "$work/got2"
printf 'a 1 abs:0.5\nb 2 exact\n' >"$work/ref5"
printf 'a 7 rel:1\nb 3\nd 4 le:5\n' >"$work/got5"
$compare update "$work/ref5" "$work/got5"
ok "update keeps the reference's tolerances and takes new figures' defaults" \
  diff <(awk '!/^#/ { print $1, $2, $3 }' "$work/ref5") <(printf 'a 7 abs:0.5\nb 3 exact\nd 4 le:5\n')

# --- run.sh on suites made here ----------------------------------------------------------
lola="${LOLA:-$root/${BUILD:-build}/lola}"
if [ ! -x "$lola" ]; then
  echo "selftest: no binary at $lola: build it first" >&2
  exit 1
fi
# The failing suites keep their run folders: inside $work, which goes at exit.
export LOLA="$lola" RANKS=1 TMPDIR="$work"
suites="$work/suites"
mkdir -p "$suites"
cp -r "$here/info" "$suites/violated"
# The real reference, with one figure moved out of its tolerance.
sed -i 's/^threads_per_rank .*/threads_per_rank 1.5 abs:0.4/' "$suites/violated/reference"
echo "run.sh:"
ok "a violated tolerance makes run.sh exit non-zero" fails runsh violated
ok "... and its table shows that figure as FAIL" grep -Eq '^violated +1 +threads_per_rank +1\.5 +1 +abs:0\.4 +FAIL' "$work/run.out"
ok "... while the other figures pass" grep -Eq '^violated +1 +nodes +1 +1 +exact +pass' "$work/run.out"
sed -i 's/^threads_per_rank .*/threads_per_rank 1.5 abs:0.6/' "$suites/violated/reference"
ok "within the tolerance it passes" runsh violated
sed -i 's/^nodes .*/nodes 2 exact/' "$suites/violated/reference"
ok "UPDATE=1 rewrites the reference, shows the diff and passes" \
  runsh violated UPDATE=1
ok "... the diff names the changed figure" grep -Eq '^\+nodes +1 +exact' "$work/run.out"
ok "... and the reference keeps the stated tolerance" grep -Eq '^threads_per_rank +1 +abs:0\.6$' "$suites/violated/reference"
ok "after the update, a plain run passes" runsh violated

cp -r "$here/info" "$suites/crashes"
echo 'SUITE_OVERRIDES=(info.per_rnak=true)' >>"$suites/crashes/suite.conf"
ok "a run that exits non-zero fails the suite" fails runsh crashes
ok "... with an exit_status row (lola exits 2 on a bad key)" grep -Eq '^crashes +1 +exit_status +0 +2 +exact +FAIL' "$work/run.out"

cp -r "$here/info" "$suites/silent"
echo 'echo "nodes $($FIGURES log "$RUN_DIR/info.txt" "no such line (\d+)")"' >"$suites/silent/measure"
ok "a measure script that fails fails the suite" fails runsh silent

cp -r "$here/info" "$suites/batch"
printf 'echo "nodes - log $RUN_DIR/info.txt no.such.line" | $FIGURES batch\n' >"$suites/batch/measure"
ok "a failing figure in \$FIGURES batch fails the suite" fails runsh batch
ok "... naming the figure's command" grep -q "no line matches /no.such.line/" "$work/run.out"

cp -r "$here/info" "$suites/later"
echo 'SUITE_NEEDS="info no_such_stage"' >>"$suites/later/suite.conf"
ok "a suite for a stage this build lacks is skipped, not failed" runsh later
ok "... and says so" grep -q "skipped, this build has no 'no_such_stage' stage" "$work/run.out"

echo "selftest: $passed passed, $failed failed"
[ "$failed" = 0 ]
