/* Whether a forward pass trains (dropout active) and where its dropout
 * numbers come from: the key of the training step and the global index of
 * the batch's first sample, so a sample's mask does not depend on the rank
 * count. Each dropout site derives its own key with nn_mode_site_key. */
#ifndef LOLA_NN_MODE_H
#define LOLA_NN_MODE_H

#include <stdbool.h>
#include <stdint.h>

#include "../../kernels/rng.h"

typedef struct {
  bool training;
  rng_key key; /* purpose RNG_DROPOUT, step = the training step */
  uint64_t first_sample;
} nn_mode;

/* Inference: no dropout. */
static inline nn_mode nn_mode_eval(void) { return (nn_mode){.training = false}; }

/* A key of its own for dropout site `site` (e.g. a block index). */
static inline rng_key nn_mode_site_key(const nn_mode *mode, uint64_t site) {
  rng_key k = mode->key;
  k.seed ^= (site + 1) * 0x9E3779B97F4A7C15ull;
  return k;
}

#endif
