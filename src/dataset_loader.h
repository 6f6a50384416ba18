/* Batches for training: this rank's share of each global batch (parallel/
 * sampler.h), read, augmented (src/augment.h) and preprocessed (src/preprocess.h)
 * into one of two buffers while the caller computes on the other.
 *
 * With prefetch, a helper thread (src/batch_prefetch.h) reads batch s+1 as
 * soon as batch s is handed out. The thread reads through files opened by this
 * process alone (POSIX driver): it makes no MPI call, so MPI_THREAD_FUNNELED
 * suffices. The HDF5 build is not thread-safe: the dataset readers take
 * h5_lock (io/h5util.h), so other reads through src/dataset*.h may run
 * meanwhile; any other HDF5 call must take h5_lock too, or call loader_wait
 * first. */
#ifndef LOLA_DATASET_LOADER_H
#define LOLA_DATASET_LOADER_H

#include <stdbool.h>

#include "../parallel/sampler.h"
#include "augment.h"
#include "batch_prefetch.h"
#include "dataset.h"
#include "preprocess.h"

typedef struct {
  dataset *ds;
  dist_sampler sampler;
  preprocess pre;
  augment_config aug;
  augment_layout lay;
  size_t state_floats; /* per item */
  int label_dim;
  float *state[2], *label[2], *scratch;
  batch_ticket want, next;
  batch_prefetch prefetch;
} batch_loader;

/* Open `spec` (per process when prefetching) and sample `global_batch` items
 * per step over the world's ranks. `pre` and `aug` are copied; aug may be NULL. */
void loader_init(batch_loader *l, const dataset_spec *spec, const preprocess *pre, const augment_config *aug,
                 long global_batch, uint64_t seed, bool shuffle, bool prefetch);
/* The batch of `step`: local_batch items, state (local_batch x state_floats) and
 * labels (local_batch x label_dim). Valid until the next call. */
void loader_next(batch_loader *l, long step, float **state, float **label);
/* Wait until no read is in flight. */
void loader_wait(batch_loader *l);
void loader_free(batch_loader *l);

#endif
