/* The Well's HDF5 layout, read side (docs/data_format.md of PolymathicAI/the_well):
 * root attributes, `dimensions`, `boundary_conditions`, `scalars` and the
 * t0/t1/t2 field groups with their sample/time/dim-varying attributes, plus the
 * directory layouts a Well dataset is stored in.
 *
 * well_file_read validates one open file against the layout and keeps what the
 * dataset needs (no field values: those are read window by window). */
#ifndef LOLA_WELL_READ_H
#define LOLA_WELL_READ_H

#include <stdbool.h>

#include "h5util.h"

enum { WELL_MAX_DIMS = 3, WELL_NAME = 64 };

/* Boundary-condition codes of the_well's BoundaryCondition enum. */
typedef enum { WELL_BC_WALL = 0, WELL_BC_OPEN = 1, WELL_BC_PERIODIC = 2 } well_bc;
const char *well_bc_name(int bc);

typedef struct {
  char name[WELL_NAME];
  int order; /* tensor order: 0 (t0_fields), 1 (t1_fields), 2 (t2_fields) */
  bool sample_varying, time_varying;
  bool dim_varying[WELL_MAX_DIMS];
  int rank;
  hsize_t dims[H5U_MAX_RANK]; /* as stored, validated against the flags above */
} well_field;

typedef struct {
  char name[WELL_NAME];
  bool sample_varying, time_varying;
  /* Values of a scalar that is constant in time: one per trajectory when
   * sample-varying, else one (NULL for time-varying scalars). */
  double *values;
} well_scalar;

typedef struct {
  char name[WELL_NAME]; /* the group's name, e.g. "x_bounds" */
  char type[16];        /* "WALL", "OPEN", "PERIODIC" */
  char dims[WELL_NAME]; /* associated dimensions, comma separated */
} well_bc_group;

typedef struct {
  char *path;
  char *dataset_name, *grid_type;
  int ndims;
  char dim_names[WELL_MAX_DIMS][WELL_NAME];
  long shape[WELL_MAX_DIMS];
  long n_trajectories, n_steps;
  double t_first, dt; /* time of step 0 and step 1 minus step 0 (first trajectory) */
  /* Per axis, low and high side: the_well's "padding" description (open unless a
   * boundary group says otherwise), codes from well_bc. */
  int bc[WELL_MAX_DIMS][2];
  int nbc_groups;
  well_bc_group *bc_groups;
  int nparams;
  char **param_names;
  double *param_values; /* NAN for non-numeric parameters */
  int nscalars;
  well_scalar *scalars; /* in the order of scalars/@field_names */
  int nfields;
  well_field *fields; /* t0 fields, then t1, then t2, each in @field_names order */
} well_file;

/* Read and validate the layout of an open file (`path` for messages). Errors
 * die with LOLA_EXIT_DATA naming the file and the object at fault. */
void well_file_read(hid_t file, const char *path, well_file *out);
void well_file_free(well_file *wf);

/* Index of the field called `name` (e.g. "density", "momentum"), or -1. */
int well_find_field(const well_file *wf, const char *name);
/* Number of channels a field contributes: ndims^order. */
int well_field_components(const well_file *wf, const well_field *f);
/* Channel name of component `c` of a field, the_well style: "density",
 * "momentum_x", "stress_xy". */
void well_component_name(const well_file *wf, const well_field *f, int c, char *buf, int n);

/* Directory of a split: <root>/<physics>/<split> or <root>/<physics>/data/<split>
 * (also <root>/datasets/<physics>/...); physics NULL or "" means root is the
 * physics folder itself. Dies (data) naming the paths tried. Caller frees. */
char *well_split_dir(const char *root, const char *physics, const char *split);

/* The *.hdf5 and *.h5 files of `dir`, sorted by name, keeping those whose file
 * name contains any include filter (all when there are none) and none of the
 * exclude filters. Dies (data) when none remain. Returns the count; free *out
 * with h5_free_strings. */
int well_list_files(const char *dir, const char *const *include, int ninclude, const char *const *exclude,
                    int nexclude, char ***out);

#endif
