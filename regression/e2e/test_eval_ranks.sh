#!/usr/bin/env bash
# The eval stage on 1 and 3 ranks gives the same table (up to row order and the
# speed column, a timing): members depend on (seed, trajectory, member) only.
# The observed context is reproduced (relative rows at lead 0 are 0 to rounding),
# the raw trajectories and pictures are written, and lola report reads the table.
cd "$(dirname "$0")/../.."
source regression/e2e/lib.sh
source regression/e2e/train_lib.sh
source regression/e2e/eval_lib.sh
E2E_NAME=eval_ranks

eval_model && ok "tiny trained run" || fail "tiny trained run"
for n in 1 3; do
  expect "eval on $n rank(s)" 0 "eval: diffusion: [0-9]+ emulated states" -- $(eval_cmd $E2E_TMP/e$n $n)
done
T1=$E2E_TMP/e1/eval/stats.csv
T3=$E2E_TMP/e3/eval/stats.csv
# The GPU code path without a GPU (run.device=emulated): the same table bit for bit.
expect "eval on 3 ranks, emulated device" 0 "eval: kernels on the emulated backend" -- \
  $(eval_cmd $E2E_TMP/emu 3 run.device=emulated)
if [ -s $T3 ] && [ "$(table $T3)" = "$(table $E2E_TMP/emu/eval/stats.csv)" ]; then ok "emulated device = cpu"; else
  fail "emulated device = cpu" "$(diff <(table $T3) <(table $E2E_TMP/emu/eval/stats.csv) | head -4)"; fi
# 3 methods x 2 trajectories (index 0 and 0.5 of 2; the random pick repeats one) x 5 fields x 5 states x 2.
rows=$(($(wc -l <$T1) - 1))
[ "$rows" = 300 ] && ok "300 rows" || fail "rows: $rows, expected 300"
if [ -s $T1 ] && [ "$(table $T1)" = "$(table $T3)" ]; then ok "1 rank = 3 ranks"; else
  fail "1 rank = 3 ranks" "$(diff <(table $T1) <(table $T3) | head -4)"; fi
# Relative rows (against the AE reconstruction) at lead time 0: the context is reproduced, to
# float rounding: the emulators decode it in other batches than the AE alone, and BLAS kernels
# (OpenBLAS on AVX2 CPUs) round differently for different matrix shapes. A wrong context gives
# nrmse of order 1e-2 and more.
n=$(awk -F, 'NR > 1 && $15 == 0 && $16 == "True"' $T1 | wc -l)
bad=$(awk -F, 'NR > 1 && $15 == 0 && $16 == "True" && ($21 > 1e-5 || $21 < -1e-5)' $T1 | wc -l)
[ -s $T1 ] && [ "$n" -gt 0 ] && [ "$bad" = 0 ] && ok "context reproduced ($n rows, nrmse <= 1e-5)" ||
  fail "context reproduced" "$bad of $n rows with nrmse > 1e-5"
# Later lead times differ from the truth, and diffusion members differ from each other.
spread=$(awk -F, 'NR > 1 && $4 == "diffusion" && $15 > 0 && $19 > 0' $T1 | wc -l)
[ "$spread" -gt 0 ] && ok "diffusion members spread" || fail "diffusion members spread"
still=$(awk -F, 'NR > 1 && $4 == "surrogate" && $15 > 0 && $19 != 0' $T1 | wc -l)
[ -s $T1 ] && [ "$still" = 0 ] && ok "surrogate members identical" || fail "surrogate members identical" "$still rows"
files=$(ls $E2E_TMP/e3/eval | grep -cE '^(autoencoder|surrogate|diffusion)_00000[01](\.h5|\.gif|_[a-z_]+\.png)$')
[ "$files" = 42 ] && ok "records and pictures (42 files)" || fail "records and pictures: $files files"
expect "lola report" 0 "model diffusion ab3" -- "$LOLA" report $E2E_TMP/e1
# rollout = 2 emulated states after the context, windows cropped to 2 states: 3 lead times per field.
expect "rollout and crop" 0 "eval: diffusion: 24 emulated states" -- \
  $(eval_cmd $E2E_TMP/short 2 eval.rollout=2 eval.crop=2)
rows=$(awk -F, 'NR > 1' $E2E_TMP/short/eval/stats.csv 2>/dev/null | wc -l)
leads=$(awk -F, 'NR > 1 { print $15 }' $E2E_TMP/short/eval/stats.csv 2>/dev/null | sort -un | tr '\n' ' ')
[ "$rows" = 180 ] && [ "$leads" = "0 2 4 " ] && ok "rollout = 2: 180 rows, lead times 0 2 4" ||
  fail "rollout = 2" "$rows rows, lead times $leads"
# A pixel-space emulator (no autoencoder run) is evaluated too: relative rows equal absolute ones.
expect "pixel surrogate trained" 0 "final validation MSE" -- "$LOLA" $TRAIN_DECK 'stages=["train_surrogate"]' \
  run.dir=$E2E_TMP/pix dataset.path=$TRAIN_DATA
expect "pixel surrogate evaluated" 0 "eval: surrogate: " -- $(eval_cmd $E2E_TMP/ep 2 eval.run=$E2E_TMP/pix)
P=$E2E_TMP/ep/eval/stats.csv
a=$(awk -F, -v OFS=, 'NR > 1 && $16 == "False" { $9 = ""; $16 = ""; print }' $P | sort | md5sum)
b=$(awk -F, -v OFS=, 'NR > 1 && $16 == "True" { $9 = ""; $16 = ""; print }' $P | sort | md5sum)
[ -s $P ] && [ "$a" = "$b" ] && ok "pixels: relative = absolute" || fail "pixels: relative = absolute"
finish
