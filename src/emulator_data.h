/* The data of the emulator stages (train_surrogate, train_diffusion), as the
 * reference's experiments/train_{surrogate,diffusion}.py build it:
 *  - with `<g>.ae_run`: the latent caches <ae_run>/cache/<physics>/<split>/ files
 *    that cache_latents made with that run's autoencoder (a cache recording
 *    other weights is refused), windows of trajectory.length states
 *    trajectory.stride apart, used as stored;
 *  - without: physical windows, augmented and preprocessed.
 * Each sample is x (C, L, *grid) — the reference's "B L ... C -> B C L ..." —
 * with its label and a random context mask (src/context_mask.h) keyed by
 * (seed, RNG_MASK, step, global sample index). */
#ifndef LOLA_EMULATOR_DATA_H
#define LOLA_EMULATOR_DATA_H

#include <stdbool.h>
#include <stdint.h>

#include "context_mask.h"
#include "deck.h"
#include "staging.h"
#include "train_common.h"
#include "train_data.h"

typedef struct {
  sample_source train, valid;
  bool latent;
  context_config context;
  int L, C, label_dim, spatial; /* spatial = grid dims + 1 (time) */
  int64_t shape[4];             /* (L, *grid) */
  long per_sample;              /* C · L · points */
  char describe[512];           /* for the fingerprint and messages */
  bool *known;
} emulator_data;

/* Collective. Group `g` ("train_surrogate"), data seed `seed`; `posix`: files
 * opened by each process alone, for reads on a helper thread. */
void emulator_data_open(emulator_data *e, const deck *d, const char *g, uint64_t seed, bool posix);
void emulator_data_close(emulator_data *e);

/* Samples items[0..count) of a step into x and mask (count · per_sample) and
 * label (count · label_dim); sample i has global index first + i. Training
 * batches are augmented (pixels); `mask_seed` keys the context masks. */
void emulator_batch(emulator_data *e, const long *items, int count, bool training, int64_t step,
                    uint64_t first, uint64_t mask_seed, float *x, float *mask, float *label);

/* A batch filled on the host, in one of two buffers, and read by the kernels
 * (src/staging.h). */
typedef struct {
  staged x, mask, label;
} emulator_buffers;

void emulator_buffers_init(emulator_buffers *b, const emulator_data *e, int64_t batch, const char *what);
void emulator_buffers_free(emulator_buffers *b);
/* The batch of ticket t (src/train_loop.h) into host buffer `buffer` of b:
 * emulator_batch with the batch's first sample index and seed
 * (train_batch_first, train_batch_seed); may run on the prefetch thread.
 * `stage` names the caller in errors. */
void emulator_batch_fill(emulator_data *e, emulator_buffers *b, int buffer, const train_spec *spec,
                         const batch_ticket *t, const char *stage);
/* The first `count` samples of host buffer `buffer` to the kernels' memory (b->*.dev). */
void emulator_batch_upload(const emulator_data *e, emulator_buffers *b, int buffer, int count);
/* What the emulator stages fill alike in their train_spec: the model
 * fingerprint (the model's deck keys and the data's shape), the registries,
 * the dataset sizes and the deck text (returned: free it after training);
 * logs the data line under `stage`. */
char *emulator_train_spec(train_spec *spec, const deck *d, const emulator_data *e, const deck_key *model_keys,
                          param_registry *params, param_registry *buffers, const char *stage);

#endif
