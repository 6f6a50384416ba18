/* Per-channel statistics of a dataset after the field transforms (the
 * reference's experiments/get_stats.py, over the whole split instead of a
 * random subset): mean and population standard deviation, plus min and max.
 *
 * Each rank accumulates a contiguous share of the states with Welford's
 * update per state (two-pass within a state), and the shares are merged with
 * Chan et al.'s pairwise formula in rank order, so the result agrees with a
 * single rank to rounding (~1e-12 relative), whatever the rank count. */
#ifndef LOLA_DATASET_STATS_H
#define LOLA_DATASET_STATS_H

#include "dataset.h"
#include "preprocess.h"

typedef struct {
  int channels;
  long count; /* values per channel: states x points */
  double mean[PREPROCESS_MAX_CHANNELS], std[PREPROCESS_MAX_CHANNELS];
  double min[PREPROCESS_MAX_CHANNELS], max[PREPROCESS_MAX_CHANNELS];
} field_stats;

/* Running moments of one channel. */
typedef struct {
  double n, mean, m2, min, max;
} moments;

/* Chan, Golub & LeVeque (1979): merge b into a. */
void moments_merge(moments *a, const moments *b);

/* Collective over the world. Every window's states (open the dataset with
 * steps = 1 to count each state once) after p's transforms (and normalisation
 * when p->normalize). Progress on rank 0. */
void dataset_field_stats(dataset *ds, const preprocess *p, field_stats *out);

/* The libconfig snippet a dataset preset can @include inside its `dataset`
 * group (stats = { mean = [...]; std = [...]; };), with min/max as comments.
 * Rank 0 writes it atomically. */
void field_stats_write_cfg(const field_stats *st, const dataset *ds, const char *what, const char *path);

#endif
