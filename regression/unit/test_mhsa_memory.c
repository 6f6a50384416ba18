/* What multi-head attention keeps between its forward and backward: exactly
 * mhsa_saved_bytes, with the split q and k kept only where the attention
 * reads them as they are (no RMSNorm, no RoPE). With either, they are
 * scratch of the forward: two (B, L, C) arrays a block fewer. */
#include <math.h>
#include <stdlib.h>

#include "../../src/nn/act.h"
#include "../../src/nn/mhsa.h"
#include "gradcheck.h"
#include "harness.h"

enum { B = 2, L = 6, C = 8, H = 2 };

/* Forward and backward of one configuration in an arena of exactly
 * mhsa_activation_bytes; returns the bytes the forward left in it. */
static size_t kept_by_forward(bool qk_norm, bool rope, bool *split_released, bool *finite) {
  param_registry params;
  params_init(&params, 8);
  mhsa m;
  mhsa_declare(&m, &params, "msa", C, H, qk_norm);
  params_finalize(&params);
  mhsa_init(&m, &params, (rng_key){.seed = 5, .purpose = RNG_INIT});
  const int64_t n = B * L * C;
  float *x = malloc(sizeof *x * n), *y = malloc(sizeof *y * n), *dy = malloc(sizeof *dy * n);
  float *dx = malloc(sizeof *dx * n), *angles = malloc(sizeof *angles * L * C / 2);
  float *dangles = calloc(L * C / 2, sizeof *dangles);
  fill_uniform(x, (size_t)n, 11);
  fill_uniform(dy, (size_t)n, 12);
  fill_uniform(angles, (size_t)(L * C / 2), 13);

  arena act;
  arena_init(&act, mhsa_activation_bytes(&m, B, L, rope), "test attention activations");
  const size_t before = act_mark(&act);
  mhsa_forward(&m, &params, &act, y, x, rope ? angles : NULL, NULL, B, L);
  const size_t kept = act_mark(&act) - before;
  *split_released = m.q == NULL && m.k == NULL;
  mhsa_backward(&m, &params, &act, dx, rope ? dangles : NULL, dy);
  *finite = true;
  for (int64_t i = 0; i < n; i++) *finite &= isfinite(y[i]) && isfinite(dx[i]);
  arena_free(&act);
  params_free(&params);
  free(x), free(y), free(dy), free(dx), free(angles), free(dangles);
  return kept;
}

TEST(mhsa_keeps_the_split_only_where_the_backward_reads_it) {
  const size_t n = act_bytes(B * L * C), rows = act_bytes(B * L * H);
  for (int c = 0; c < 4; c++) {
    const bool qk_norm = c & 1, rope = c & 2;
    bool released, finite;
    const size_t kept = kept_by_forward(qk_norm, rope, &released, &finite);
    mhsa probe = {.channels = C, .heads = H, .qk_norm = qk_norm};
    CHECK(kept == mhsa_saved_bytes(&probe, B, L, rope));
    /* v, att, lse; q, k where nothing follows the split; qn, kn and two rstd; qr, kr */
    size_t expect = 2 * n + rows;
    if (!qk_norm && !rope) expect += 2 * n;
    if (qk_norm) expect += 2 * n + 2 * rows;
    if (rope) expect += 2 * n;
    CHECK(kept == expect);
    CHECK(released == (qk_norm || rope));
    CHECK(finite);
  }
}
