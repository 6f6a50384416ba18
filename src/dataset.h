/* A Well dataset as the reference sees it (lola/data.py get_well_multi_dataset
 * over the_well's WellDataset): the HDF5 files of one split of one or several
 * physics, concatenated, cut into windows of `steps` states `stride` apart.
 *
 * Index space: for every file (in physics order, then file-name order), every
 * trajectory, every valid start t (t + (steps - 1) * stride < n_steps), in that
 * order — the reference's flat index.
 *
 * A window is returned channel-last, as the reference's `input_fields`:
 *   state[l][x][y][c]  (steps, shape[0], shape[1], channels), float32,
 * and a label vector as lola.data.get_well_inputs: the constant scalars of the
 * file (scalars/@field_names order, optionally logged), then the boundary
 * conditions flattened (axis 0 low, axis 0 high, axis 1 low, ...; WALL = 0,
 * OPEN = 1, PERIODIC = 2).
 *
 * Channels follow the deck's field list, each name a channel name in the_well's
 * style ("density", "momentum_x"); without a list, every time-varying field in
 * file order (t0 fields, then t1 components, then t2). Fields that do not vary
 * over samples, time or a dimension are broadcast.
 *
 * Reads are hyperslab selections of the open files. With MPI-IO the files are
 * opened collectively over the world and windows are read with independent I/O;
 * the POSIX mode opens them per process, for a helper thread (prefetch). */
#ifndef LOLA_DATASET_H
#define LOLA_DATASET_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
  const char *root; /* the reference's server.datasets */
  int nphysics;     /* 0: root is the physics folder itself */
  const char *const *physics;
  const char *split; /* "train", "valid", "test" */
  int ninclude, nexclude;
  const char *const *include, *const *exclude; /* substrings of file names */
  int nfields;                                 /* 0: every time-varying field */
  const char *const *fields;
  int nlog_scalars; /* constant scalars logged in the label (case-insensitive) */
  const char *const *log_scalars;
  int steps;  /* states per window; 0: whole trajectories (the reference's steps = -1) */
  int stride; /* time steps between states of a window (>= 1) */
  bool posix; /* open files per process (helper thread) instead of MPI-IO over the world */
} dataset_spec;

typedef struct dataset dataset;

/* Collective (over the world unless spec->posix). Validates every file; errors
 * name the file and the dataset path and end the job with exit code 3. */
dataset *dataset_open(const dataset_spec *spec);
void dataset_close(dataset *ds); /* collective like dataset_open */

long dataset_len(const dataset *ds); /* number of windows */
int dataset_steps(const dataset *ds);
int dataset_stride(const dataset *ds);
int dataset_channels(const dataset *ds);
int dataset_ndims(const dataset *ds);
long dataset_shape(const dataset *ds, int axis); /* grid points along spatial axis */
long dataset_points(const dataset *ds);          /* product of the spatial shape */
int dataset_label_dim(const dataset *ds);
int dataset_label_scalars(const dataset *ds);   /* leading scalar entries of the label */
size_t dataset_state_floats(const dataset *ds); /* steps * points * channels */
const char *dataset_channel_name(const dataset *ds, int c);
/* Tensor order of channel c's field (0 scalar, 1 vector, 2 tensor), its field
 * id (equal for components of one field) and its component index. */
void dataset_channel_kind(const dataset *ds, int c, int *order, int *field, int *component);

/* Which file, trajectory (within the file) and start step window `index` is. */
void dataset_locate(const dataset *ds, long index, int *file, long *trajectory, long *start);
int dataset_files(const dataset *ds);
const char *dataset_file_path(const dataset *ds, int file);

/* Independent: read window `index` into state (dataset_state_floats) and label
 * (dataset_label_dim); either may be NULL. */
void dataset_window(dataset *ds, long index, float *state, float *label);

/* Whole trajectories, for evaluation. Trajectories are numbered across files. */
long dataset_trajectories(const dataset *ds);
long dataset_trajectory_steps(const dataset *ds, long trajectory);
/* Independent: `count` states from `start`, `stride` apart, channel-last
 * (count, shape..., channels), and the label. Dies (data) when out of range. */
void dataset_trajectory(dataset *ds, long trajectory, long start, long count, int stride, float *state,
                        float *label);

/* Collective over the world (MPI-IO datasets): every rank asks for the same
 * states, read once with collective I/O and shared — evaluation's case, where
 * all ranks start their ensemble members from one trajectory. */
void dataset_trajectory_collective(dataset *ds, long trajectory, long start, long count, int stride,
                                   float *state, float *label);

#endif
