/* Latent caches in the reference's layout (lola/data.py MiniWellDataset):
 * datasets `state` (N, L, C, H, W) and `label` (N, D), float32, one file per
 * cache shard, several shards concatenated. A sample is a window of `steps`
 * latent states `stride` apart: (steps, C, H, W) as stored, and its label.
 * Index space: file, trajectory, start — N * (L - (steps - 1) * stride) per file. */
#ifndef LOLA_DATASET_LATENT_H
#define LOLA_DATASET_LATENT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct latent_cache latent_cache;

/* Collective over the world unless `posix`. Errors (missing dataset, wrong
 * rank/dtype/shape, shards that disagree, a window longer than the
 * trajectories) name the file and dataset and exit with code 3. */
latent_cache *latent_open(int nfiles, const char *const *files, int steps, int stride, bool posix);
void latent_close(latent_cache *lc);

long latent_len(const latent_cache *lc);
long latent_trajectories(const latent_cache *lc);
long latent_length(const latent_cache *lc, long trajectory); /* L of its shard */
int latent_channels(const latent_cache *lc);
long latent_points(const latent_cache *lc); /* product of the spatial sizes */
int latent_label_dim(const latent_cache *lc);
size_t latent_state_floats(const latent_cache *lc); /* steps * C * points */

/* Independent reads; either output may be NULL. */
void latent_window(latent_cache *lc, long index, float *state, float *label);
void latent_trajectory(latent_cache *lc, long trajectory, long start, long count, int stride, float *state,
                       float *label);

#endif
