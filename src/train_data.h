/* Training samples for the training stages, channel-first as the reference's
 * models take them (rearrange "L ... C -> C L ..."): x (C, L, points) and a
 * label (D), from either
 *  - physical data (src/dataset.h): windows of L states, augmented (training
 *    only; draws keyed by (step, global sample index)) and preprocessed
 *    (transforms, then the deck's dataset.stats), or
 *  - a latent cache (src/dataset_latent.h): windows of L latent states, used
 *    as stored (the reference's preprocess = identity).
 * Files are opened collectively with MPI-IO, or by each process alone with
 * `posix` (for reads on a helper thread, which may make no MPI call); samples
 * are read independently. */
#ifndef LOLA_TRAIN_DATA_H
#define LOLA_TRAIN_DATA_H

#include <stdbool.h>
#include <stdint.h>

#include "augment.h"
#include "dataset.h"
#include "dataset_deck.h"
#include "dataset_latent.h"
#include "deck.h"

typedef struct {
  bool latent;
  dataset *ds;
  latent_cache *lc;
  dataset_setup setup;
  augment_layout lay;
  bool can_augment;
  int L, C, ndims;
  long shape[3], points;
  int label_dim;
  float *window, *scratch, *label_buf; /* one sample, as read */
} sample_source;

/* Physical windows of `steps` states `stride` apart from the deck's dataset
 * group, split `split`; augmentations keyed by `seed`. The deck must give
 * dataset.stats (training works on normalised fields). */
void source_open_pixels(sample_source *s, const deck *d, const char *split, int steps, int stride,
                        uint64_t seed, bool posix);
/* Latent windows from cache files. */
void source_open_latents(sample_source *s, int nfiles, const char *const *files, int steps, int stride,
                         bool posix);
void source_close(sample_source *s);

long source_len(const sample_source *s);
static inline long source_sample_floats(const sample_source *s) { return (long)s->C * s->L * s->points; }

/* Sample `index` into x (C, L, points) and label (D; may be NULL); when
 * `augment`, the dataset's augmentations drawn for (step, sample). */
void source_sample(sample_source *s, long index, bool augment, int64_t step, uint64_t sample, float *x,
                   float *label);

#endif
