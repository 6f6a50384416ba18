#define _GNU_SOURCE
#include "well_fixture.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../io/atomic_file.h"
#include "../../io/h5util.h"
#include "../../parallel/comm.h"
#include "harness.h"

float well_fixture_value(int file_id, int field, int comp, long traj, long t, long i, long j) {
  switch (field) {
    case FX_FORCING:
      traj = 0;
      break;
    case FX_BATHYMETRY:
      traj = 0, t = 0, j = 0;
      break;
    default:
      break;
  }
  return (float)(1.0 + file_id * 0.5 + field * 0.25 + comp * 0.125 + traj * 0.0625 + t * 0.03125 + i * 0.01 +
                 j * 0.001);
}

double well_fixture_rayleigh(int file_id, long traj) { return 1e6 * (1.0 + traj) * (1.0 + file_id); }

static hid_t write_dataset(hid_t loc, const char *name, int rank, const hsize_t *dims, const float *data) {
  hid_t space = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
  hid_t d = H5Dcreate2(loc, name, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
  H5Sclose(space);
  return d;
}

static void flags(hid_t d, bool sample, bool time) {
  h5_attr_write_bool(d, "sample_varying", sample);
  h5_attr_write_bool(d, "time_varying", time);
}

static void write_field(hid_t g, const well_fixture *fx, const char *name, int field, bool sample, bool time,
                        const bool *dim_varying, int ncomp) {
  hsize_t dims[6];
  int rank = 0;
  if (sample) dims[rank++] = (hsize_t)fx->ntraj;
  if (time) dims[rank++] = (hsize_t)fx->nsteps;
  if (dim_varying[0]) dims[rank++] = (hsize_t)fx->nx;
  if (dim_varying[1]) dims[rank++] = (hsize_t)fx->ny;
  if (ncomp > 1) dims[rank++] = (hsize_t)ncomp;
  long B = sample ? fx->ntraj : 1, T = time ? fx->nsteps : 1, X = dim_varying[0] ? fx->nx : 1,
       Y = dim_varying[1] ? fx->ny : 1;
  float *v = malloc(sizeof(float) * (size_t)(B * T * X * Y * ncomp));
  long at = 0;
  for (long b = 0; b < B; b++)
    for (long t = 0; t < T; t++)
      for (long i = 0; i < X; i++)
        for (long j = 0; j < Y; j++)
          for (int c = 0; c < ncomp; c++) v[at++] = well_fixture_value(fx->file_id, field, c, b, t, i, j);
  hid_t d = write_dataset(g, name, rank, dims, v);
  free(v);
  flags(d, sample, time);
  h5_attr_write_bools(d, "dim_varying", dim_varying, 2);
  H5Dclose(d);
}

static void write_bc(hid_t bcs, const char *name, const char *type, const char *dim, long n) {
  hid_t g = H5Gcreate2(bcs, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  h5_attr_write_string(g, "bc_type", type);
  const char *dims[] = {dim};
  h5_attr_write_strings(g, "associated_dims", dims, 1);
  h5_attr_write_strings(g, "associated_fields", NULL, 0);
  flags(g, false, false);
  int8_t *mask = calloc((size_t)n, 1);
  mask[0] = mask[n - 1] = 1;
  hsize_t len = (hsize_t)n;
  hid_t space = H5Screate_simple(1, &len, NULL);
  hid_t d = H5Dcreate2(g, "mask", h5_bool_type(), space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(d, h5_bool_type(), H5S_ALL, H5S_ALL, H5P_DEFAULT, mask);
  H5Dclose(d);
  H5Sclose(space);
  free(mask);
  H5Gclose(g);
}

void well_fixture_write(const well_fixture *fx) {
  hid_t f = h5_create(fx->path, MPI_COMM_NULL);
  h5_attr_write_string(f, "dataset_name", fx->dataset_name);
  h5_attr_write_string(f, "grid_type", "cartesian");
  h5_attr_write_long(f, "n_spatial_dims", 2);
  h5_attr_write_long(f, "n_trajectories", fx->ntraj);
  const char *params[] = {"gamma"};
  h5_attr_write_strings(f, "simulation_parameters", params, 1);
  h5_attr_write_double(f, "gamma", fx->gamma);

  hid_t g = H5Gcreate2(f, "dimensions", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const char *sd[] = {"x", "y"};
  h5_attr_write_strings(g, "spatial_dims", sd, 2);
  float buf[4096];
  hsize_t n;
  for (int t = 0; t < fx->nsteps; t++) buf[t] = 0.5f + 0.25f * (float)t;
  n = (hsize_t)fx->nsteps;
  hid_t d = write_dataset(g, "time", 1, &n, buf);
  flags(d, false, true);
  H5Dclose(d);
  for (int k = 0; k < 2; k++) {
    n = (hsize_t)(k ? fx->ny : fx->nx);
    for (hsize_t i = 0; i < n; i++) buf[i] = ((float)i + 0.5f) / (float)n;
    d = write_dataset(g, sd[k], 1, &n, buf);
    flags(d, false, false);
    H5Dclose(d);
  }
  H5Gclose(g);

  g = H5Gcreate2(f, "boundary_conditions", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  write_bc(g, fx->periodic_x ? "x_periodic" : "x_open", fx->periodic_x ? "periodic" : "open", "x", fx->nx);
  write_bc(g, "y_wall", "WALL", "y", fx->ny);
  H5Gclose(g);

  g = H5Gcreate2(f, "scalars", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const char *sn[] = {"gamma", "Rayleigh", "drive"};
  h5_attr_write_strings(g, "field_names", sn, 3);
  buf[0] = (float)fx->gamma;
  d = write_dataset(g, "gamma", 0, NULL, buf);
  flags(d, false, false);
  H5Dclose(d);
  for (int b = 0; b < fx->ntraj; b++) buf[b] = (float)well_fixture_rayleigh(fx->file_id, b);
  n = (hsize_t)fx->ntraj;
  d = write_dataset(g, "Rayleigh", 1, &n, buf);
  flags(d, true, false);
  H5Dclose(d);
  for (int t = 0; t < fx->nsteps; t++) buf[t] = (float)t;
  n = (hsize_t)fx->nsteps;
  d = write_dataset(g, "drive", 1, &n, buf);
  flags(d, false, true);
  H5Dclose(d);
  H5Gclose(g);

  const bool both[2] = {true, true}, xonly[2] = {true, false};
  g = H5Gcreate2(f, "t0_fields", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const char *t0[] = {"density", "energy", "forcing", "bathymetry"};
  h5_attr_write_strings(g, "field_names", t0, 4);
  write_field(g, fx, "density", FX_DENSITY, true, true, both, 1);
  write_field(g, fx, "energy", FX_ENERGY, true, true, both, 1);
  write_field(g, fx, "forcing", FX_FORCING, false, true, both, 1);
  write_field(g, fx, "bathymetry", FX_BATHYMETRY, false, false, xonly, 1);
  H5Gclose(g);
  g = H5Gcreate2(f, "t1_fields", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const char *t1[] = {"momentum"};
  h5_attr_write_strings(g, "field_names", t1, 1);
  write_field(g, fx, "momentum", FX_MOMENTUM, true, true, both, 2);
  H5Gclose(g);
  g = H5Gcreate2(f, "t2_fields", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  h5_attr_write_strings(g, "field_names", NULL, 0);
  H5Gclose(g);
  h5_close_file(f);
}

char *well_fixture_dir(const char *name) {
  char path[1024] = "";
  if (comm_rank() == 0) snprintf(path, sizeof path, "%s/%s", harness_tmpdir(), name);
  MPI_Bcast(path, sizeof path, MPI_CHAR, 0, MPI_COMM_WORLD);
  if (comm_rank() == 0) make_dirs(path);
  MPI_Barrier(MPI_COMM_WORLD);
  return strdup(path);
}

void well_fixture_tree(const char *dir, int nsteps, int nx, int ny) {
  if (comm_rank() == 0) {
    char path[2048];
    struct {
      const char *sub, *file, *name;
      int id, ntraj;
      bool periodic;
    } files[] = {
        {"euler_open/data/train", "a.hdf5", "euler_open", 0, 2, false},
        {"euler_open/data/train", "b.hdf5", "euler_open", 1, 3, false},
        {"euler_open/data/valid", "c.h5", "euler_open", 2, 1, false},
        {"euler_periodic/train", "p.hdf5", "euler_periodic", 3, 2, true},
    };
    for (size_t k = 0; k < sizeof files / sizeof *files; k++) {
      snprintf(path, sizeof path, "%s/%s", dir, files[k].sub);
      make_dirs(path);
      snprintf(path, sizeof path, "%s/%s/%s", dir, files[k].sub, files[k].file);
      well_fixture fx = {path,
                         files[k].name,
                         files[k].id,
                         files[k].ntraj,
                         nsteps,
                         nx,
                         ny,
                         files[k].periodic,
                         1.4 + 0.1 * files[k].id};
      well_fixture_write(&fx);
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

void well_fixture_close_leaked(void) {
  unsigned kinds[] = {H5F_OBJ_ATTR, H5F_OBJ_DATASET, H5F_OBJ_GROUP, H5F_OBJ_FILE};
  for (int k = 0; k < 4; k++) {
    ssize_t n = H5Fget_obj_count(H5F_OBJ_ALL, kinds[k]);
    if (n <= 0) continue;
    hid_t *ids = malloc(sizeof(hid_t) * (size_t)n);
    n = H5Fget_obj_ids(H5F_OBJ_ALL, kinds[k], (size_t)n, ids);
    for (ssize_t i = 0; i < n; i++) {
      if (kinds[k] == H5F_OBJ_ATTR)
        H5Aclose(ids[i]);
      else if (kinds[k] == H5F_OBJ_DATASET)
        H5Dclose(ids[i]);
      else if (kinds[k] == H5F_OBJ_GROUP)
        H5Gclose(ids[i]);
      else
        H5Fclose(ids[i]);
    }
    free(ids);
  }
}
