#!/usr/bin/env bash
# What reading the next batch on a helper thread (train.prefetch) buys the
# training stages, on the demo deck's data (inputs/demo.cfg), 1 rank, one
# compute thread:
#   bash regression/bench/train_prefetch.sh [LOLA] [WORKDIR] [EPOCHS]
# Prints, per stage, the last epoch's time, training samples/s and the seconds
# the loop waited for batches (metrics.csv), without and with prefetch, and the
# ratio of the rates. train_ae reads, augments and normalises physical states;
# the emulators read latent windows cached by cache_latents.
set -uo pipefail
source "$(dirname "$0")/demo_data.sh"
run() { # LOG ARGS...: one lola run, its log in $W/LOG.log
  local log=$1
  shift
  mpirun -np 1 "$LOLA" $DECK run.overwrite=true $DATA "$@" >$W/$log.log 2>&1 || { echo "$log failed"; tail $W/$log.log; exit 1; }
}

# last_epoch RUN STAGE SIZE -> "seconds samples_per_s data_wait_s"
last_epoch() {
  awk -F, -v size="$3" 'NR > 1 { prev = last; last = $10; wait = $11 } END { t = last - prev; printf "%.2f %.1f %.2f", t, size / t, wait }' \
    "$1/$2/metrics.csv"
}

printf "%-16s %9s %10s %11s %14s %8s\n" stage prefetch "epoch (s)" "samples/s" "data wait (s)" ratio
AE=$W/ae
for st in train_ae train_surrogate train_diffusion; do
  size=$(grep -A3 "^$st" $DECK | grep -o 'epoch_size = [0-9]*' | head -1 | grep -o '[0-9]*')
  base=""
  for pf in false true; do
    dir=$W/$st.$pf
    [ $st = train_ae ] && [ $pf = true ] && dir=$AE # the emulators learn this run's latents
    latents=""
    [ $st != train_ae ] && latents=$st.ae_run=$AE
    run $st.$pf "stages=[\"$st\"]" run.dir=$dir $st.train.epochs=$EPOCHS $st.train.prefetch=$pf $latents
    read -r t r w <<<"$(last_epoch $dir $st $size)"
    ratio=""
    if [ -z "$base" ]; then base=$r; else ratio=$(awk -v a=$base -v b=$r 'BEGIN { printf "%.2fx", b / a }'); fi
    printf "%-16s %9s %10s %11s %14s %8s\n" $st $pf "$t" "$r" "$w" "$ratio"
  done
  [ $st = train_ae ] && run cache 'stages=["cache_latents"]' run.dir=$AE cache_latents.ae_run=$AE
done
