#!/usr/bin/env bash
# End-to-end test of jobs/: start a one-node Slurm on this machine, submit the demo pipeline at
# its smallest size with jobs/pipeline.sh (2 ranks per stage), wait, and check that every stage
# finished, in order, and produced its outputs. Skips (exit 0, saying why) where Slurm cannot be
# installed or started.
#
#   bash regression/slurm/test_pipeline.sh        (BUILD=build; LOLA=path overrides the binary)
# Environment: DECK (default inputs/demo.cfg, or inputs/info.cfg before the demo exists),
#   SLURM_TEST_TIMEOUT (seconds to wait for the whole chain; default 900), KEEP=1 keeps the folder.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
lola="${LOLA:-$root/${BUILD:-build}/lola}"
deck="${DECK:-}"
if [ -z "$deck" ]; then
  deck="$root/inputs/demo.cfg"
  [ -f "$deck" ] || deck="$root/inputs/info.cfg"
fi
deck="$(cd "$(dirname "$deck")" && pwd)/$(basename "$deck")"
timeout_s="${SLURM_TEST_TIMEOUT:-900}"
name="slurm test"
# shellcheck source=regression/slurm/testlib.sh
source "$here/testlib.sh"

[ -x "$lola" ] || { echo "slurm test: no binary at $lola (run make first)" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/lola-slurm.XXXXXX")"
start_test_cluster "$work"
# shellcheck source=jobs/lib/common.sh
source "$root/jobs/lib/common.sh"
# shellcheck source=regression/slurm/outputs.sh
source "$here/outputs.sh"

# The smallest size of each stage the deck lists: the overrides of the stages this build has
# (any of their keys is valid), then of those the deck lists.
known=" $("$lola" --help 2>/dev/null | awk '/^stages:/ { on = 1; next } on && NF == 0 { exit } on { print $1 }' | tr '\n' ' ') "
smallest() { # smallest " STAGE STAGE ... ": the overrides for those stages
  local stage override
  while read -r stage override; do
    [[ "$1" == *" $stage "* ]] && echo "$override"
  done < <(grep -v '^#' "$here/smallest.overrides" | grep .)
}
mapfile -t overrides < <(smallest "$known")
mapfile -t stages < <(lola_show "$lola" "$deck" "${overrides[@]}" | deck_value stages)
[ ${#stages[@]} -gt 0 ] || { echo "slurm test: $deck lists no stages (or is not valid)" >&2; exit 1; }
mapfile -t overrides < <(smallest " ${stages[*]} ")

run_dir="$work/run"
echo "slurm test: jobs/pipeline.sh $deck run.dir=$run_dir ${overrides[*]}"
export LOLA_BIN="$lola" LOLA_TASKS_PER_NODE=2 LOLA_CPUS_PER_TASK=1 LOLA_TIME=30
if ! (cd "$work" && bash "$root/jobs/pipeline.sh" "$deck" "run.dir=$run_dir" "${overrides[@]}") >"$work/submit.txt" 2>&1; then
  cat "$work/submit.txt"
  check "jobs/pipeline.sh submitted the chain" false
  finish
  exit 1
fi
cat "$work/submit.txt"
mapfile -t jobs < <(awk '{ for (i = 2; i <= NF; i++) print $i }' "$run_dir/jobs/pipeline.jobs")
check "pipeline.sh printed a job id for each of the ${#stages[@]} stage(s)" \
  test "$(wc -l <"$run_dir/jobs/pipeline.jobs")" = "${#stages[@]}"

wait_jobs "$timeout_s" "${jobs[@]}"

# Every stage: its first job ran to completion, its state says done, its log is in run.dir.
previous_end=""
while read -r stage first rest; do
  check "$stage: job $first completed (state $(job_field "$first" JobState), exit $(job_field "$first" ExitCode))" \
    test "$(job_field "$first" JobState)" = COMPLETED
  check "$stage: state file says done" grep -q "^done $first " "$run_dir/jobs/$stage.state"
  check "$stage: log in $run_dir/logs" grep -q "$stage finished in job $first" "$run_dir/logs/$stage-$first.log"
  for id in $rest; do
    check "$stage: follow-up job $id was not needed and did not run a stage" \
      bash -c "! grep -q 'resuming' '$run_dir/logs/$stage-$id.log' 2>/dev/null"
  done
  start_time="$(job_field "$first" StartTime)"
  if [ -n "$previous_end" ]; then
    check "$stage started ($start_time) after the previous stage ended ($previous_end)" \
      test ! "$start_time" \< "$previous_end"
  fi
  previous_end="$(job_field "$first" EndTime)"
  if declare -F "outputs_$stage" >/dev/null; then
    check "$stage: its outputs are there (regression/slurm/outputs.sh)" \
      bash -c "cd '$work' && source '$root/jobs/lib/common.sh' && source '$here/outputs.sh' && outputs_$stage '$run_dir'"
  else
    echo "  note  $stage: no output check in regression/slurm/outputs.sh yet"
  fi
done <"$run_dir/jobs/pipeline.jobs"

finish
