/* The Well's HDF5 layout, write side (docs/data_format.md of PolymathicAI/the_well):
 * one file of n trajectories of a 2D data set, written in parallel.
 *
 * The file is created collectively with the MPI-IO driver under a temporary
 * name (which the_well's *.hdf5 / *.h5 globbing never picks up); each rank then
 * writes the states of its own trajectories with independent hyperslab writes,
 * and the file is renamed to its final name only once every rank has finished,
 * so no partial file ever sits under a final name.
 *
 * Layout written (h5py conventions, see io/h5util.h):
 *   @dataset_name @grid_type="cartesian" @n_spatial_dims=2 @n_trajectories
 *   @simulation_parameters=[names] and one attribute per parameter
 *   dimensions/  @spatial_dims=["x","y"]; time (T), x (nx), y (ny) float32
 *   boundary_conditions/<dim>_<kind>/  @bc_type @associated_dims @associated_fields
 *                                     mask bool(n): true on the first and last point
 *   scalars/  @field_names; one float32 scalar dataset per parameter (constant)
 *   t0_fields/<name>  float32 (n, T, nx, ny)       t1_fields/<name>  float32 (n, T, nx, ny, 2)
 *   t2_fields/  (empty)
 * Fields vary over samples, time and both dimensions. */
#ifndef LOLA_WELL_WRITE_H
#define LOLA_WELL_WRITE_H

#include <mpi.h>

#include "h5util.h"

enum { WELL_WRITE_MAX_FIELDS = 8, WELL_WRITE_MAX_PARAMS = 8 };

typedef struct {
  const char *dataset_name; /* e.g. "euler_multi_quadrants_openBC" */
  int nx, ny;               /* grid points along x and y */
  const float *x, *y;       /* coordinates, nx and ny values */
  int n_steps;
  const float *time; /* n_steps values */
  long n_trajectories;
  const char *bc[2]; /* boundary kind along x and y: "OPEN", "PERIODIC" or "WALL" */
  int nparams;       /* constant scalars, also listed as simulation parameters */
  const char *param_names[WELL_WRITE_MAX_PARAMS];
  double param_values[WELL_WRITE_MAX_PARAMS];
  int nt0, nt1; /* scalar fields, then vector fields (2 components) */
  const char *t0_names[WELL_WRITE_MAX_FIELDS], *t1_names[WELL_WRITE_MAX_FIELDS];
} well_layout;

typedef struct {
  hid_t file;
  hid_t fields[2 * WELL_WRITE_MAX_FIELDS]; /* t0 fields, then t1 fields */
  int nfields, nt0;
  int nx, ny, n_steps;
  long n_trajectories;
  char *temp_path, *final_path;
  MPI_Comm comm;
} well_writer;

/* Collective over `comm`: create `path`'s temporary file with the whole layout
 * (attributes, dimensions, boundary conditions, scalars, field datasets). */
void well_writer_create(well_writer *w, const char *path, const well_layout *layout, MPI_Comm comm);

/* Independent: store one state of one field. `field` counts t0 fields first,
 * then t1 fields; `data` holds nx*ny values (t0) or nx*ny*2 (t1) in The Well's
 * order, x slowest: data[i*ny + j] or data[(i*ny + j)*2 + c]. */
void well_writer_put(well_writer *w, int field, long trajectory, int step, const float *data);

/* Collective: close the file and rename it onto its final path. */
void well_writer_commit(well_writer *w);
/* Collective: close the file and delete it (error paths). */
void well_writer_abandon(well_writer *w);

#endif
