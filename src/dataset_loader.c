#include "dataset_loader.h"

#include <stdlib.h>
#include <string.h>

#include "../parallel/comm.h"
#include "error.h"

/* Read, augment and preprocess the items of ticket t into buffer b. */
static void load(void *user, int b, const batch_ticket *t) {
  batch_loader *l = user;
  const size_t points = l->state_floats / (size_t)l->pre.channels;
  for (int i = 0; i < t->count; i++) {
    float *x = l->state[b] + (size_t)i * l->state_floats, *y = l->label[b] + (size_t)i * (size_t)l->label_dim;
    dataset_window(l->ds, t->items[i], x, y);
    /* Keyed by the item's slot in the global batch: the same on any rank count. */
    augment_window(&l->aug, &l->lay, (long)t->step, t->slots[i], x, y, l->scratch);
    preprocess_apply(&l->pre, x, points);
  }
}

void loader_init(batch_loader *l, const dataset_spec *spec, const preprocess *pre, const augment_config *aug,
                 long global_batch, uint64_t seed, bool shuffle, bool prefetch) {
  memset(l, 0, sizeof *l);
  dataset_spec s = *spec;
  s.posix = spec->posix || prefetch; /* the helper thread may not make MPI calls */
  l->ds = dataset_open(&s);
  l->pre = *pre;
  if (l->pre.channels != dataset_channels(l->ds))
    lola_die(LOLA_EXIT_RUNTIME, "loader: preprocessing for %d channels, data has %d", l->pre.channels,
             dataset_channels(l->ds));
  if (aug) l->aug = *aug;
  augment_layout_from_dataset(&l->lay, l->ds, &l->aug);
  dist_sampler_init(&l->sampler, dataset_len(l->ds), global_batch, seed, shuffle, comm_rank(), comm_size());
  l->state_floats = dataset_state_floats(l->ds);
  l->label_dim = dataset_label_dim(l->ds);
  const long n = l->sampler.local_batch;
  for (int b = 0; b < 2; b++) {
    l->state[b] = lola_malloc((size_t)n * l->state_floats * sizeof(float), "batch states");
    l->label[b] = lola_malloc((size_t)n * (size_t)l->label_dim * sizeof(float), "batch labels");
  }
  l->scratch = lola_malloc(l->state_floats * sizeof(float), "augmentation scratch");
  batch_ticket *t[2] = {&l->want, &l->next};
  for (int k = 0; k < 2; k++) {
    t[k]->training = true;
    t[k]->count = (int)n;
    t[k]->items = lola_malloc(sizeof(long) * (size_t)n, "batch indices");
    t[k]->slots = lola_malloc(sizeof(long) * (size_t)n, "batch slots");
  }
  prefetch_init(&l->prefetch, load, l, n, prefetch);
}

void loader_wait(batch_loader *l) { prefetch_wait(&l->prefetch); }

void loader_next(batch_loader *l, long step, float **state, float **label) {
  l->want.step = step;
  dist_sampler_step(&l->sampler, step, l->want.items, l->want.slots);
  l->next.step = step + 1;
  dist_sampler_step(&l->sampler, step + 1, l->next.items, l->next.slots);
  int b = prefetch_take(&l->prefetch, &l->want, &l->next);
  *state = l->state[b];
  *label = l->label[b];
}

void loader_free(batch_loader *l) {
  prefetch_free(&l->prefetch);
  dataset_close(l->ds);
  dist_sampler_free(&l->sampler);
  for (int b = 0; b < 2; b++) free(l->state[b]), free(l->label[b]);
  free(l->scratch);
  free(l->want.items), free(l->want.slots), free(l->next.items), free(l->next.slots);
  memset(l, 0, sizeof *l);
}
