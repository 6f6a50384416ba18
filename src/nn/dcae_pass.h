/* What a forward or backward pass of the DCAE modules (conv module, ResBlock,
 * encoder, decoder, autoencoder) works with, passed down the module tree.
 *
 * Two arenas:
 *   act      activations the backward needs; each forward allocates its outputs
 *            and saved tensors here, the training step resets it once per step;
 *   scratch  temporaries (conv workspaces, intermediate gradients), used as a
 *            stack: a module takes a mark, allocates, and rolls back to the mark
 *            before it returns, so the scratch high water is the deepest stack.
 *
 * Both may be device arenas (arena_init_device): the modules touch arrays
 * through the kernels only (kernels/kernels.h), so the pass runs on any
 * backend; host pointer tables (layer lists) never live in them.
 *
 * A backward must be given the same pass as its forward (its dropout masks are
 * regenerated from the pass's keys, not stored).
 *
 * Dropout draws from the counter-based generator: layer `l` of the model uses
 * key {seed + l·φ, RNG_DROPOUT, step} and the global index of each sample, so
 * a sample's mask does not depend on the rank count. */
#ifndef LOLA_NN_DCAE_PASS_H
#define LOLA_NN_DCAE_PASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../kernels/rng.h"
#include "../tensor.h"

typedef struct {
  arena *act;
  arena *scratch;
  bool train;            /* dropout active (torch's module.train()) */
  bool inference;        /* no backward follows: a DCAE keeps only the tensor in flight (bounded memory) */
  uint64_t seed;         /* run seed, for dropout keys */
  uint32_t step;         /* training step, for dropout keys */
  uint64_t first_sample; /* global index of the batch's first sample */
} dcae_pass;

/* Bytes an arena hands out for `floats` floats (allocations are rounded up to ARENA_ALIGN). */
static inline size_t dcae_arena_bytes(int64_t floats) {
  size_t b = (size_t)floats * sizeof(float);
  return (b + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
}

static inline size_t dcae_max_size(size_t a, size_t b) { return a > b ? a : b; }

/* The dropout key of layer `layer` (a model-wide unique number) at this pass. */
static inline rng_key dcae_dropout_key(const dcae_pass *p, uint64_t layer) {
  rng_key k = {.seed = p->seed + layer * 0x9E3779B97F4A7C15ull, .purpose = RNG_DROPOUT, .step = p->step};
  return k;
}

/* Spatial extents of an activation (the batch and channels are kept apart). */
typedef struct {
  int dims;
  int64_t ext[3];
} dcae_grid;

static inline int64_t dcae_grid_volume(const dcae_grid *g) {
  int64_t v = 1;
  for (int d = 0; d < g->dims; d++) v *= g->ext[d];
  return v;
}

/* w[0..n) ← U(-bound, bound) on the HOST (parameter initialisation runs
 * before params_to_device), drawn from {key.seed, RNG_INIT} with the
 * parameter's registry index as the sample index: each parameter has its own
 * numbers, the same on every rank. */
void dcae_init_uniform(float *w, int64_t n, double bound, rng_key key, int param_index);

/* y += x over n floats (residual connections): k_add, on the active backend. */
void dcae_add(float *y, const float *x, int64_t n);

#endif
