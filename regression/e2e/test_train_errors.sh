#!/usr/bin/env bash
# Bad input to the training stages: a clear error before any training, exit code
# 2 (deck) or 3 (data), and nothing of the run overwritten.
cd "$(dirname "$0")/../.."
source regression/e2e/lib.sh
source regression/e2e/train_lib.sh
E2E_NAME=train_errors
A=$E2E_TMP/a

train_data && ok "tiny Euler data" || fail "tiny Euler data"
expect "a good run" 0 "final validation loss" -- $(pipeline_cmd $A 1)
# run.dir/deck.cfg and run.dir/finished are the driver's (src/run.c rewrites them on every start).
snapshot() { find "$A" -type f ! -path "$A/deck.cfg" ! -path "$A/finished" -print0 | sort -z | xargs -0 md5sum; }
before=$(snapshot)
untouched() {
  local now
  now=$(snapshot)
  if [ "$now" = "$before" ]; then ok "$1: nothing overwritten"; else fail "$1: the run was modified" "$(diff <(echo "$before") <(echo "$now") | head -5)"; fi
}

one() { echo "$LOLA" $TRAIN_DECK "run.dir=$1" dataset.path=$TRAIN_DATA "${@:2}"; }

expect "missing AE run" 2 "not a trained autoencoder run" -- \
  $(one $E2E_TMP/x1 'stages=["cache_latents"]' cache_latents.ae_run=$E2E_TMP/nowhere)
expect "surrogate on a missing AE run" 2 "train_surrogate.ae_run.*not a trained autoencoder run" -- \
  $(one $E2E_TMP/x2 'stages=["train_surrogate"]' train_surrogate.ae_run=$E2E_TMP/nowhere)
expect "AE trained on other fields" 3 "train_ae/last/model.safetensors.*has shape" -- \
  $(one $E2E_TMP/x3 'stages=["cache_latents"]' cache_latents.ae_run=$A \
    'dataset.fields=["density","pressure","energy"]' 'dataset.stats.mean=[0,0,0]' 'dataset.stats.std=[1,1,1]')
untouched "AE channels"

# B: a copy of A whose autoencoder is retrained (another seed): A's caches are stale there.
B=$E2E_TMP/b
cp -r "$A" "$B"
expect "retrain the AE of B" 0 "final validation loss" -- $(one $B 'stages=["train_ae"]' run.overwrite=true train_ae.seed=7)
expect "cache made by another AE" 3 "made by another autoencoder.*run cache_latents again" -- \
  $(one $E2E_TMP/x4 'stages=["train_surrogate"]' train_surrogate.ae_run=$B)
expect "diffusion refuses it too" 3 "made by another autoencoder" -- \
  $(one $E2E_TMP/x5 'stages=["train_diffusion"]' train_diffusion.ae_run=$B)

expect "batch not a multiple of ranks x accumulation" 2 "train_ae.*batch_size \(6\) must be a multiple of ranks x train.accumulation \(1 x 4\)" -- \
  $(one $E2E_TMP/x6 'stages=["train_ae"]' train_ae.train.accumulation=4)
expect "batch on 4 ranks" 2 "must be a multiple of ranks" -- $MPIRUN -np 4 $(one $E2E_TMP/x7 'stages=["train_ae"]')
expect "epoch not a multiple of the batch" 2 "epoch_size \(14\) must be a multiple" -- \
  $(one $E2E_TMP/x8 'stages=["train_surrogate"]' train_surrogate.ae_run=$A train_surrogate.train.epoch_size=14)
expect "valid batch not dividing" 2 "valid.batch_size \(4\)" -- \
  $(one $E2E_TMP/x9 'stages=["train_diffusion"]' train_diffusion.ae_run=$A train_diffusion.valid.batch_size=4)
expect "atleast >= length" 2 "atleast.*must be below trajectory.length" -- \
  $(one $E2E_TMP/x10 'stages=["train_surrogate"]' train_surrogate.trajectory.context.atleast=3)

expect "resume on another rank count" 2 "cannot resume .* written by a 1-rank run" -- \
  $MPIRUN -np 2 $(pipeline_cmd $A 1 run.resume=true | sed "s|^$MPIRUN -np 1 ||")
untouched "resume, ranks"
expect "resume with a deck that changes the model" 2 "the deck changes the model" -- \
  $(pipeline_cmd $A 1 run.resume=true ae.dropout=0.2)
untouched "resume, model"
expect "resume with another architecture" 3 "has shape" -- $(pipeline_cmd $A 1 run.resume=true 'ae.hid_channels=[8,8]')
untouched "resume, architecture"
finish
