/* Distributed sampler: which dataset items each rank reads in each step.
 *
 * Epoch e is a permutation of [0, n) drawn from the counter-based generator
 * keyed by (seed, RNG_DATA_ORDER, e) — or the identity without shuffling. It is
 * cut into n / global_batch global batches (the incomplete tail is dropped, as
 * the reference's drop_last); rank r of R takes the r-th contiguous block of
 * global_batch / R items of each. So the union over ranks of a step's items is
 * exactly the batch a single rank draws with the same global batch and seed,
 * in the same order, whatever R is. */
#ifndef LOLA_SAMPLER_H
#define LOLA_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
  long n;            /* items in the dataset */
  long global_batch; /* items per step over all ranks */
  long local_batch;  /* global_batch / size */
  int rank, size;
  uint64_t seed;
  bool shuffle;
  long epoch; /* epoch whose permutation is in `order`; -1 none yet */
  long *order;
} dist_sampler;

/* Dies (deck error) unless global_batch is a positive multiple of size and at
 * most n. */
void dist_sampler_init(dist_sampler *s, long n, long global_batch, uint64_t seed, bool shuffle, int rank,
                       int size);
void dist_sampler_free(dist_sampler *s);

long dist_sampler_batches(const dist_sampler *s);

/* This rank's items of global batch `batch` of `epoch`: local_batch indices.
 * Draws the epoch's permutation once, on its first use. */
void dist_sampler_batch(dist_sampler *s, long epoch, long batch, long *indices);
/* The same for a running step count: epoch = step / batches_per_epoch. Also
 * returns the position of each item in the global batch (may be NULL), the
 * global sample index that keys per-sample randomness. */
void dist_sampler_step(dist_sampler *s, long step, long *indices, long *global_slot);

#endif
