#!/usr/bin/env bash
# Test of jobs/ time-limit handling on a local one-node Slurm (about 2.5 minutes): a training
# stage given a 1-minute time limit is killed by Slurm (TIMEOUT), the follow-up job that
# jobs/pipeline.sh queued resumes it from its checkpoint and finishes it, the unused follow-up is
# cancelled, and the next stage starts only then. A second chain checks that a stage failing
# with an error is not retried and stops the chain. The training stage is played by
# stand_in_lola.sh (a step a second, checkpointed), so this runs whatever stages exist yet.
# Skips (exit 0, saying why) where Slurm cannot be installed or started.
#
#   bash regression/slurm/test_resume.sh          (KEEP=1 keeps the folder)
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
name="slurm resume test"
# shellcheck source=regression/slurm/testlib.sh
source "$here/testlib.sh"

work="$(mktemp -d "${TMPDIR:-/tmp}/lola-slurm-resume.XXXXXX")"
start_test_cluster "$work"
echo 'stages = ["train_ae", "eval"];' >"$work/deck.cfg"
export LOLA_BIN="$here/stand_in_lola.sh" LOLA_TASKS_PER_NODE=1 LOLA_CPUS_PER_TASK=1
export LOLA_RESUBMITS=2 STAND_IN_STEPS=100

# 1. Killed at the time limit, resumed by the first follow-up.
run="$work/timeout"
LOLA_TRAIN_AE_TIME=1 bash "$root/jobs/pipeline.sh" "$work/deck.cfg" "run.dir=$run" | tee "$work/submit1.txt"
read -r _ first follow1 follow2 < <(grep '^train_ae ' "$run/jobs/pipeline.jobs")
read -r _ eval_job < <(grep '^eval ' "$run/jobs/pipeline.jobs")
check "pipeline.sh queued the stage, two follow-ups and the next stage" \
  test -n "$first" -a -n "$follow1" -a -n "$follow2" -a -n "$eval_job"
wait_jobs 400 "$first" "$follow1" "$follow2" "$eval_job"
check "the first attempt hit its time limit (state $(job_field "$first" JobState))" \
  test "$(job_field "$first" JobState)" = TIMEOUT
check "the first follow-up completed (state $(job_field "$follow1" JobState))" \
  test "$(job_field "$follow1" JobState)" = COMPLETED
check "... resuming the stage from its checkpoint" \
  grep -q "interrupted in job $first: resuming" "$run/logs/train_ae-$follow1.log"
resumed_at="$(awk 'NR == 2 { print $2 }' "$run/train_ae/attempts")"
check "... which the second attempt started from (step ${resumed_at:-none} > 0)" test "${resumed_at:-0}" -gt 0
check "the stage ran all its steps ($(cat "$run/train_ae/checkpoint" 2>/dev/null) of 100) in two attempts" \
  test "$(cat "$run/train_ae/checkpoint" 2>/dev/null)" = 100 -a "$(wc -l <"$run/train_ae/attempts")" = 2
check "the state names the follow-up as the one that finished" grep -q "^done $follow1 " "$run/jobs/train_ae.state"
check "the second follow-up was not run (state $(job_field "$follow2" JobState))" \
  test "$(job_field "$follow2" JobState)" = CANCELLED
check "the next stage completed (state $(job_field "$eval_job" JobState))" \
  test "$(job_field "$eval_job" JobState)" = COMPLETED
check "... after the follow-up ended" \
  test ! "$(job_field "$eval_job" StartTime)" \< "$(job_field "$follow1" EndTime)"

# 2. An error is not a time limit: no resume, and the chain stops.
run="$work/error"
STAND_IN_FAIL=1 bash "$root/jobs/pipeline.sh" "$work/deck.cfg" "run.dir=$run" | tee "$work/submit2.txt"
read -r _ first follow1 follow2 < <(grep '^train_ae ' "$run/jobs/pipeline.jobs")
read -r _ eval_job < <(grep '^eval ' "$run/jobs/pipeline.jobs")
wait_jobs 120 "$first" "$follow1" "$follow2" "$eval_job"
check "a stage that fails with an error fails its job (state $(job_field "$first" JobState))" \
  test "$(job_field "$first" JobState)" = FAILED
check "... its state says failed:1" grep -q "^failed:1 $first " "$run/jobs/train_ae.state"
check "... no follow-up resumed it" test "$(wc -l <"$run/train_ae/attempts")" = 1
check "... and the next stage never ran (state $(job_field "$eval_job" JobState))" \
  test "$(job_field "$eval_job" JobState)" = CANCELLED -a ! -e "$run/eval/done"

finish
