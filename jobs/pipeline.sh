#!/usr/bin/env bash
# Submit every stage a deck lists as a chain of Slurm jobs, each starting when the previous
# one succeeded (--dependency=afterok), and print the job ids.
#
#   jobs/pipeline.sh DECK [key.path=value ...]
#
# Training stages (train_ae, train_surrogate, train_diffusion) get LOLA_RESUBMITS follow-up
# jobs (default 2): when an attempt is killed (time limit, node failure) the next one resumes
# it from its last checkpoint (run.resume=true); the stage after it waits for whichever attempt
# finishes it. A stage that fails with an error is not retried, and the chain stops there.
# With run.resume=true on the command line, the stages already done in run.dir are skipped.
#
# Resources, for every stage or for one (LOLA_TRAIN_AE_TIME wins over LOLA_TIME):
#   LOLA_NODES (1)  LOLA_GPUS_PER_NODE (0: a CPU job)  LOLA_TASKS_PER_NODE (1; CPU jobs: ranks
#   per node)  LOLA_CPUS_PER_TASK  LOLA_TIME  LOLA_MEM  LOLA_PARTITION  LOLA_ACCOUNT  LOLA_QOS
#   LOLA_CONSTRAINT  LOLA_SBATCH_ARGS (any other sbatch options)
# A GPU job runs one rank per GPU: --ntasks-per-node=GPUS_PER_NODE --gpus-per-task=1.
# Also: LOLA_BIN (the binary), LOLA_SRUN_ARGS / LOLA_CPU_BIND / LOLA_LAUNCH (see stage.sbatch),
#   LOLA_DRY_RUN=1 prints the sbatch commands instead of submitting them.
set -euo pipefail

LOLA_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export LOLA_HOME
# shellcheck source=jobs/lib/common.sh
source "$LOLA_HOME/jobs/lib/common.sh"

if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
  [ $# -ge 1 ] && exit 0 || exit 2
fi
deck="$(absolute "$1")"
shift
overrides=("$@")
LOLA_BIN="$(absolute "${LOLA_BIN:-$LOLA_HOME/build/lola}")"
export LOLA_BIN
dry_run="${LOLA_DRY_RUN:-0}"
[ "$dry_run" = 1 ] || command -v sbatch >/dev/null || jobs_die "sbatch not found: run this on a Slurm login node"

# The whole deck is validated once, here, before anything is queued.
resolved="$(lola_show "$LOLA_BIN" "$deck" "${overrides[@]}")" || exit $?
mapfile -t stages < <(deck_value stages <<<"$resolved")
[ ${#stages[@]} -gt 0 ] || jobs_die "$deck lists no stages"
run_dir="$(absolute "$(deck_value run.dir <<<"$resolved")")"
resume=0
[ "$(override_value run.resume "${overrides[@]}")" = true ] && resume=1
if [ -e "$run_dir/finished" ] && [ "$resume" = 0 ] && [ "$(override_value run.overwrite "${overrides[@]}")" != true ]; then
  jobs_die "$run_dir holds a finished run; choose another run.dir, or pass run.resume=true or run.overwrite=true"
fi
mkdir -p "$run_dir/logs" "$run_dir/jobs"
# Every job gets the absolute run.dir (and the stage job its own stages=[NAME]).
stage_overrides=()
for arg in "${overrides[@]}"; do [[ "$arg" == run.dir=* ]] || stage_overrides+=("$arg"); done
if [ "$resume" = 0 ]; then rm -f "$run_dir"/jobs/*.state "$run_dir"/jobs/*.followups; fi

# setting NAME STAGE: LOLA_<STAGE>_<NAME>, else LOLA_<NAME>, else empty.
setting() {
  local specific="LOLA_${2^^}_$1" common="LOLA_$1"
  printf '%s\n' "${!specific:-${!common:-}}"
}

sbatch_options() {
  local stage="$1" gpus tasks value
  local nodes
  nodes="$(setting NODES "$stage")"
  local -a opts=(--job-name="lola-$stage" --nodes="${nodes:-1}")
  gpus="$(setting GPUS_PER_NODE "$stage")"
  if [ "${gpus:-0}" -gt 0 ]; then
    opts+=(--ntasks-per-node="$gpus" --gpus-per-task=1)
  else
    tasks="$(setting TASKS_PER_NODE "$stage")"
    opts+=(--ntasks-per-node="${tasks:-1}")
  fi
  value="$(setting CPUS_PER_TASK "$stage")" && [ -n "$value" ] && opts+=(--cpus-per-task="$value")
  value="$(setting TIME "$stage")" && [ -n "$value" ] && opts+=(--time="$value")
  value="$(setting MEM "$stage")" && [ -n "$value" ] && opts+=(--mem="$value")
  value="$(setting PARTITION "$stage")" && [ -n "$value" ] && opts+=(--partition="$value")
  value="$(setting ACCOUNT "$stage")" && [ -n "$value" ] && opts+=(--account="$value")
  value="$(setting QOS "$stage")" && [ -n "$value" ] && opts+=(--qos="$value")
  value="$(setting CONSTRAINT "$stage")" && [ -n "$value" ] && opts+=(--constraint="$value")
  opts+=(--output="$run_dir/logs/$stage-%j.log" --open-mode=append)
  value="$(setting SBATCH_ARGS "$stage")"
  if [ -n "$value" ]; then
    local -a extra
    read -r -a extra <<<"$value"
    opts+=("${extra[@]}")
  fi
  printf '%s\n' "${opts[@]}"
}

job_id=1000
# submit ARGS...: sbatch them; the new job's id in job_id (dry run: made-up ids from 1001).
submit() {
  if [ "$dry_run" = 1 ]; then
    job_id=$((job_id + 1))
    echo "sbatch $*" >&2
    return
  fi
  local out
  out="$(sbatch --parsable "$@")" || jobs_die "sbatch refused: sbatch $*"
  job_id="${out%%;*}"
}

echo "lola pipeline: ${#stages[@]} stage(s) of $deck into $run_dir"
: >"$run_dir/jobs/pipeline.jobs"
dependency=""
all_jobs=()
resubmits="${LOLA_RESUBMITS:-2}"
for stage in "${stages[@]}"; do
  if [ "$resume" = 1 ] && [[ "$(read_state "$run_dir" "$stage")" == done* ]]; then
    printf '  %-16s done already, skipped\n' "$stage"
    continue
  fi
  mapfile -t options < <(sbatch_options "$stage")
  chain=()
  [ -n "$dependency" ] && chain=(--dependency="$dependency" --kill-on-invalid-dep=yes)
  # shellcheck disable=SC2054  # the commas belong to --export
  script=(--export=ALL,LOLA_PIPELINE=1 "$LOLA_HOME/jobs/stage.sbatch" "$stage" "$deck" "${stage_overrides[@]}" "run.dir=$run_dir")
  submit "${options[@]}" "${chain[@]}" "${script[@]}"
  attempts=("$job_id")
  if is_resumable "$stage" && [ "$resubmits" -gt 0 ]; then
    # Each follow-up runs only if the attempt before it did not succeed; the stage job
    # cancels the ones left once the stage is done.
    for ((k = 0; k < resubmits; k++)); do
      submit "${options[@]}" --dependency="afternotok:${attempts[-1]}" --kill-on-invalid-dep=yes \
        --export="ALL,LOLA_PIPELINE=1,LOLA_CONTINUES=${attempts[-1]}" "${script[@]:1}"
      attempts+=("$job_id")
      echo "$job_id" >>"$run_dir/jobs/$stage.followups"
    done
  fi
  printf '  %-16s %s' "$stage" "${attempts[0]}"
  [ ${#attempts[@]} -gt 1 ] && printf '  (resumed by %s after a time-limit kill)' "${attempts[*]:1}"
  printf '\n'
  echo "$stage ${attempts[*]}" >>"$run_dir/jobs/pipeline.jobs"
  all_jobs+=("${attempts[@]}")
  # The next stage starts when any attempt of this one succeeds.
  dependency="$(printf 'afterok:%s?' "${attempts[@]}")"
  dependency="${dependency%\?}"
done
echo "lola pipeline: jobs ${all_jobs[*]}"
echo "lola pipeline: watch with: squeue -j $(IFS=,; echo "${all_jobs[*]}"); logs in $run_dir/logs"
