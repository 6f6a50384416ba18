#!/usr/bin/env bash
# The data stages on generated Well files: `stats` gives the same numbers on 1, 2
# and 3 ranks and a snippet the deck can use; `inspect` summarises and validates;
# bad input ends with one message naming the file, exit code 3 on every rank, and
# no result written.
cd "$(dirname "$0")/../.."
source regression/e2e/lib.sh
source regression/e2e/train_lib.sh
E2E_NAME=well_data
D=$E2E_TMP/data

"$LOLA" $TRAIN_DECK 'stages=["generate"]' run.dir=$E2E_TMP/generate generate.root=$D >/dev/null 2>&1 &&
  ok "tiny Euler data" || fail "tiny Euler data"

stats() { echo "$MPIRUN" -np "$1" "$LOLA" $TRAIN_DECK 'stages=["stats"]' run.dir=$E2E_TMP/stats$1 dataset.path=$D; }
for n in 1 2 3; do
  expect "stats on $n rank(s)" 0 "energy +log1p" -- $(stats $n)
done
mean() { grep -E '^  (mean|std) = ' "$E2E_TMP/stats$1/stats.cfg"; }
if [ -n "$(mean 1)" ] && [ "$(mean 1)" = "$(mean 2)" ] && [ "$(mean 1)" = "$(mean 3)" ]; then
  ok "stats agree on 1, 2 and 3 ranks"
else
  fail "stats agree on 1, 2 and 3 ranks" "$(mean 1) | $(mean 2) | $(mean 3)"
fi
# The snippet's override line feeds back into a deck.
overrides=$(grep -oE 'dataset\.stats\.(mean|std)=\[[^]]*\]' "$E2E_TMP/stats1/stats.cfg" | tr '\n' ' ')
expect "stats snippet as overrides" 0 "deck is valid" -- "$LOLA" check $TRAIN_DECK dataset.path=$D $overrides

expect "inspect" 0 "valid Well layout" -- "$LOLA" inputs/inspect.cfg run.dir=$E2E_TMP/inspect inspect.path=$D
expect "inspect shows fields" 0 "momentum +t1 .*-> momentum_x momentum_y" -- \
  "$LOLA" inputs/inspect.cfg run.dir=$E2E_TMP/inspect inspect.path=$D

# Bad input.
bad=$E2E_TMP/bad
cp -r "$D" "$bad"
train_dir=$(dirname "$(find "$bad" -path '*train*' -name '*.hdf5' | head -1)")
echo "not HDF5" > "$train_dir/zz_junk.hdf5"
expect "junk file, 2 ranks" 3 "zz_junk.hdf5: not an HDF5 file" -- \
  "$MPIRUN" -np 2 "$LOLA" $TRAIN_DECK 'stages=["stats"]' run.dir=$E2E_TMP/x1 dataset.path=$bad
if [ -e "$E2E_TMP/x1/stats.cfg" ]; then fail "no stats written after an error"; else ok "no stats written after an error"; fi
n=$("$MPIRUN" -np 2 "$LOLA" $TRAIN_DECK 'stages=["stats"]' run.dir=$E2E_TMP/x1 dataset.path=$bad 2>&1 | grep -c 'lola: error')
[ "$n" = 1 ] && ok "one error message for 2 ranks" || fail "one error message for 2 ranks" "$n messages"
expect "missing split" 3 "split directory does not exist" -- \
  "$LOLA" $TRAIN_DECK 'stages=["stats"]' run.dir=$E2E_TMP/x2 dataset.path=$D stats.split=nosuch
expect "missing physics" 3 "physics directory does not exist" -- \
  "$LOLA" $TRAIN_DECK 'stages=["stats"]' run.dir=$E2E_TMP/x3 dataset.path=$D 'dataset.physics=["nothing"]'
expect "unknown field" 3 "no field provides channel 'vorticity'" -- \
  "$LOLA" $TRAIN_DECK 'stages=["stats"]' run.dir=$E2E_TMP/x4 dataset.path=$D 'dataset.fields=["vorticity"]' \
  'dataset.transform=[]'
expect "inspect a junk file" 3 "zz_junk.hdf5: not an HDF5 file" -- \
  "$MPIRUN" -np 2 "$LOLA" inputs/inspect.cfg run.dir=$E2E_TMP/x5 inspect.path=$bad
finish
