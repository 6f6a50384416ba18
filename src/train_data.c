#include "train_data.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

static void alloc_buffers(sample_source *s) {
  size_t n = (size_t)s->L * (size_t)s->points * (size_t)s->C;
  s->window = lola_malloc(sizeof(float) * n, "training sample");
  s->scratch = lola_malloc(sizeof(float) * n, "augmentation scratch");
  s->label_buf = lola_malloc(sizeof(float) * (size_t)(s->label_dim + 1), "sample label");
}

void source_open_pixels(sample_source *s, const deck *d, const char *split, int steps, int stride,
                        uint64_t seed, bool posix) {
  memset(s, 0, sizeof *s);
  dataset_setup_from_deck(&s->setup, d, split, steps, stride, seed);
  s->setup.spec.posix = posix;
  s->ds = dataset_open(&s->setup.spec);
  dataset_setup_check(&s->setup, d, s->ds);
  if (!s->setup.pre.normalize)
    deck_fail(d, "dataset.stats.mean",
              "training needs the per-field statistics dataset.stats = {mean = [...]; std = [...];} "
              "(the stats stage writes them)");
  s->L = steps;
  s->C = dataset_channels(s->ds);
  s->ndims = dataset_ndims(s->ds);
  for (int k = 0; k < s->ndims; k++) s->shape[k] = dataset_shape(s->ds, k);
  s->points = dataset_points(s->ds);
  s->label_dim = dataset_label_dim(s->ds);
  const augment_config *a = &s->setup.aug;
  s->can_augment = a->flip || a->permute || a->roll;
  if (s->can_augment) augment_layout_from_dataset(&s->lay, s->ds, a);
  alloc_buffers(s);
}

void source_open_latents(sample_source *s, int nfiles, const char *const *files, int steps, int stride,
                         bool posix) {
  memset(s, 0, sizeof *s);
  s->latent = true;
  s->lc = latent_open(nfiles, files, steps, stride, posix);
  s->L = steps;
  s->C = latent_channels(s->lc);
  s->points = latent_points(s->lc);
  s->label_dim = latent_label_dim(s->lc);
  alloc_buffers(s);
}

void source_close(sample_source *s) {
  if (s->latent) {
    latent_close(s->lc);
  } else {
    dataset_close(s->ds);
    dataset_setup_free(&s->setup);
  }
  free(s->window);
  free(s->scratch);
  free(s->label_buf);
  memset(s, 0, sizeof *s);
}

long source_len(const sample_source *s) { return s->latent ? latent_len(s->lc) : dataset_len(s->ds); }

void source_sample(sample_source *s, long index, bool augment, int64_t step, uint64_t sample, float *x,
                   float *label) {
  const long P = s->points;
  const int L = s->L, C = s->C;
  if (s->latent) {
    /* stored (L, C, P): x[c][l] = window[l][c] */
    latent_window(s->lc, index, s->window, label);
    for (int l = 0; l < L; l++)
      for (int c = 0; c < C; c++)
        memcpy(x + ((size_t)c * L + l) * P, s->window + ((size_t)l * C + c) * P, sizeof(float) * P);
    return;
  }
  /* stored (L, P, C) channel-last; augmentations read the boundary conditions in the label */
  if (!label) label = s->label_buf;
  dataset_window(s->ds, index, s->window, label);
  if (augment && s->can_augment)
    augment_window(&s->setup.aug, &s->lay, (long)step, (long)sample, s->window, label, s->scratch);
  preprocess_apply(&s->setup.pre, s->window, (size_t)L * (size_t)P);
  for (int l = 0; l < L; l++)
    for (long p = 0; p < P; p++) {
      const float *in = s->window + ((size_t)l * P + p) * C;
      for (int c = 0; c < C; c++) x[((size_t)c * L + l) * P + p] = in[c];
    }
}
