/* The common training loop of the four training stages (the reference's
 * experiments/train_*.py), data-parallel over the ranks:
 *
 *   epochs of `epoch_size` samples in optimiser steps of the global
 *   `batch_size`; each rank takes batch_size / ranks samples of every step (the
 *   distributed sampler), in `accumulation` micro-batches; gradients averaged
 *   across ranks, block by block while the last micro-batch's backward runs
 *   (parallel/grad_sync.h), then clipped, checked for
 *   non-finite norm and applied (AdamW, learning rate scheduled per epoch);
 *   validation on `valid_size` samples every epoch; the checkpoint "last" (and
 *   "best" when the validation loss improves) and a metrics row every epoch;
 *   a progress line on rank 0. With spec->prefetch, each batch (micro-batches,
 *   validation batches alike) is read on a helper thread while the one
 *   before it computes. With spec->shard_optimizer each rank receives the
 *   mean gradients of its share of the weights only and keeps their AdamW
 *   moments (ZeRO-1, parallel/shard.h, parallel/grad_sync.h); checkpoints
 *   gather the moments: the same weights and checkpoints either way.
 *
 * The union of a step's samples over ranks is the batch one rank would draw,
 * and every random number a sample sees is keyed by (seed, purpose, step,
 * global sample index), so N ranks follow 1 rank to floating-point
 * reassociation, and a resumed run redoes exactly the steps it lost. */
#ifndef LOLA_TRAIN_LOOP_H
#define LOLA_TRAIN_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "../kernels/optim.h"
#include "batch_prefetch.h"
#include "tensor.h"

typedef struct {
  /* Read batch `t` into host buffer `buffer` (0 or 1): t->count samples, the
   * dataset indices t->items, positions in the global batch t->slots (sample
   * i's index is t->step · batch_size + t->slots[i] in training); t->step and
   * the sample index key the sample's randomness. Runs on the prefetch thread
   * (src/batch_prefetch.h) while the previous batch computes: no MPI, and no
   * state shared with `loss`. */
  void (*fill)(void *user, int buffer, const batch_ticket *t);
  /* Mean loss over the batch `t` held in host buffer `buffer`; when
   * t->training, also accumulate the gradient of grad_scale · that loss into
   * the registry's grads. */
  double (*loss)(void *user, int buffer, const batch_ticket *t, double grad_scale);
  void *user;
} train_objective;

typedef struct {
  const char *stage;          /* for messages: "train_ae" */
  const char *dir;            /* <run.dir>/<stage>: checkpoints, metrics.csv */
  const char *deck_text;      /* saved beside each checkpoint */
  uint64_t model_fingerprint; /* of the deck keys that shape the model */
  param_registry *params;
  param_registry *buffers; /* saved and restored with the weights; may be NULL */
  /* Parameters whose name starts with one of these are frozen (fork.freeze). */
  int nfrozen;
  const char *const *frozen_prefixes;
  adamw_config optim;
  lr_schedule_kind schedule;
  int64_t warmup;
  int64_t epochs, epoch_size, batch_size, accumulation;
  int64_t valid_size, valid_batch_size;
  long train_len, valid_len; /* dataset windows */
  uint64_t seed;
  bool resume;
  bool prefetch;        /* fill the next batch on a helper thread */
  bool shard_optimizer; /* ZeRO-1 (parallel/shard.h) on more than one rank */
} train_spec;

/* Collective. Validates divisibility (deck errors name the train.* keys),
 * resumes from <dir>/last when spec->resume and it exists, trains, and leaves
 * the last and best checkpoints and metrics.csv in spec->dir. Returns the final
 * validation loss. */
double train_run(const train_spec *spec, const train_objective *obj);

#endif
