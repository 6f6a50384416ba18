/* The trained emulators behind src/rollout.h's `emulator` callback, as the
 * reference's emulate_surrogate / emulate_diffusion (lola/emulation.py): the
 * observed states are placed at the start of the window, y = 0 elsewhere,
 * with the boolean context mask (B, C, L, *grid);
 *   surrogate  out = surrogate(y, mask, label)
 *   diffusion  out = sampler over the MaskedDenoiser(denoiser, y, mask)
 *              (src/denoiser.h denoiser_masked_forward: observed entries clamped).
 * The rollout's arrays are state-major (B, L, C·points); the models' are
 * channel-first with time as the first token axis (B, C, L, points): the
 * adapter transposes both ways.
 *
 * The sampler's numbers are keyed by (seed, window start, draw, member id):
 * set `ids` (one per batch entry) before each rollout, and a member's
 * trajectory is the same whichever batch or rank computes it.
 *
 * The model's parameters and every buffer here live in the active kernel
 * backend's memory (kernels/backend.h): the observations and outputs of the
 * callback are host arrays, moved with one upload and one download per window. */
#ifndef LOLA_EVAL_EMULATORS_H
#define LOLA_EVAL_EMULATORS_H

#include <stdint.h>

#include "diffusion_sampler.h"
#include "eval_model.h"
#include "rollout.h"

typedef struct {
  eval_model *m;
  sampler_config sampler; /* diffusion */
  int max_batch;
  /* per rollout: the batch's size, member ids, the sampler seed, the label */
  int batch;
  const uint64_t *ids;
  uint64_t seed;
  const float *label; /* label_dim floats, shared by the batch; NULL without */
  /* buffers of max_batch windows, on the device (kernels/backend.h) except t,
   * the host array of per-sample times the denoiser takes; var is unused (NULL);
   * stage stages the host observations in and the state-major windows out */
  float *y, *mask, *x, *labels, *t, *var, *work, *stage;
  int64_t shape[4];
  arena act;
} eval_emulator;

/* For the surrogate or diffusion model m, batches up to max_batch. */
void eval_emulator_init(eval_emulator *e, eval_model *m, int max_batch, const sampler_config *sampler);
void eval_emulator_free(eval_emulator *e);
/* The rollout callback over e (set e->batch, ids, seed, label first). */
emulator eval_emulator_callback(eval_emulator *e);

#endif
