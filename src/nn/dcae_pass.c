/* Helpers shared by the DCAE modules (src/nn/dcae_pass.h). */
#include "dcae_pass.h"

#include "../../kernels/vector.h"

void dcae_init_uniform(float *w, int64_t n, double bound, rng_key key, int param_index) {
  rng_key k = {.seed = key.seed, .purpose = RNG_INIT, .step = 0};
  rng_uniform(w, n, k, (uint64_t)param_index, 0);
  for (int64_t i = 0; i < n; i++) w[i] = (float)(bound * (2.0 * w[i] - 1.0));
}

void dcae_add(float *y, const float *x, int64_t n) { k_add(y, x, n); }
