#!/usr/bin/env bash
# The lola command line: help, decks, overrides, validation errors, exit codes,
# run directories, the info stage on 1 and 3 ranks, and a fatal error on one rank.
cd "$(dirname "$0")/../.."
source regression/e2e/lib.sh
E2E_NAME=cli
F=regression/e2e/fixtures
R=$E2E_TMP/runs

expect "help exits 0 and lists stages" 0 "stages:.*" -- "$LOLA" --help
expect "version" 0 "^lola [0-9]+\.[0-9]+" -- "$LOLA" --version
expect "no deck is a usage error" 2 "no deck given" -- "$LOLA"
expect "unknown option" 2 "unknown option '--frobnicate'" -- "$LOLA" --frobnicate
expect "missing deck file" 2 "nope.cfg: cannot open the deck" -- "$LOLA" check "$E2E_TMP/nope.cfg"
expect "check a valid deck" 0 "deck is valid" -- "$LOLA" check inputs/info.cfg
expect "misspelt key: file, line, suggestion" 2 "misspelt.cfg:6: unknown key 'info.per_rnak' \(did you mean 'info.per_rank'\?\)" -- "$LOLA" check $F/misspelt.cfg
expect "wrong type names file and line" 2 "wrong_type.cfg:3: key 'info.per_rank' must be true or false" -- "$LOLA" check $F/wrong_type.cfg
expect "syntax error reports libconfig's file:line" 2 "syntax.cfg:3: syntax error" -- "$LOLA" check $F/syntax.cfg
expect "missing required key" 2 "missing required key 'stages'" -- "$LOLA" check $F/no_stages.cfg
expect "unknown stage is not one of the choices" 2 "'trian_ae' is not one of info" -- "$LOLA" check $F/bad_stage.cfg
expect "unknown override key with suggestion" 2 "command line: unknown key 'run.dri' \(did you mean 'run.dir'\?\)" -- "$LOLA" check inputs/info.cfg run.dri=/tmp
expect "override of the wrong type" 2 "command line: key 'info.per_rank' must be true or false" -- "$LOLA" check inputs/info.cfg info.per_rank=7
expect "malformed override" 2 "is not an override of the form key.path=value" -- "$LOLA" check inputs/info.cfg per_rank
expect "show applies overrides and includes" 0 "per_rank = false" -- "$LOLA" show $F/include.cfg
expect "show fills defaults (run.dir from the deck name)" 0 "dir = \"runs/include\"" -- "$LOLA" show $F/include.cfg
expect "bare string override is quoted" 0 "dir = \"$R/a b\"" -- "$LOLA" show inputs/info.cfg "run.dir=$R/a b"

expect "info on 1 rank" 0 "1 rank on 1 node" -- "$LOLA" inputs/info.cfg run.dir=$R/one
[ -f $R/one/deck.cfg ] && [ -f $R/one/info.txt ] && [ -f $R/one/finished ] && ok "run dir holds deck.cfg, info.txt, finished" || fail "run dir contents"
expect "info says where the model kernels run" 0 "model kernels \(run.device = auto\): the (CPU|GPU) of every rank" -- \
  cat $R/one/info.txt
expect "finished run dir is refused" 2 "holds a finished run" -- "$LOLA" inputs/info.cfg run.dir=$R/one
expect "run.overwrite reuses it" 0 "1 rank on 1 node" -- "$LOLA" inputs/info.cfg run.dir=$R/one run.overwrite=true
expect "info on 3 ranks" 0 "3 ranks on 1 node \(3 ranks per node\)" -- $MPIRUN -np 3 "$LOLA" inputs/info.cfg run.dir=$R/three
expect "every rank reports its device" 0 "rank +2 +node 0" -- cat $R/three/info.txt
expect "deck error on 3 ranks: exit 2, printed once" 2 "" -- $MPIRUN -np 3 "$LOLA" check $F/misspelt.cfg
n=$($MPIRUN -np 3 "$LOLA" check $F/misspelt.cfg 2>&1 | grep -c "unknown key")
[ "$n" = 1 ] && ok "deck error message printed once on 3 ranks" || fail "deck error printed $n times"

start=$(date +%s)
if ! nvidia-smi -L >/dev/null 2>&1; then
  expect "run.device=cuda without a GPU: exit 2" 2 'run.device = "cuda" but rank 0 sees no GPU' -- \
    "$LOLA" inputs/info.cfg run.device=cuda run.dir=$R/nogpu
fi
expect "fatal error on rank 1 only ends the job with its code" 3 "error \(rank 1\): simulated data error" -- $MPIRUN -np 3 "${LOLA%/lola}/e2e/die_on_one_rank" 1
took=$(($(date +%s) - start))
[ "$took" -lt 30 ] && ok "the job ended promptly (${took}s)" || fail "the job took ${took}s to end"
missing=$("$LOLA" keys | sed -n 's/^| `\([^`]*\)`.*/\1/p' | while read -r k; do grep -qF "\`$k\`" README.md || echo "$k"; done)
[ -z "$missing" ] && ok "README documents every deck key" || fail "README lacks deck keys (regenerate with lola keys)" "$(echo $missing)"
finish
