/* The emulators' random context mask (src/context_mask.h), against the law of
 * the reference's random_context_mask: n = Poisson(λ) mod (L − atleast) + atleast
 * context states, at the start with probability ρ, else at the end. */
#include <math.h>
#include <stdlib.h>

#include "../../src/context_mask.h"
#include "harness.h"

TEST(stage_train_context_mask_law) {
  enum { L = 5, DRAWS = 20000 };
  const context_config c = {.lmbda = 1.5, .rho = 0.66, .atleast = 1};
  /* P(n) from the Poisson pmf folded modulo L − atleast. */
  double want[L + 1] = {0};
  double pk = exp(-c.lmbda);
  for (int k = 0; k < 60; k++) {
    want[k % (L - c.atleast) + c.atleast] += pk;
    pk *= c.lmbda / (k + 1);
  }
  long count[L + 1] = {0}, forward = 0;
  rng_key key = {.seed = 11, .purpose = RNG_MASK, .step = 3};
  bool ok_shape = true;
  for (long s = 0; s < DRAWS; s++) {
    bool known[L];
    int n = context_draw(&c, L, key, (uint64_t)s, known);
    count[n]++;
    int first_known = known[0];
    forward += first_known && !known[L - 1];
    /* contiguous block of n states at one end */
    int total = 0;
    for (int l = 0; l < L; l++) total += known[l];
    ok_shape &= total == n && n >= c.atleast && n < L;
    for (int l = 0; l < L; l++) ok_shape &= known[l] == (first_known ? l < n : l >= L - n);
  }
  CHECK(ok_shape);
  for (int n = 1; n < L; n++) {
    double sigma = sqrt(want[n] * (1 - want[n]) / DRAWS);
    CHECK_NEAR((double)count[n] / DRAWS, want[n], 4 * sigma + 1e-9);
  }
  CHECK(count[0] == 0 && count[L] == 0);
  /* forward when the first state is known and the last is not (n < L always) */
  CHECK_NEAR((double)forward / DRAWS, c.rho, 4 * sqrt(c.rho * (1 - c.rho) / DRAWS));
}

TEST(stage_train_context_mask_is_a_function_of_the_sample) {
  const context_config c = {.lmbda = 1.0, .rho = 0.5, .atleast = 2};
  rng_key key = {.seed = 5, .purpose = RNG_MASK, .step = 9};
  bool a[6], b[6];
  int differ = 0;
  for (uint64_t s = 0; s < 64; s++) {
    int na = context_draw(&c, 6, key, s, a), nb = context_draw(&c, 6, key, s, b);
    CHECK(na == nb && na >= 2);
    for (int l = 0; l < 6; l++) CHECK(a[l] == b[l]);
    bool other[6];
    context_draw(&c, 6, key, s + 1, other);
    for (int l = 0; l < 6; l++) differ += other[l] != a[l];
  }
  CHECK(differ > 0); /* samples do not all share one mask */
}

TEST(stage_train_context_mask_fill_layout) {
  bool known[3] = {true, false, true};
  float mask[2 * 3 * 4];
  context_mask_fill(mask, known, 2, 3, 4);
  for (int ch = 0; ch < 2; ch++)
    for (int l = 0; l < 3; l++)
      for (int p = 0; p < 4; p++) CHECK(mask[(ch * 3 + l) * 4 + p] == (known[l] ? 1.0f : 0.0f));
}
