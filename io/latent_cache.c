#include "latent_cache.h"

/* before error.h, whose <stdnoreturn.h> breaks __attribute__((noreturn)) */
#include "h5util.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../parallel/comm.h"
#include "../src/error.h"
#include "atomic_file.h"

static hid_t make_float_dataset(hid_t file, const char *name, int rank, const hsize_t *dims) {
  hid_t space = H5Screate_simple(rank, dims, NULL);
  hid_t p = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_obj_track_times(p, 0);
  H5Pset_fill_time(p, H5D_FILL_TIME_NEVER); /* every row is written by a rank */
  H5Pset_alloc_time(p, H5D_ALLOC_TIME_EARLY);
  hid_t d = H5Dcreate2(file, name, H5T_IEEE_F32LE, space, H5P_DEFAULT, p, H5P_DEFAULT);
  H5Pclose(p);
  H5Sclose(space);
  if (d < 0) h5_fail(file, NULL, "cannot create dataset %s", name);
  return d;
}

void latent_writer_open(latent_writer *w, const char *path, const latent_cache_layout *lay) {
  memset(w, 0, sizeof *w);
  snprintf(w->path, sizeof w->path, "%s", path);
  /* The same temporary name on every rank: the file is created collectively. */
  size_t n = strlen(path) + 16;
  w->temp = lola_malloc(n, "cache temp name");
  snprintf(w->temp, n, "%s.partial", path);
  if (comm_rank() == 0) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
      *slash = 0;
      make_dirs(dir);
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  w->file = h5_create(w->temp, MPI_COMM_WORLD);
  w->rows = lay->rows;
  hsize_t sdims[6] = {(hsize_t)lay->rows, (hsize_t)lay->length, (hsize_t)lay->channels};
  for (int k = 0; k < lay->ndims; k++) sdims[3 + k] = (hsize_t)lay->shape[k];
  hsize_t ldims[2] = {(hsize_t)lay->rows, (hsize_t)lay->label_dim};
  w->state = make_float_dataset(w->file, "state", 3 + lay->ndims, sdims);
  w->label = make_float_dataset(w->file, "label", 2, ldims);
  h5_attr_write_string(w->file, "autoencoder_run", lay->ae_run);
  h5_attr_write_string(w->file, "autoencoder_fingerprint", lay->fingerprint);
  h5_attr_write_string(w->file, "source", lay->source);
}

static void write_row(hid_t dset, long row, const float *data) {
  hsize_t dims[6];
  hid_t fspace = H5Dget_space(dset);
  int rank = H5Sget_simple_extent_dims(fspace, dims, NULL);
  hsize_t start[6] = {(hsize_t)row}, count[6] = {1}, total = 1;
  for (int k = 1; k < rank; k++) count[k] = dims[k], total *= dims[k];
  H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL);
  hid_t mspace = H5Screate_simple(1, &total, NULL);
  herr_t err = H5Dwrite(dset, H5T_NATIVE_FLOAT, mspace, fspace, h5_xfer_independent(), data);
  H5Sclose(mspace);
  H5Sclose(fspace);
  if (err < 0) h5_fail(dset, NULL, "cannot write row %ld (disk full?)", row);
}

void latent_writer_row(latent_writer *w, long row, const float *state, const float *label) {
  if (row < 0 || row >= w->rows)
    lola_die(LOLA_EXIT_RUNTIME, "%s: row %ld is out of range (%ld rows)", w->path, row, w->rows);
  h5_lock(); /* a prefetch thread may be reading through HDF5 meanwhile */
  write_row(w->state, row, state);
  write_row(w->label, row, label);
  h5_unlock();
}

void latent_writer_close(latent_writer *w) {
  H5Dclose(w->state);
  H5Dclose(w->label);
  if (H5Fclose(w->file) < 0) h5_fail(H5I_INVALID_HID, w->temp, "cannot close (disk full?)");
  MPI_Barrier(MPI_COMM_WORLD);
  if (comm_rank() == 0) atomic_rename(w->temp, w->path);
  MPI_Barrier(MPI_COMM_WORLD);
  free(w->temp);
  w->temp = NULL;
}

bool latent_cache_fingerprint(const char *path, char *buf, int size) {
  FILE *probe = fopen(path, "rb");
  if (!probe) return false;
  fclose(probe);
  h5_lock();
  hid_t f = h5_open_read(path, MPI_COMM_NULL);
  bool ok = h5_attr_exists(f, "autoencoder_fingerprint");
  if (ok) {
    char *s = h5_attr_string(f, "autoencoder_fingerprint");
    snprintf(buf, (size_t)size, "%s", s);
    free(s);
  }
  h5_close_file(f);
  h5_unlock();
  return ok;
}
