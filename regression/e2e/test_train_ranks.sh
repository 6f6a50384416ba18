#!/usr/bin/env bash
# The four training stages on 1, 2 and 3 ranks with the same global batches give
# the same weights to floating-point reassociation; the run folders hold what
# they should (checkpoints, metrics, one latent cache per source file).
cd "$(dirname "$0")/../.."
source regression/e2e/lib.sh
source regression/e2e/train_lib.sh
E2E_NAME=train_ranks

train_data && ok "tiny Euler data" || fail "tiny Euler data"
for n in 1 2 3; do
  expect "pipeline on $n rank(s)" 0 "train_diffusion: final validation loss" -- $(pipeline_cmd $E2E_TMP/r$n $n)
done
for s in train_ae train_surrogate train_diffusion; do
  for n in 2 3; do
    same_weights "$s: $n ranks = 1 rank" $E2E_TMP/r1/$s/last/model.safetensors $E2E_TMP/r$n/$s/last/model.safetensors 1e-5
  done
done
# The GPU code path without a GPU: on the emulated device (run.device=emulated)
# the training stages keep every array out of the host's reach and give,
# bit for bit, the CPU's weights and optimiser state with the same ranks. This
# run also reads each batch and trajectory when it is needed, where the others
# prefetch them on a helper thread (train.prefetch, cache_latents.prefetch), and
# shards the AdamW moments over the ranks (ZeRO-1, train.shard_optimizer): none
# of it may change a bit either (the emulators learn the caches it writes).
opts="cache_latents.prefetch=false"
for s in train_ae train_surrogate train_diffusion; do opts="$opts $s.train.prefetch=false $s.train.shard_optimizer=true"; done
expect "pipeline on 2 ranks, emulated device, no prefetch, sharded moments" 0 "train_diffusion: AdamW moments sharded over 2 ranks" -- \
  $(pipeline_cmd $E2E_TMP/emu 2 run.device=emulated $opts)
for s in train_ae train_surrogate train_diffusion; do
  for f in model optimizer; do
    same_weights "$s $f: emulated, no prefetch, sharded = cpu, prefetch, whole (2 ranks)" $E2E_TMP/r2/$s/last/$f.safetensors \
      $E2E_TMP/emu/$s/last/$f.safetensors 0
  done
done
R=$E2E_TMP/r2
for s in train_ae train_surrogate train_diffusion; do
  rows=$(wc -l <$R/$s/metrics.csv)
  [ -f $R/$s/best/model.safetensors ] && [ -f $R/$s/last/optimizer.safetensors ] && [ "$rows" = 3 ] &&
    ok "$s: last, best and 2 metrics rows" || fail "$s: checkpoints or metrics ($rows lines)"
done
ncache=$(find $R/cache -name '*.hdf5' | wc -l)
nsrc=$(find $TRAIN_DATA -path '*/train/*.hdf5' -o -path '*/valid/*.hdf5' | wc -l)
[ "$ncache" = "$nsrc" ] && ok "one cache per source file ($ncache)" || fail "caches: $ncache for $nsrc source files"
# Pixel-space emulators (no AE run) train too.
expect "surrogate on pixels" 0 "train_surrogate: final validation MSE" -- "$LOLA" $TRAIN_DECK \
  'stages=["train_surrogate"]' run.dir=$E2E_TMP/pix dataset.path=$TRAIN_DATA
# Fork: start train_ae from r1's weights with the encoder frozen.
expect "fork with a frozen encoder" 0 "forked from" -- "$LOLA" $TRAIN_DECK 'stages=["train_ae"]' run.dir=$E2E_TMP/fork \
  dataset.path=$TRAIN_DATA train_ae.fork.run=$E2E_TMP/r1 'train_ae.fork.freeze=["encoder"]'
same_weights "fork: the frozen encoder is r1's" $E2E_TMP/r1/train_ae/last/model.safetensors \
  $E2E_TMP/fork/train_ae/last/model.safetensors 0 encoder
same_weights "fork: the decoder trained on" $E2E_TMP/r1/train_ae/last/model.safetensors \
  $E2E_TMP/fork/train_ae/last/model.safetensors differ decoder
expect "fork from a run without the stage" 2 "fork.run.*has no last checkpoint of train_ae" -- "$LOLA" $TRAIN_DECK \
  'stages=["train_ae"]' run.dir=$E2E_TMP/fork2 dataset.path=$TRAIN_DATA train_ae.fork.run=$E2E_TMP/nowhere
finish
