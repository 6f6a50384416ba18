#!/usr/bin/env bash
# jobs/pipeline.sh without Slurm (LOLA_DRY_RUN=1 prints the sbatch commands): the options it
# builds from LOLA_* variables, the dependencies of the chain and of the follow-ups of a
# training stage, and what it refuses. Runs anywhere in a second; the deck is read by
# stand_in_lola.sh (a training stage and eval), or by the real binary for the refusals.
#
#   bash regression/slurm/test_dry_run.sh          (BUILD=build; LOLA=path overrides the binary)
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
name="pipeline dry run"
# shellcheck source=regression/slurm/testlib.sh
source "$here/testlib.sh"
work="$(mktemp -d "${TMPDIR:-/tmp}/lola-dry-run.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo 'stages = ["train_ae", "eval"];' >"$work/deck.cfg"

# dry DIR [VAR=value ...] -- [overrides]: the pipeline's sbatch lines in $work/sbatch.txt
dry() {
  local dir="$1" vars=()
  shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do vars+=("$1"); shift; done
  shift
  env LOLA_DRY_RUN=1 LOLA_BIN="$here/stand_in_lola.sh" "${vars[@]}" \
    bash "$root/jobs/pipeline.sh" "$work/deck.cfg" "run.dir=$dir" "$@" >"$work/out.txt" 2>"$work/sbatch.txt"
}
line() { sed -n "${1}p" "$work/sbatch.txt"; }
has() { [[ " $(line "$1") " == *" $2 "* ]]; }
lacks() { ! has "$@"; }

dry "$work/r1" LOLA_GPUS_PER_NODE=4 LOLA_CPUS_PER_TASK=8 LOLA_NODES=2 LOLA_TIME=2:00:00 \
  LOLA_TRAIN_AE_TIME=1-00:00:00 LOLA_PARTITION=gpu LOLA_EVAL_PARTITION=other \
  LOLA_SBATCH_ARGS="--exclusive --mail-type=END" LOLA_EVAL_GPUS_PER_NODE=0 LOLA_EVAL_TASKS_PER_NODE=3 -- x.y=1
check "train_ae, its 2 follow-ups and eval: 4 sbatch lines" test "$(wc -l <"$work/sbatch.txt")" = 4
check "one rank per GPU: --ntasks-per-node=4 --gpus-per-task=1" \
  bash -c "[[ '$(line 1)' == *' --ntasks-per-node=4 --gpus-per-task=1 '* ]]"
check "... --nodes=2" has 1 --nodes=2
check "... --cpus-per-task=8" has 1 --cpus-per-task=8
check "... --partition=gpu" has 1 --partition=gpu
check "a stage's own variable wins: train_ae --time=1-00:00:00" has 1 --time=1-00:00:00
check "... others keep the common one: eval --time=2:00:00" has 4 --time=2:00:00
check "a CPU stage: eval --ntasks-per-node=3 and no GPU" has 4 --ntasks-per-node=3
check "... eval has no --gpus-per-task" lacks 4 --gpus-per-task=1
check "... eval --partition=other" has 4 --partition=other
check "extra sbatch options are passed: --exclusive --mail-type=END" has 1 "--exclusive --mail-type=END"
check "the log goes into run.dir/logs" has 1 "--output=$work/r1/logs/train_ae-%j.log"
check "the first stage has no dependency" bash -c "[[ '$(line 1)' != *--dependency* ]]"
check "follow-up 1 runs only if the stage's job did not succeed" has 2 --dependency=afternotok:1001
check "... and is told which attempt it continues" has 2 --export=ALL,LOLA_PIPELINE=1,LOLA_CONTINUES=1001
check "follow-up 2 runs only if follow-up 1 did not succeed" has 3 --dependency=afternotok:1002
check "eval waits for any attempt of train_ae to succeed" has 4 "--dependency=afterok:1001?afterok:1002?afterok:1003"
check "... and is cancelled if none does" has 4 --kill-on-invalid-dep=yes
check "overrides reach every job, with run.dir absolute" \
  bash -c "[[ '$(line 4)' == *'eval $work/deck.cfg x.y=1 run.dir=$work/r1' ]]"
check "the job ids are printed" grep -q "jobs 1001 1002 1003 1004" "$work/out.txt"
check "... and recorded in run.dir/jobs/pipeline.jobs" \
  diff "$work/r1/jobs/pipeline.jobs" <(printf 'train_ae 1001 1002 1003\neval 1004\n')
check "... the follow-ups in run.dir/jobs/train_ae.followups" \
  diff "$work/r1/jobs/train_ae.followups" <(printf '1002\n1003\n')

dry "$work/r2" LOLA_RESUBMITS=0 --
check "LOLA_RESUBMITS=0: no follow-ups" test "$(wc -l <"$work/sbatch.txt")" = 2
check "a CPU job by default: --nodes=1 --ntasks-per-node=1" has 1 "--nodes=1 --ntasks-per-node=1"

# Continuing a pipeline: stages done are skipped.
mkdir -p "$work/r3/jobs" && echo "done 77 2026-01-01T00:00:00Z" >"$work/r3/jobs/train_ae.state"
touch "$work/r3/finished"
dry "$work/r3" --
check "a finished run.dir is refused" grep -q "holds a finished run" "$work/sbatch.txt"
dry "$work/r3" -- run.resume=true
check "run.resume=true submits only the stages not done" \
  bash -c "[ \"\$(wc -l <'$work/sbatch.txt')\" = 1 ] && grep -q 'stage.sbatch eval ' '$work/sbatch.txt'"
check "... and says which it skipped" grep -q "train_ae *done already, skipped" "$work/out.txt"

# The real binary refuses a bad deck before anything is queued, with its exit code.
lola="${LOLA:-$root/${BUILD:-build}/lola}"
if [ -x "$lola" ]; then
  LOLA_DRY_RUN=1 LOLA_BIN="$lola" bash "$root/jobs/pipeline.sh" "$root/inputs/info.cfg" info.per_rnak=true \
    "run.dir=$work/r4" >"$work/out.txt" 2>&1
  rc=$?
  check "a misspelt key: exit 2 with lola's message, nothing submitted (exit $rc)" \
    bash -c "[ $rc = 2 ] && grep -q 'per_rnak' '$work/out.txt' && ! grep -q '^sbatch' '$work/out.txt'"
else
  echo "  note  no binary at $lola: the bad-deck check is left out"
fi
finish
