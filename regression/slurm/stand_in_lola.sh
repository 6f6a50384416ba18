#!/usr/bin/env bash
# A stand-in for the lola binary that test_resume.sh hands to jobs/ (LOLA_BIN) to put its
# time-limit handling to the test within a minute of Slurm time, whatever stages exist yet.
# It keeps lola's command-line contract for what jobs/ relies on:
#   lola show DECK [overrides]   the resolved deck as libconfig text (stages, run.dir)
#   lola DECK [overrides]        run the stage given by the last stages=[NAME] override
# Stages it knows:
#   train_ae   "trains" STAND_IN_STEPS steps of one second each, checkpointing the step count to
#              <run.dir>/train_ae/checkpoint after each; with run.resume=true it continues from the
#              checkpoint (as lola's training stages do). Each start is appended to .../attempts.
#              STAND_IN_FAIL=1 makes it fail with exit 1 (an error, not a kill) after one step.
#   eval       checks that train_ae ran all its steps (exit 1 otherwise) and writes eval/done.
set -euo pipefail
[ "${1:-}" = show ] && { show=1; shift; } || show=0
deck="$1"
shift
stages="train_ae, eval" run_dir="runs/stand_in" resume=false
for arg in "$@"; do
  case "$arg" in
    stages=\[*\]) stages="${arg#stages=[}" stages="${stages%]}" ;;
    run.dir=*) run_dir="${arg#run.dir=}" ;;
    run.resume=*) resume="${arg#run.resume=}" ;;
  esac
done
[ -f "$deck" ] || { echo "stand-in lola: no deck $deck" >&2; exit 2; }
if [ "$show" = 1 ]; then
  printf 'stages = [ %s ];\nrun : \n{\n  dir = "%s";\n  resume = %s;\n};\n' \
    "$(sed 's/[^, ][^,]*/"&"/g' <<<"$stages")" "$run_dir" "$resume"
  exit 0
fi
mkdir -p "$run_dir/$stages"
case "$stages" in
  train_ae)
    total="${STAND_IN_STEPS:-100}" step=0
    checkpoint="$run_dir/train_ae/checkpoint"
    [ "$resume" = true ] && [ -f "$checkpoint" ] && step="$(cat "$checkpoint")"
    echo "start $step job ${SLURM_JOB_ID:-none}" >>"$run_dir/train_ae/attempts"
    echo "stand-in train_ae: from step $step of $total"
    while [ "$step" -lt "$total" ]; do
      sleep 1
      step=$((step + 1))
      echo "$step" >"$checkpoint.tmp" && mv "$checkpoint.tmp" "$checkpoint"
      [ "${STAND_IN_FAIL:-0}" = 1 ] && { echo "stand-in train_ae: error at step $step" >&2; exit 1; }
    done
    echo "stand-in train_ae: done"
    ;;
  eval)
    [ "$(cat "$run_dir/train_ae/checkpoint" 2>/dev/null)" = "${STAND_IN_STEPS:-100}" ] ||
      { echo "stand-in eval: train_ae did not finish" >&2; exit 1; }
    date -u >"$run_dir/eval/done"
    ;;
  *) echo "stand-in lola: unknown stage '$stages'" >&2; exit 2 ;;
esac
