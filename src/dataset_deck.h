/* The deck's `dataset` group, shared by every stage that reads physical data.
 * Keys follow the reference's experiments/configs/dataset/ yaml files:
 *   dataset = {
 *     name = "euler_all";                 path = "/data/the_well";  (server.datasets)
 *     physics = ["euler_multi_quadrants_openBC", "euler_multi_quadrants_periodicBC"];
 *     include_filters = []; exclude_filters = [];
 *     dimensions = ["x", "y"];            periodic = false;
 *     fields = ["energy", "density", "pressure", "momentum_x", "momentum_y"];
 *     transform = ["log1p", "log1p", "log1p"];   (per field in order; the yaml's
 *                                                  {0: "log1p", ...}; missing = none)
 *     stats = { mean = [...]; std = [...]; };
 *     augment = ["random_axis_flip", "random_axis_permute", "random_axis_roll"];
 *     log_scalars = ["rayleigh", "prandtl", "rho0"];  (used when augment has "log_scalars")
 *   };
 * Presets under inputs/presets/dataset/ hold the group's body, to be included
 * inside it: dataset = { @include "presets/dataset/euler_all.cfg" path = "..."; }; */
#ifndef LOLA_DATASET_DECK_H
#define LOLA_DATASET_DECK_H

#include <stdint.h>

#include "augment.h"
#include "dataset.h"
#include "deck.h"
#include "preprocess.h"

extern const deck_key dataset_keys[];

typedef struct {
  dataset_spec spec;
  preprocess pre;     /* transforms, and mean/std when the deck has dataset.stats */
  augment_config aug; /* flip / permute / roll from dataset.augment */
  const char **physics, **include, **exclude, **fields, **log_scalars; /* owned arrays */
} dataset_setup;

/* Read the dataset group for `split` with windows of `steps` states `stride`
 * apart (steps 0: whole trajectories); `seed` keys the augmentations. */
void dataset_setup_from_deck(dataset_setup *s, const deck *d, const char *split, int steps, int stride,
                             uint64_t seed);
/* After dataset_open: check the per-field deck lists against the data's
 * channels (deck errors naming the key), and fill pre.channels. */
void dataset_setup_check(dataset_setup *s, const deck *d, const dataset *ds);
void dataset_setup_free(dataset_setup *s);

#endif
