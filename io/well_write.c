#define _POSIX_C_SOURCE 200809L
#include "well_write.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/error.h"
#include "atomic_file.h"

/* Groups and datasets carry no modification times, so that the same data
 * always make the same bytes (1-rank and N-rank runs are compared bytewise). */
static hid_t group_plist(void) {
  hid_t p = H5Pcreate(H5P_GROUP_CREATE);
  H5Pset_obj_track_times(p, 0);
  return p;
}

static hid_t make_group(hid_t loc, const char *name) {
  hid_t p = group_plist();
  hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, p, H5P_DEFAULT);
  H5Pclose(p);
  if (g < 0) h5_fail(loc, NULL, "cannot create group %s", name);
  return g;
}

/* A dataset of `type` and shape dims[rank]; `data` (may be NULL) written whole. */
static hid_t make_dataset(hid_t loc, const char *name, hid_t type, int rank, const hsize_t *dims,
                          const void *data) {
  hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, NULL);
  hid_t p = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_obj_track_times(p, 0);
  H5Pset_fill_time(p, H5D_FILL_TIME_NEVER); /* every value is written by a rank */
  H5Pset_alloc_time(p, H5D_ALLOC_TIME_EARLY);
  hid_t d = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, p, H5P_DEFAULT);
  H5Pclose(p);
  H5Sclose(space);
  if (d < 0) h5_fail(loc, NULL, "cannot create dataset %s", name);
  /* Small metadata-like datasets: every rank writes the same values collectively. */
  if (data) {
    hid_t file = H5Iget_file_id(d);
    herr_t err = H5Dwrite(d, type, H5S_ALL, H5S_ALL, h5_xfer_collective(file), data);
    H5Fclose(file);
    if (err < 0) h5_fail(d, NULL, "cannot write");
  }
  return d;
}

static void flags(hid_t obj, int sample_varying, int time_varying) {
  h5_attr_write_bool(obj, "sample_varying", sample_varying);
  h5_attr_write_bool(obj, "time_varying", time_varying);
}

static void write_dimensions(hid_t file, const well_layout *l) {
  hid_t g = make_group(file, "dimensions");
  const char *dims[2] = {"x", "y"};
  h5_attr_write_strings(g, "spatial_dims", dims, 2);
  hsize_t n = (hsize_t)l->n_steps;
  hid_t d = make_dataset(g, "time", H5T_NATIVE_FLOAT, 1, &n, l->time);
  flags(d, 0, 1);
  H5Dclose(d);
  const float *coords[2] = {l->x, l->y};
  int sizes[2] = {l->nx, l->ny};
  for (int a = 0; a < 2; a++) {
    n = (hsize_t)sizes[a];
    d = make_dataset(g, dims[a], H5T_NATIVE_FLOAT, 1, &n, coords[a]);
    flags(d, 0, 0);
    H5Dclose(d);
  }
  H5Gclose(g);
}

static void write_boundary_conditions(hid_t file, const well_layout *l) {
  hid_t g = make_group(file, "boundary_conditions");
  const char *dims[2] = {"x", "y"};
  int sizes[2] = {l->nx, l->ny};
  for (int a = 0; a < 2; a++) {
    char name[64], lower[16];
    snprintf(lower, sizeof lower, "%s", l->bc[a]);
    for (char *c = lower; *c; c++) *c = (char)tolower((unsigned char)*c);
    snprintf(name, sizeof name, "%s_%s", dims[a], lower);
    hid_t b = make_group(g, name);
    h5_attr_write_string(b, "bc_type", l->bc[a]);
    h5_attr_write_strings(b, "associated_dims", &dims[a], 1);
    h5_attr_write_strings(b, "associated_fields", NULL, 0);
    flags(b, 0, 0);
    /* The boundary is the first and last grid point of its axis. */
    int8_t *mask = lola_calloc((size_t)sizes[a], 1, "boundary mask");
    mask[0] = mask[sizes[a] - 1] = 1;
    hsize_t n = (hsize_t)sizes[a];
    hid_t d = make_dataset(b, "mask", h5_bool_type(), 1, &n, mask);
    free(mask);
    H5Dclose(d);
    H5Gclose(b);
  }
  H5Gclose(g);
}

static void write_scalars(hid_t file, const well_layout *l) {
  h5_attr_write_strings(file, "simulation_parameters", l->param_names, l->nparams);
  for (int k = 0; k < l->nparams; k++) h5_attr_write_double(file, l->param_names[k], l->param_values[k]);
  hid_t g = make_group(file, "scalars");
  h5_attr_write_strings(g, "field_names", l->param_names, l->nparams);
  for (int k = 0; k < l->nparams; k++) {
    float v = (float)l->param_values[k];
    hid_t d = make_dataset(g, l->param_names[k], H5T_NATIVE_FLOAT, 0, NULL, &v);
    flags(d, 0, 0);
    H5Dclose(d);
  }
  H5Gclose(g);
}

static void create_fields(well_writer *w, const well_layout *l) {
  const bool both[2] = {true, true};
  const char *const *names[3] = {l->t0_names, l->t1_names, NULL};
  int counts[3] = {l->nt0, l->nt1, 0};
  w->nfields = 0;
  for (int order = 0; order < 3; order++) {
    char group[16];
    snprintf(group, sizeof group, "t%d_fields", order);
    hid_t g = make_group(w->file, group);
    h5_attr_write_strings(g, "field_names", names[order], counts[order]);
    for (int k = 0; k < counts[order]; k++) {
      hsize_t dims[5] = {(hsize_t)l->n_trajectories, (hsize_t)l->n_steps, (hsize_t)l->nx, (hsize_t)l->ny, 2};
      hid_t d = make_dataset(g, names[order][k], H5T_NATIVE_FLOAT, 4 + order, dims, NULL);
      h5_attr_write_bools(d, "dim_varying", both, 2);
      flags(d, 1, 1);
      w->fields[w->nfields++] = d;
    }
    H5Gclose(g);
  }
}

void well_writer_create(well_writer *w, const char *path, const well_layout *l, MPI_Comm comm) {
  memset(w, 0, sizeof *w);
  if (l->nt0 > WELL_WRITE_MAX_FIELDS || l->nt1 > WELL_WRITE_MAX_FIELDS || l->nparams > WELL_WRITE_MAX_PARAMS)
    lola_die(LOLA_EXIT_RUNTIME, "%s: too many fields or parameters for the Well writer", path);
  w->comm = comm;
  w->nx = l->nx, w->ny = l->ny, w->n_steps = l->n_steps, w->n_trajectories = l->n_trajectories;
  w->nt0 = l->nt0;
  w->final_path = strdup(path);
  /* Every rank must open the same temporary name: rank 0's (it holds its pid). */
  int rank;
  MPI_Comm_rank(comm, &rank);
  char temp[4096] = {0};
  if (rank == 0) {
    char *t = atomic_temp_name(path);
    snprintf(temp, sizeof temp, "%s", t);
    free(t);
  }
  MPI_Bcast(temp, sizeof temp, MPI_CHAR, 0, comm);
  w->temp_path = strdup(temp);

  w->file = h5_create(w->temp_path, comm);
  h5_attr_write_string(w->file, "dataset_name", l->dataset_name);
  h5_attr_write_string(w->file, "grid_type", "cartesian");
  h5_attr_write_long(w->file, "n_spatial_dims", 2);
  h5_attr_write_long(w->file, "n_trajectories", l->n_trajectories);
  write_scalars(w->file, l);
  write_dimensions(w->file, l);
  write_boundary_conditions(w->file, l);
  create_fields(w, l);
}

void well_writer_put(well_writer *w, int field, long trajectory, int step, const float *data) {
  if (field < 0 || field >= w->nfields || trajectory < 0 || trajectory >= w->n_trajectories || step < 0 ||
      step >= w->n_steps)
    lola_die(LOLA_EXIT_RUNTIME, "%s: write of field %d, trajectory %ld, step %d is out of range",
             w->final_path, field, trajectory, step);
  int components = field < w->nt0 ? 1 : 2;
  hsize_t start[5] = {(hsize_t)trajectory, (hsize_t)step, 0, 0, 0};
  hsize_t count[5] = {1, 1, (hsize_t)w->nx, (hsize_t)w->ny, 2};
  hsize_t n = (hsize_t)w->nx * (hsize_t)w->ny * (hsize_t)components;
  hid_t fspace = H5Dget_space(w->fields[field]);
  H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL);
  hid_t mspace = H5Screate_simple(1, &n, NULL);
  herr_t err = H5Dwrite(w->fields[field], H5T_NATIVE_FLOAT, mspace, fspace, h5_xfer_independent(), data);
  H5Sclose(mspace);
  H5Sclose(fspace);
  if (err < 0)
    h5_fail(w->fields[field], NULL, "cannot write trajectory %ld, step %d (disk full?)", trajectory, step);
}

static void close_all(well_writer *w) {
  for (int k = 0; k < w->nfields; k++) H5Dclose(w->fields[k]);
  w->nfields = 0;
  if (H5Fclose(w->file) < 0) h5_fail(H5I_INVALID_HID, w->temp_path, "cannot close (disk full?)");
  w->file = H5I_INVALID_HID;
  /* Every rank's data are in the file before it is renamed or removed. */
  MPI_Barrier(w->comm);
}

static void release(well_writer *w) {
  free(w->temp_path);
  free(w->final_path);
  w->temp_path = w->final_path = NULL;
}

void well_writer_commit(well_writer *w) {
  close_all(w);
  int rank;
  MPI_Comm_rank(w->comm, &rank);
  if (rank == 0) atomic_rename(w->temp_path, w->final_path);
  MPI_Barrier(w->comm);
  release(w);
}

void well_writer_abandon(well_writer *w) {
  close_all(w);
  int rank;
  MPI_Comm_rank(w->comm, &rank);
  if (rank == 0) unlink(w->temp_path);
  MPI_Barrier(w->comm);
  release(w);
}
