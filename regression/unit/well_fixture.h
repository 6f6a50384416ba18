/* Small Well-layout files for the data tests, with values known in closed form
 * (well_fixture_value), so every read path can be checked exactly.
 *
 * Each file is 2D (x, y) and holds:
 *   t0_fields: density (B,T,X,Y), energy (B,T,X,Y), forcing (T,X,Y: not
 *              sample-varying), bathymetry (X: constant in time and samples,
 *              dim_varying [True, False])
 *   t1_fields: momentum (B,T,X,Y,2)
 *   t2_fields: none
 *   scalars:   gamma () constant; Rayleigh (B) sample-varying constant;
 *              drive (T) time-varying
 *   boundary_conditions: x periodic or open, y wall (both masks on the edges) */
#ifndef LOLA_WELL_FIXTURE_H
#define LOLA_WELL_FIXTURE_H

#include <stdbool.h>

typedef struct {
  const char *path;
  const char *dataset_name;
  int file_id; /* enters the values so files differ */
  int ntraj, nsteps, nx, ny;
  bool periodic_x; /* else open */
  double gamma;
} well_fixture;

/* Field ids for well_fixture_value. */
enum { FX_DENSITY, FX_ENERGY, FX_FORCING, FX_BATHYMETRY, FX_MOMENTUM };

/* The stored value (always > 0, so log transforms apply). Arguments a field does
 * not vary along are ignored. */
float well_fixture_value(int file_id, int field, int comp, long traj, long t, long i, long j);
/* Rayleigh of trajectory `traj` in file `file_id`. */
double well_fixture_rayleigh(int file_id, long traj);

/* Write one file (serial HDF5, this process only). */
void well_fixture_write(const well_fixture *fx);

/* A directory every rank sees: rank 0's scratch directory plus `name`, created
 * by rank 0 (collective; caller frees). */
char *well_fixture_dir(const char *name);

/* Collective: rank 0 writes a standard tree under dir:
 *   <dir>/euler_open/data/train/{a,b}.hdf5     (open x; 2 and 3 trajectories)
 *   <dir>/euler_open/data/valid/c.h5
 *   <dir>/euler_periodic/train/p.hdf5          (periodic x; flat layout)
 * with ntraj/nsteps/nx/ny of the first file given; others derived. */
void well_fixture_tree(const char *dir, int nsteps, int nx, int ny);

/* After a trapped error: close the HDF5 objects and files the dying call left
 * open (collective for files opened with MPI-IO; every rank died alike). */
void well_fixture_close_leaked(void);

#endif
