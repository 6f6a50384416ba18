# shellcheck shell=bash
# What each stage must leave behind when the Slurm test ran it on 2 ranks (sourced by
# test_pipeline.sh, which runs the jobs, and these checks, in its own folder). One function per
# stage, outputs_<stage> RUN_DIR: non-zero, saying what is missing, when an output is not there.
# Add one when a stage lands.

# The resolved deck the run saved: deck_saved RUN_DIR KEY prints one value.
deck_saved() { deck_value "$2" <"$1/deck.cfg"; }

outputs_info() {
  local report="$1/info.txt"
  [ -s "$report" ] || { echo "        no $report"; return 1; }
  grep -q "2 ranks on 1 node" "$report" || { echo "        $report does not report 2 ranks on 1 node"; return 1; }
  [ "$(grep -c '^rank ' "$report")" = 2 ] || { echo "        $report has not one line per rank"; return 1; }
}

outputs_generate() {
  local root split count
  root="$(deck_saved "$1" generate.root)" || { echo "        no generate.root in $1/deck.cfg"; return 1; }
  for split in train valid test; do
    count="$(find "$root" -path "*/data/$split/*.hdf5" | wc -l)"
    [ "$count" -gt 0 ] || { echo "        no $split files under $root"; return 1; }
  done
}

outputs_stats() {
  local file name
  # The deck saved last is the last job's, which fills in only its own stage's defaults.
  name="$(deck_saved "$1" stats.output 2>/dev/null)" || name=stats.cfg
  file="$1/${name:-stats.cfg}"
  if ! grep -q '^ *mean = \[' "$file" || ! grep -q '^ *std = \[' "$file"; then
    echo "        $file has no mean and std lists"
    return 1
  fi
}

outputs_inspect() {
  grep -q "valid Well layout" "$1/inspect.txt" || { echo "        $1/inspect.txt does not say the files are valid"; return 1; }
}

# A training stage leaves its last and best checkpoints and one metrics row per epoch.
training_outputs() {
  local dir="$1/$2"
  for f in last/model.safetensors last/optimizer.safetensors best/model.safetensors metrics.csv; do
    [ -s "$dir/$f" ] || { echo "        no $dir/$f"; return 1; }
  done
}
outputs_train_ae() { training_outputs "$1" train_ae; }
outputs_train_surrogate() { training_outputs "$1" train_surrogate; }
outputs_train_diffusion() { training_outputs "$1" train_diffusion; }

outputs_cache_latents() {
  [ "$(find "$1/cache" -name '*.hdf5' 2>/dev/null | wc -l)" -gt 0 ] || { echo "        no latent caches under $1/cache"; return 1; }
}

outputs_eval() {
  local table="$1/eval/stats.csv"
  [ "$(wc -l <"$table" 2>/dev/null || echo 0)" -gt 1 ] || { echo "        no rows in $table"; return 1; }
}
