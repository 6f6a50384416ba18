#!/usr/bin/env bash
# make demo: run the default deck on this machine, on 2 ranks where there are 2 cores.
set -euo pipefail
lola=$1
deck=$2
shift 2
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
# Idle OpenMP threads sleep instead of spinning against OpenBLAS's threads (README, "Threads").
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
ranks=$(($(getconf _NPROCESSORS_ONLN) >= 2 ? 2 : 1)) # not nproc: it follows OMP_NUM_THREADS
echo "demo: mpirun -np $ranks $lola $deck $*"
mpirun -np "$ranks" "$lola" "$deck" "$@"
