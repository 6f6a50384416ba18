#include "dataset_latent.h"

#include <stdlib.h>
#include <string.h>

#include "../io/h5util.h"
#include "error.h"

typedef struct {
  char *path;
  hid_t h5, state, label;
  long n, length, windows_per_traj, first_window, first_traj;
} latent_file;

struct latent_cache {
  int nfiles;
  latent_file *files;
  int steps, stride, rank;     /* rank of `state` */
  hsize_t inner[H5U_MAX_RANK]; /* C, spatial... */
  long channels, points, label_dim, len, ntraj;
  bool posix;
};

static void open_file(latent_cache *lc, latent_file *f, bool first) {
  f->h5 = h5_open_read(f->path, lc->posix ? MPI_COMM_NULL : MPI_COMM_WORLD);
  f->state = h5_open_dataset(f->h5, "state");
  f->label = h5_open_dataset(f->h5, "label");
  h5_require_float(f->state);
  h5_require_float(f->label);
  hsize_t sd[H5U_MAX_RANK], ld[H5U_MAX_RANK];
  int sr = h5_dataset_shape(f->state, sd), lr = h5_dataset_shape(f->label, ld);
  if (sr < 3) h5_fail(f->state, NULL, "expected (N, L, C, spatial...), found %d dimensions", sr);
  if (lr != 2) h5_fail(f->label, NULL, "expected (N, D), found %d dimensions", lr);
  if (ld[0] != sd[0])
    h5_fail(f->label, NULL, "%llu labels for %llu trajectories in /state", (unsigned long long)ld[0],
            (unsigned long long)sd[0]);
  if (first) {
    lc->rank = sr;
    memcpy(lc->inner, sd + 2, sizeof(hsize_t) * (size_t)(sr - 2));
    lc->channels = (long)sd[2];
    lc->points = 1;
    for (int r = 3; r < sr; r++) lc->points *= (long)sd[r];
    lc->label_dim = (long)ld[1];
    if (lc->steps == 0) lc->steps = (int)sd[1];
  }
  bool same = sr == lc->rank && (long)ld[1] == lc->label_dim;
  for (int r = 2; same && r < sr; r++) same = sd[r] == lc->inner[r - 2];
  if (!same) h5_fail(f->state, NULL, "shape differs from the first shard's (channels, grid or label size)");
  f->n = (long)sd[0];
  f->length = (long)sd[1];
  f->windows_per_traj = f->length - (long)(lc->steps - 1) * lc->stride;
  if (f->windows_per_traj < 1)
    h5_fail(f->state, NULL, "trajectories of %ld states are shorter than a window of %d with stride %d",
            f->length, lc->steps, lc->stride);
}

static latent_cache *open_locked(int nfiles, const char *const *files, int steps, int stride, bool posix) {
  bool was = h5_errors_collective(!posix);
  latent_cache *lc = lola_calloc(1, sizeof *lc, "latent cache");
  lc->steps = steps;
  lc->stride = stride;
  lc->posix = posix;
  lc->nfiles = nfiles;
  lc->files = lola_calloc((size_t)nfiles, sizeof *lc->files, "latent files");
  for (int i = 0; i < nfiles; i++) {
    latent_file *f = &lc->files[i];
    f->path = strdup(files[i]);
    open_file(lc, f, i == 0);
    f->first_window = lc->len;
    f->first_traj = lc->ntraj;
    lc->len += f->n * f->windows_per_traj;
    lc->ntraj += f->n;
  }
  h5_errors_collective(was);
  return lc;
}

static void close_locked(latent_cache *lc) {
  for (int i = 0; i < lc->nfiles; i++) {
    H5Dclose(lc->files[i].state);
    H5Dclose(lc->files[i].label);
    h5_close_file(lc->files[i].h5);
    free(lc->files[i].path);
  }
  free(lc->files);
  free(lc);
}

latent_cache *latent_open(int nfiles, const char *const *files, int steps, int stride, bool posix) {
  if (nfiles < 1) lola_die(LOLA_EXIT_DATA, "latent cache: no files");
  if (stride < 1 || steps < 0) lola_die(LOLA_EXIT_DECK, "latent cache: steps %d / stride %d", steps, stride);
  h5_lock();
  latent_cache *lc = open_locked(nfiles, files, steps, stride, posix);
  h5_unlock();
  return lc;
}

void latent_close(latent_cache *lc) {
  if (!lc) return;
  h5_lock();
  close_locked(lc);
  h5_unlock();
}

long latent_len(const latent_cache *lc) { return lc->len; }
long latent_trajectories(const latent_cache *lc) { return lc->ntraj; }
int latent_channels(const latent_cache *lc) { return (int)lc->channels; }
long latent_points(const latent_cache *lc) { return lc->points; }
int latent_label_dim(const latent_cache *lc) { return (int)lc->label_dim; }
size_t latent_state_floats(const latent_cache *lc) {
  return (size_t)lc->steps * (size_t)lc->channels * (size_t)lc->points;
}

static int file_of(const latent_cache *lc, long index, bool by_traj) {
  int f = 0;
  while (f + 1 < lc->nfiles &&
         (by_traj ? lc->files[f + 1].first_traj : lc->files[f + 1].first_window) <= index)
    f++;
  return f;
}

long latent_length(const latent_cache *lc, long trajectory) {
  if (trajectory < 0 || trajectory >= lc->ntraj)
    lola_die(LOLA_EXIT_RUNTIME, "latent cache: trajectory %ld out of range [0, %ld)", trajectory, lc->ntraj);
  return lc->files[file_of(lc, trajectory, true)].length;
}

static void read_rows(latent_cache *lc, latent_file *f, long traj, long start, long count, int stride,
                      float *state, float *label) {
  h5_lock();
  hid_t xfer = lc->posix ? H5P_DEFAULT : h5_xfer_independent();
  if (state) {
    hsize_t off[H5U_MAX_RANK] = {(hsize_t)traj, (hsize_t)start}, step[H5U_MAX_RANK] = {1, (hsize_t)stride},
            cnt[H5U_MAX_RANK] = {1, (hsize_t)count};
    for (int r = 2; r < lc->rank; r++) off[r] = 0, step[r] = 1, cnt[r] = lc->inner[r - 2];
    hid_t fs = H5Dget_space(f->state), ms = H5Screate_simple(lc->rank, cnt, NULL);
    herr_t err = H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, step, cnt, NULL);
    if (err >= 0) err = H5Dread(f->state, H5T_NATIVE_FLOAT, ms, fs, xfer, state);
    H5Sclose(ms);
    H5Sclose(fs);
    if (err < 0) h5_fail(f->state, NULL, "read of trajectory %ld from step %ld failed", traj, start);
  }
  if (label) {
    hsize_t off[2] = {(hsize_t)traj, 0}, cnt[2] = {1, (hsize_t)lc->label_dim};
    hid_t fs = H5Dget_space(f->label), ms = H5Screate_simple(2, cnt, NULL);
    herr_t err = H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL);
    if (err >= 0) err = H5Dread(f->label, H5T_NATIVE_FLOAT, ms, fs, xfer, label);
    H5Sclose(ms);
    H5Sclose(fs);
    if (err < 0) h5_fail(f->label, NULL, "read of trajectory %ld failed", traj);
  }
  h5_unlock();
}

void latent_window(latent_cache *lc, long index, float *state, float *label) {
  if (index < 0 || index >= lc->len)
    lola_die(LOLA_EXIT_RUNTIME, "latent cache: window %ld out of range [0, %ld)", index, lc->len);
  latent_file *f = &lc->files[file_of(lc, index, false)];
  long local = index - f->first_window;
  read_rows(lc, f, local / f->windows_per_traj, local % f->windows_per_traj, lc->steps, lc->stride, state,
            label);
}

void latent_trajectory(latent_cache *lc, long trajectory, long start, long count, int stride, float *state,
                       float *label) {
  long n = latent_length(lc, trajectory);
  latent_file *f = &lc->files[file_of(lc, trajectory, true)];
  if (stride < 1 || count < 1 || start < 0 || start + (count - 1) * stride >= n)
    lola_die(LOLA_EXIT_DATA,
             "%s: /state: trajectory %ld has %ld states; cannot take %ld from %ld with stride %d", f->path,
             trajectory, n, count, start, stride);
  read_rows(lc, f, trajectory - f->first_traj, start, count, stride, state, label);
}
