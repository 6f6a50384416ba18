/* The emulators' random context mask (the reference's
 * lola/emulation.py random_context_mask): for a trajectory of L states,
 *
 *   n = Poisson(λ) mod (L − atleast) + atleast      context states
 *   forward with probability ρ: the first n states are the context,
 *   otherwise the last n (emulating backward in time).
 *
 * Draws come from the counter-based stream of (key, global sample index), so a
 * sample's mask does not depend on the rank count. */
#ifndef LOLA_CONTEXT_MASK_H
#define LOLA_CONTEXT_MASK_H

#include <stdbool.h>
#include <stdint.h>

#include "../kernels/rng.h"

typedef struct {
  double lmbda, rho;
  int atleast;
} context_config;

/* Which of the L states are context: known[l] = 1 or 0. Returns n. */
int context_draw(const context_config *c, int L, rng_key key, uint64_t sample, bool *known);

/* The mask of one sample as floats over (C, L, points): 1 on context states. */
void context_mask_fill(float *mask, const bool *known, int64_t channels, int L, int64_t points);

#endif
