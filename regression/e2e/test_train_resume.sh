#!/usr/bin/env bash
# A training pipeline killed with SIGKILL at random moments and resumed with
# run.resume=true ends with exactly (bitwise) the weights of an uninterrupted run
# with the same rank count: 1 rank killed at three moments, 2 ranks at one.
cd "$(dirname "$0")/../.."
source regression/e2e/lib.sh
source regression/e2e/train_lib.sh
E2E_NAME=train_resume
LONGER=(train_ae.train.epochs=4 train_surrogate.train.epochs=4 train_diffusion.train.epochs=4)

train_data && ok "tiny Euler data" || fail "tiny Euler data"
MPIRUN_SAVED=$MPIRUN

# killed_run NAME RANKS DELAY: run in the background, SIGKILL its processes after
# DELAY seconds, then resume (twice at most) until it finishes.
killed_run() {
  local name=$1 ranks=$2 delay=$3 run=$E2E_TMP/$1
  if [ "$ranks" = 1 ]; then MPIRUN=""; fi
  local cmd
  if [ "$ranks" = 1 ]; then
    cmd="$LOLA $TRAIN_DECK $TRAIN_STAGES run.dir=$run dataset.path=$TRAIN_DATA train_surrogate.ae_run=$run train_diffusion.ae_run=$run ${LONGER[*]}"
  else
    cmd="$(pipeline_cmd $run $ranks ${LONGER[@]})"
  fi
  MPIRUN=$MPIRUN_SAVED
  $cmd >$E2E_TMP/$name.log 2>&1 &
  local pid=$!
  sleep "$delay"
  if [ "$ranks" = 1 ]; then
    kill -9 $pid 2>/dev/null
  else
    for child in $(pgrep -P $pid); do kill -9 $child 2>/dev/null; done
  fi
  wait $pid 2>/dev/null
  local out rc
  out=$(timeout 120 $cmd run.resume=true 2>&1)
  rc=$?
  if [ $rc != 0 ]; then
    fail "$name: resume after a kill at ${delay}s" "exit $rc: $(tail -c 400 <<<"$out")"
    return
  fi
  ok "$name: killed at ${delay}s, resumed"
}

expect "uninterrupted, 1 rank" 0 "final validation loss" -- "$LOLA" $TRAIN_DECK "$TRAIN_STAGES" \
  run.dir=$E2E_TMP/u1 dataset.path=$TRAIN_DATA train_surrogate.ae_run=$E2E_TMP/u1 train_diffusion.ae_run=$E2E_TMP/u1 "${LONGER[@]}"
expect "uninterrupted, 2 ranks" 0 "final validation loss" -- $(pipeline_cmd $E2E_TMP/u2 2 "${LONGER[@]}")
for delay in 0.$((RANDOM % 9 + 1)) 1.$((RANDOM % 10)) 2.$((RANDOM % 10)); do
  name=k1_${delay/./_}
  killed_run $name 1 $delay
  for s in train_ae train_surrogate train_diffusion; do
    same_weights "$name: $s bitwise equal" $E2E_TMP/u1/$s/last/model.safetensors $E2E_TMP/$name/$s/last/model.safetensors 0
  done
done
delay=1.$((RANDOM % 10))
killed_run k2 2 $delay
for s in train_ae train_surrogate train_diffusion; do
  same_weights "k2: $s bitwise equal" $E2E_TMP/u2/$s/last/model.safetensors $E2E_TMP/k2/$s/last/model.safetensors 0
done
finish
