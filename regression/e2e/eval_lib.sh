# Helpers for the eval e2e tests (source after lib.sh and train_lib.sh): a tiny
# trained run and the eval deck regression/e2e/fixtures/eval/eval.cfg.
EVAL_DECK=regression/e2e/fixtures/eval/eval.cfg
EVAL_MODEL=$E2E_TMP/model

# Data and a tiny trained run (train_ae, cache_latents, both emulators) on 1 rank.
eval_model() {
  train_data && $(pipeline_cmd $EVAL_MODEL 1) >/dev/null 2>&1
}

# eval_cmd OUT_DIR RANKS [overrides...]: the command line of the eval stage.
eval_cmd() {
  local out=$1 ranks=$2
  shift 2
  echo $MPIRUN -np "$ranks" "$LOLA" $EVAL_DECK run.dir=$out eval.run=$EVAL_MODEL "$@"
}

# The table without its speed column (a timing), rows sorted.
table() { awk -F, -v OFS=, '{ $9 = ""; print }' "$1" | sort; }
