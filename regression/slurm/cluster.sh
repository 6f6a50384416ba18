# shellcheck shell=bash
# A throw-away one-node Slurm cluster on this machine, for tests (sourced, not run).
#
#   slurm_start DIR     configure it under DIR (free ports, its own state and spool folders,
#                       localhost only), start slurmctld and slurmd, wait for the node to be idle;
#                       exports SLURM_CONF so that sbatch, squeue and srun talk to it.
#                       Returns non-zero, with the reason in SLURM_START_ERROR, when it cannot.
#   slurm_stop          shut it down (and kill what is left of its daemons).
#
# No systemd, no munge daemon: it authenticates with auth/none, which is fine for a cluster
# that listens on 127.0.0.1 only and lives for one test. The daemons run as the current user.

SLURM_START_ERROR=""
SLURM_TEST_DIR=""

slurm_free_port() {
  local python
  python="$(command -v python3 || command -v /usr/bin/python3)" || return 1
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

slurm_start() {
  local dir="$1" bin
  for bin in slurmctld slurmd sbatch squeue scontrol sinfo srun; do
    if ! command -v "$bin" >/dev/null && [ ! -x "/usr/sbin/$bin" ]; then
      SLURM_START_ERROR="'$bin' is not installed (Debian: apt-get install slurmctld slurmd slurm-client)"
      return 1
    fi
  done
  local ctld_port slurmd_port cpus user
  ctld_port="$(slurm_free_port)" && slurmd_port="$(slurm_free_port)" ||
    { SLURM_START_ERROR="no free TCP port on 127.0.0.1"; return 1; }
  [ "$ctld_port" != "$slurmd_port" ] || slurmd_port=$((slurmd_port + 1))
  cpus="$(getconf _NPROCESSORS_ONLN)" # not nproc: it follows OMP_NUM_THREADS
  user="$(id -un)"
  mkdir -p "$dir/state" "$dir/spool" "$dir/log"
  SLURM_TEST_DIR="$dir"
  cat >"$dir/slurm.conf" <<EOF
# Written by regression/slurm/cluster.sh for one test; deleted with its folder.
ClusterName=lolatest$$
SlurmctldHost=$(hostname)(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/none
CredType=cred/none
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
ReturnToService=2
SlurmdParameters=config_overrides
MinJobAge=3600
KillWait=5
OverTimeLimit=0
InactiveLimit=0
NodeName=lolanode NodeHostname=$(hostname) NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=1000 State=UNKNOWN
PartitionName=test Nodes=lolanode Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF="$dir/slurm.conf"
  local sbin=/usr/sbin
  PATH="$PATH:$sbin" slurmctld -f "$SLURM_CONF" -i >"$dir/log/slurmctld.start" 2>&1 ||
    { SLURM_START_ERROR="slurmctld did not start: $(tail -n 3 "$dir/log/slurmctld.start" "$dir/log/slurmctld.log" 2>/dev/null | tr '\n' ' ')"; return 1; }
  PATH="$PATH:$sbin" slurmd -f "$SLURM_CONF" -N lolanode >"$dir/log/slurmd.start" 2>&1 ||
    { SLURM_START_ERROR="slurmd did not start: $(tail -n 3 "$dir/log/slurmd.start" "$dir/log/slurmd.log" 2>/dev/null | tr '\n' ' ')"; slurm_stop; return 1; }
  local i state=""
  for ((i = 0; i < 60; i++)); do
    state="$(sinfo -h -n lolanode -o %T 2>/dev/null || true)"
    [ "$state" = idle ] && return 0
    sleep 0.5
  done
  SLURM_START_ERROR="the node did not become idle in 30 s (state '$state'): $(tail -n 3 "$dir/log/slurmd.log" 2>/dev/null | tr '\n' ' ')"
  slurm_stop
  return 1
}

slurm_stop() {
  [ -n "$SLURM_TEST_DIR" ] || return 0
  local dir="$SLURM_TEST_DIR" pid name i
  scontrol shutdown >/dev/null 2>&1 || true
  for name in slurmd slurmctld; do
    pid="$(cat "$dir/$name.pid" 2>/dev/null || true)"
    [ -n "$pid" ] || continue
    for ((i = 0; i < 20; i++)); do
      kill -0 "$pid" 2>/dev/null || continue 2
      sleep 0.25
    done
    kill -9 "$pid" 2>/dev/null || true # still there after 5 s
  done
  SLURM_TEST_DIR=""
}
