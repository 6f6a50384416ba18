#!/usr/bin/env bash
# Bad input to the eval stage: a clear error (exit 2) naming the key, never a
# crash; an ensemble of one writes NaN spreads with a warning.
cd "$(dirname "$0")/../.."
source regression/e2e/lib.sh
source regression/e2e/train_lib.sh
source regression/e2e/eval_lib.sh
E2E_NAME=eval_errors

eval_model && ok "tiny trained run" || fail "tiny trained run"
expect "no trained model" 2 "eval.run.*holds no trained model" -- $(eval_cmd $E2E_TMP/x 1 eval.run=$E2E_TMP/nowhere)
expect "context >= window" 2 "eval.context \(3\) must be shorter than the emulator's window" -- \
  $(eval_cmd $E2E_TMP/x 2 'eval.methods=["surrogate"]' eval.context=3 eval.start=4)
expect "overlap >= window" 2 "eval.overlap \(3\) must be shorter" -- $(eval_cmd $E2E_TMP/x 1 eval.overlap=3)
[ ! -e $E2E_TMP/x/eval/stats.csv ] && ok "deck errors found before any work" ||
  fail "deck errors found before any work" "$E2E_TMP/x/eval/stats.csv was written"
expect "index outside the split" 2 "eval.indices.*trajectory 5 is outside the test split" -- \
  $(eval_cmd $E2E_TMP/x 2 'eval.indices=[5]')
expect "not an index" 2 "eval.indices.*neither an index nor a fraction" -- $(eval_cmd $E2E_TMP/x 1 'eval.indices=[1.5]')
expect "start too late" 2 "eval.start.*has 9 steps" -- $(eval_cmd $E2E_TMP/x 1 eval.start=9)
expect "start before the context" 2 "eval.start.*need at least 2" -- $(eval_cmd $E2E_TMP/x 1 eval.context=2)
expect "unknown method" 2 "eval.methods" -- $(eval_cmd $E2E_TMP/x 1 'eval.methods=["vae"]')
expect "one member" 0 "spread of a single member" -- $(eval_cmd $E2E_TMP/one 1 eval.samples=1 eval.record=0)
nan=$(awk -F, 'NR > 1 && $19 != "nan"' $E2E_TMP/one/eval/stats.csv | wc -l)
[ "$nan" = 0 ] && ok "spread NaN for one member" || fail "spread NaN for one member" "$nan rows"
finish
