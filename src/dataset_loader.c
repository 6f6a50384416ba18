#include "dataset_loader.h"

#include <stdlib.h>
#include <string.h>

#include "../parallel/comm.h"
#include "error.h"

/* Read, augment and preprocess the items of `step` into buffer b. */
static void load(batch_loader *l, long step, int b) {
  dist_sampler_step(&l->sampler, step, l->indices, l->slots);
  const long n = l->sampler.local_batch;
  const size_t points = l->state_floats / (size_t)l->pre.channels;
  for (long i = 0; i < n; i++) {
    float *x = l->state[b] + (size_t)i * l->state_floats, *y = l->label[b] + (size_t)i * (size_t)l->label_dim;
    dataset_window(l->ds, l->indices[i], x, y);
    /* Keyed by the item's slot in the global batch: the same on any rank count. */
    augment_window(&l->aug, &l->lay, step, l->slots[i], x, y, l->scratch);
    preprocess_apply(&l->pre, x, points);
  }
  l->ready_step[b] = step;
}

static void *helper(void *arg) {
  batch_loader *l = arg;
  pthread_mutex_lock(&l->lock);
  for (;;) {
    while (!l->stop && l->want_step < 0) pthread_cond_wait(&l->cond, &l->lock);
    if (l->stop) break;
    long step = l->want_step;
    int b = l->busy_buf;
    l->want_step = -1;
    pthread_mutex_unlock(&l->lock);
    load(l, step, b);
    pthread_mutex_lock(&l->lock);
    l->busy_buf = -1;
    pthread_cond_broadcast(&l->cond);
  }
  pthread_mutex_unlock(&l->lock);
  return NULL;
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
  l->prefetch = prefetch;
  l->state_floats = dataset_state_floats(l->ds);
  l->label_dim = dataset_label_dim(l->ds);
  const size_t n = (size_t)l->sampler.local_batch;
  for (int b = 0; b < 2; b++) {
    l->state[b] = lola_malloc(n * l->state_floats * sizeof(float), "batch states");
    l->label[b] = lola_malloc(n * (size_t)l->label_dim * sizeof(float), "batch labels");
    l->ready_step[b] = -1;
  }
  l->scratch = lola_malloc(l->state_floats * sizeof(float), "augmentation scratch");
  l->indices = lola_malloc(n * sizeof(long), "batch indices");
  l->slots = lola_malloc(n * sizeof(long), "batch slots");
  l->want_step = -1;
  l->busy_buf = -1;
  l->current = 1;
  if (prefetch) {
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->cond, NULL);
    if (pthread_create(&l->thread, NULL, helper, l) != 0)
      lola_die(LOLA_EXIT_RUNTIME, "loader: cannot start the prefetch thread");
  }
}

void loader_wait(batch_loader *l) {
  if (!l->prefetch) return;
  pthread_mutex_lock(&l->lock);
  while (l->busy_buf >= 0) pthread_cond_wait(&l->cond, &l->lock);
  pthread_mutex_unlock(&l->lock);
}

void loader_next(batch_loader *l, long step, float **state, float **label) {
  int b = 1 - l->current; /* the buffer the caller is not using */
  loader_wait(l);
  if (l->ready_step[b] != step) load(l, step, b); /* first step, or a jump */
  l->current = b;
  if (l->prefetch) { /* read the next batch into the other buffer meanwhile */
    pthread_mutex_lock(&l->lock);
    l->busy_buf = 1 - b;
    l->want_step = step + 1;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->lock);
  }
  *state = l->state[b];
  *label = l->label[b];
}

void loader_free(batch_loader *l) {
  if (l->prefetch) {
    loader_wait(l);
    pthread_mutex_lock(&l->lock);
    l->stop = true;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->lock);
    pthread_join(l->thread, NULL);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->cond);
  }
  dataset_close(l->ds);
  dist_sampler_free(&l->sampler);
  for (int b = 0; b < 2; b++) free(l->state[b]), free(l->label[b]);
  free(l->scratch);
  free(l->indices);
  free(l->slots);
  memset(l, 0, sizeof *l);
}
