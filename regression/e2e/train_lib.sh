# Helpers for the training e2e tests (source after lib.sh): tiny Euler data and
# the tiny pipeline deck regression/e2e/fixtures/train/pipeline.cfg.
TRAIN_DECK=regression/e2e/fixtures/train/pipeline.cfg
TRAIN_DATA=$E2E_TMP/data
TRAIN_STAGES='stages=["train_ae","cache_latents","train_surrogate","train_diffusion"]'
PY=${PY:-/usr/bin/python3}
export OMP_NUM_THREADS=1

# Generate the data once (1 rank).
train_data() {
  "$LOLA" $TRAIN_DECK 'stages=["generate"]' run.dir=$E2E_TMP/generate generate.root=$TRAIN_DATA >/dev/null 2>&1
}

# pipeline_cmd RUN_DIR RANKS [overrides...]: the command line of the four training
# stages on RANKS ranks, caches in RUN_DIR (for expect, or to run in the background).
pipeline_cmd() {
  local run=$1 ranks=$2
  shift 2
  echo $MPIRUN -np "$ranks" "$LOLA" $TRAIN_DECK "$TRAIN_STAGES" run.dir=$run dataset.path=$TRAIN_DATA \
    train_surrogate.ae_run=$run train_diffusion.ae_run=$run "$@"
}

# same_weights NAME A B TOL [PREFIX]: the checkpoints' weights (those whose name
# starts with PREFIX) agree (TOL 0: bitwise; "differ": every one changed).
same_weights() {
  local out
  if out=$($PY regression/e2e/st_diff.py "$2" "$3" "$4" "${5:-}" 2>&1); then ok "$1 ($out)"; else fail "$1" "$out"; fi
}
