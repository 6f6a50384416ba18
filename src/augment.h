/* Data augmentations of the reference (the_well.data.augmentation, as composed
 * by lola.data.compose_augmentation), applied to a channel-last window
 * (steps, shape..., channels) and its label, in the order flip, permute, roll:
 *  - random_axis_flip: each spatial axis reversed with probability 1/2; the
 *    matching component of vector (and tensor) fields changes sign, and the
 *    axis' boundary conditions swap sides in the label;
 *  - random_axis_permute: a uniformly random permutation of the spatial axes
 *    (new axis i = old axis perm[i]), vector components and the label's
 *    boundary rows permuted alike; needs equal sizes along the axes;
 *  - random_axis_roll: each axis that is periodic on both sides (read from the
 *    label) rolled by a uniform shift in [0, size).
 * The draws come from the counter-based generator keyed by (seed, step, global
 * sample index), so a sample is augmented alike whatever the rank count. */
#ifndef LOLA_AUGMENT_H
#define LOLA_AUGMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "dataset.h"

enum { AUGMENT_MAX_CHANNELS = 64 };

typedef struct {
  bool flip, permute, roll;
  uint64_t seed;
} augment_config;

/* What augmentations need to know of a window. */
typedef struct {
  int ndims;
  long shape[3];
  int steps, channels;
  int order[AUGMENT_MAX_CHANNELS], field[AUGMENT_MAX_CHANNELS], comp[AUGMENT_MAX_CHANNELS];
  int label_scalars; /* boundary rows start after these */
} augment_layout;

/* From an open dataset; dies (deck error) when `cfg` asks for a permutation the
 * data cannot take (unequal sizes, a vector field with components missing). */
void augment_layout_from_dataset(augment_layout *lay, const dataset *ds, const augment_config *cfg);

/* The random choices for one sample (exposed for tests). */
typedef struct {
  bool flip[3];
  int perm[3];
  long shift[3]; /* 0 where the axis is not rolled */
} augment_draw;
augment_draw augment_choose(const augment_config *cfg, const augment_layout *lay, long step, long sample,
                            const float *label);

/* Apply the draw of (step, sample) to `state` and `label` in place; `scratch`
 * holds steps * points * channels floats. */
void augment_window(const augment_config *cfg, const augment_layout *lay, long step, long sample,
                    float *state, float *label, float *scratch);
/* Apply a given draw (tests). */
void augment_apply(const augment_layout *lay, const augment_draw *draw, bool permute, float *state,
                   float *label, float *scratch);

#endif
