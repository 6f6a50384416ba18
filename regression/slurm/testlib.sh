# shellcheck shell=bash
# Helpers of the Slurm tests (sourced): assertions, Slurm installation and start, job queries.
# The caller sets `root` (the checkout) and `name` (the test's name, for messages).

failures=0
checks=0

skip() {
  echo "$name: SKIPPED: $*"
  echo "$name: 0 passed, 0 failed, 1 skipped"
  exit 0
}

check() { # check DESCRIPTION COMMAND...: one assertion
  local what="$1"
  shift
  checks=$((checks + 1))
  if "$@"; then
    echo "  ok    $what"
  else
    echo "  FAIL  $what"
    failures=$((failures + 1))
  fi
}

# Install Slurm where we may (root on Debian), skip the test with the reason where we cannot,
# then start a private cluster under $1 (stopped, and the folder removed, on exit).
start_test_cluster() {
  local work="$1"
  if ! command -v sbatch >/dev/null || [ ! -x /usr/sbin/slurmctld ] || [ ! -x /usr/sbin/slurmd ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      bash "$root/regression/deps.sh" slurmctld slurmd slurm-client >/dev/null 2>&1 || true
    fi
    command -v sbatch >/dev/null && [ -x /usr/sbin/slurmctld ] ||
      skip "Slurm is not installed (Debian: apt-get install slurmctld slurmd slurm-client)"
  fi
  # shellcheck source=regression/slurm/cluster.sh
  source "$root/regression/slurm/cluster.sh"
  cluster_work="$work"
  trap stop_test_cluster EXIT
  slurm_start "$work/slurm" || skip "cannot start a local Slurm: $SLURM_START_ERROR"
  echo "$name: local cluster up ($(sinfo -h -o '%P %D node(s) %c CPUs' | head -n 1)); SLURM_CONF=$SLURM_CONF"
}

stop_test_cluster() {
  slurm_stop
  if [ "$failures" -gt 0 ] || [ "${KEEP:-0}" = 1 ]; then
    echo "$name: folder kept: $cluster_work"
  else
    rm -rf "$cluster_work"
  fi
}

# job_field JOBID FIELD: one field of `scontrol show job` (JobState, ExitCode, StartTime, ...).
job_field() { scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2; exit }'; }

# wait_jobs TIMEOUT JOBID...: wait until none of the jobs is queued or running.
wait_jobs() {
  local timeout_s="$1" start=$SECONDS list
  shift
  list="$(IFS=,; echo "$*")"
  while [ -n "$(squeue -h -j "$list" 2>/dev/null)" ]; do
    if ((SECONDS - start > timeout_s)); then
      echo "$name: the jobs are still queued or running after $timeout_s s:"
      squeue -j "$list"
      scancel "$@"
      failures=$((failures + 1))
      return 1
    fi
    sleep 2
  done
  echo "$name: the jobs left the queue after $((SECONDS - start)) s"
}

finish() {
  echo "$name: $((checks - failures)) passed, $failures failed"
  [ "$failures" = 0 ]
}
