#include "context_mask.h"

#include <string.h>

int context_draw(const context_config *c, int L, rng_key key, uint64_t sample, bool *known) {
  rng_stream s = rng_stream_at(key, sample);
  int64_t poisson = rng_next_poisson(&s, c->lmbda);
  bool forward = rng_next_uniform(&s) < c->rho;
  int n = (int)(poisson % (L - c->atleast)) + c->atleast;
  for (int l = 0; l < L; l++) known[l] = forward ? l < n : l >= L - n;
  return n;
}

void context_mask_fill(float *mask, const bool *known, int64_t channels, int L, int64_t points) {
  for (int64_t ch = 0; ch < channels; ch++)
    for (int l = 0; l < L; l++) {
      float v = known[l] ? 1.0f : 0.0f;
      float *row = mask + (ch * L + l) * points;
      for (int64_t p = 0; p < points; p++) row[p] = v;
    }
}
