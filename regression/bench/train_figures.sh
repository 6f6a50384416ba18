#!/usr/bin/env bash
# Throughput of the training stages on the demo deck (inputs/demo.cfg), 1 rank
# against 2 ranks, one thread per rank:
#   bash regression/bench/train_figures.sh [LOLA] [WORKDIR] [EPOCHS]
# Prints, per stage and rank count, the time of the last epoch (training steps
# + validation, from metrics.csv's elapsed column), training samples/s over that
# epoch, and the 2-rank parallel efficiency (rate_2 / (2 rate_1)). cache_latents
# is timed whole (trajectories/s, start-up included).
set -uo pipefail
source "$(dirname "$0")/demo_data.sh"

# last_epoch RUN STAGE -> "seconds samples_per_s"
last_epoch() {
  awk -F, -v size="$3" 'NR > 1 { prev = last; last = $10 } END { t = last - prev; printf "%.2f %.1f", t, size / t }' \
    "$1/$2/metrics.csv"
}

declare -A rate
printf "%-16s %5s %12s %14s %10s\n" stage ranks "epoch (s)" "samples/s" efficiency
for st in train_ae cache_latents train_surrogate train_diffusion; do
  for n in 1 2; do
    run=$W/r$n
    case $st in
    cache_latents)
      s=$(date +%s.%N)
      mpirun -np $n "$LOLA" $DECK 'stages=["cache_latents"]' run.dir=$run run.overwrite=true $DATA \
        cache_latents.ae_run=$run >$W/$st.$n.log 2>&1 || { echo "$st failed"; tail $W/$st.$n.log; exit 1; }
      e=$(date +%s.%N)
      rows=$(grep -o '([0-9]* trajectories x [0-9]*' $W/$st.$n.log | awk '{ s += substr($1, 2) * $4 } END { print s }')
      t=$(awk -v s=$s -v e=$e 'BEGIN { printf "%.2f", e - s }')
      r=$(awk -v n=$rows -v t=$t 'BEGIN { printf "%.1f", n / t }')
      rate[$st.$n]=$r
      eff=""
      [ $n = 2 ] && eff=$(awk -v a=${rate[$st.1]} -v b=${rate[$st.2]} 'BEGIN { printf "%.2f", b / (2 * a) }')
      printf "%-16s %5d %12s %14s %10s\n" $st $n "$t (all)" "$r traj/s" "$eff"
      continue
      ;;
    esac
    extra=""
    [ $st != train_ae ] && extra="$st.ae_run=$run"
    mpirun -np $n "$LOLA" $DECK "stages=[\"$st\"]" run.dir=$run run.overwrite=true $DATA $st.train.epochs=$EPOCHS \
      $extra >$W/$st.$n.log 2>&1 || { echo "$st failed"; tail $W/$st.$n.log; exit 1; }
    size=$(grep -A3 "^$st" $DECK | grep -o 'epoch_size = [0-9]*' | head -1 | grep -o '[0-9]*')
    read -r t r <<<"$(last_epoch $run $st $size)"
    rate[$st.$n]=$r
    eff=""
    [ $n = 2 ] && eff=$(awk -v a=${rate[$st.1]} -v b=${rate[$st.2]} 'BEGIN { printf "%.2f", b / (2 * a) }')
    printf "%-16s %5d %12s %14s %10s\n" $st $n "$t" "$r" "$eff"
  done
done
