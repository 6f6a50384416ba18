#define _GNU_SOURCE
#include "well_read.h"

#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../src/error.h"

/* realloc that dies instead of returning NULL. */
static void *grow(void *p, size_t bytes) {
  void *q = realloc(p, bytes ? bytes : 1);
  if (!q) lola_die(LOLA_EXIT_RUNTIME, "out of memory growing a list to %zu bytes", bytes);
  return q;
}

const char *well_bc_name(int bc) {
  return bc == WELL_BC_WALL       ? "WALL"
         : bc == WELL_BC_OPEN     ? "OPEN"
         : bc == WELL_BC_PERIODIC ? "PERIODIC"
                                  : "?";
}

static void copy_name(char *dst, const char *src, hid_t obj, const char *what) {
  if (strlen(src) >= WELL_NAME) h5_fail(obj, NULL, "%s name too long: %s", what, src);
  strcpy(dst, src);
}

static void shape_text(const hsize_t *dims, int rank, char *buf, size_t n) {
  size_t at = (size_t)snprintf(buf, n, "(");
  for (int i = 0; i < rank && at < n; i++)
    at += (size_t)snprintf(buf + at, n - at, "%s%llu", i ? ", " : "", (unsigned long long)dims[i]);
  if (at < n) snprintf(buf + at, n - at, ")");
}

/* Dies unless `dset` has exactly the expected shape. */
static void require_shape(hid_t dset, const hsize_t *want, int want_rank) {
  hsize_t dims[H5U_MAX_RANK];
  int rank = h5_dataset_shape(dset, dims);
  bool ok = rank == want_rank;
  for (int i = 0; ok && i < rank; i++) ok = dims[i] == want[i];
  if (!ok) {
    char w[128], g[128];
    shape_text(want, want_rank, w, sizeof w);
    shape_text(dims, rank, g, sizeof g);
    h5_fail(dset, NULL, "expected shape %s, found %s", w, g);
  }
}

static void read_dimensions(hid_t file, well_file *wf) {
  hid_t g = h5_open_group(file, "dimensions");
  char **names;
  int n = h5_attr_strings(g, "spatial_dims", &names);
  if (n != wf->ndims)
    h5_fail(g, NULL, "@spatial_dims lists %d dimensions but the root @n_spatial_dims is %d", n, wf->ndims);
  for (int d = 0; d < n; d++) {
    copy_name(wf->dim_names[d], names[d], g, "dimension");
    hid_t ds = h5_open_dataset(g, names[d]);
    hsize_t dims[H5U_MAX_RANK];
    int rank = h5_dataset_shape(ds, dims);
    if (rank < 1 || rank > 2) h5_fail(ds, NULL, "expected 1 or 2 dimensions, found %d", rank);
    wf->shape[d] = (long)dims[rank - 1];
    H5Dclose(ds);
  }
  h5_free_strings(names, n);

  hid_t t = h5_open_dataset(g, "time");
  hsize_t dims[H5U_MAX_RANK];
  int rank = h5_dataset_shape(t, dims);
  bool sv = h5_attr_bool_or(t, "sample_varying", false);
  if (rank != (sv ? 2 : 1)) h5_fail(t, NULL, "expected %d dimensions, found %d", sv ? 2 : 1, rank);
  if (sv && (long)dims[0] != wf->n_trajectories)
    h5_fail(t, NULL, "expected %ld trajectories, found %llu", wf->n_trajectories,
            (unsigned long long)dims[0]);
  wf->n_steps = (long)dims[rank - 1];
  if (wf->n_steps < 1) h5_fail(t, NULL, "no time steps");
  size_t count = (size_t)(sv ? dims[0] * dims[1] : dims[0]);
  double *time = lola_malloc(count * sizeof *time, "time grid");
  h5_read_all_double(t, time, count);
  wf->t_first = time[0];
  wf->dt = wf->n_steps > 1 ? time[1] - time[0] : 0.0;
  free(time);
  H5Dclose(t);
  H5Gclose(g);
}

/* Read a mask of any integer/boolean type as 0/1 bytes. */
static void read_mask(hid_t mask, uint8_t *out, size_t count) {
  hid_t ft = H5Dget_type(mask);
  H5T_class_t cls = H5Tget_class(ft);
  if (cls != H5T_INTEGER && cls != H5T_ENUM) {
    H5Tclose(ft);
    h5_fail(mask, NULL, "expected a boolean mask");
  }
  hid_t memt = H5Tget_native_type(ft, H5T_DIR_ASCEND);
  size_t size = H5Tget_size(memt);
  unsigned char *raw = lola_malloc(count * size, "boundary mask");
  herr_t err = H5Dread(mask, memt, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw);
  H5Tclose(memt);
  H5Tclose(ft);
  if (err < 0) {
    free(raw);
    h5_fail(mask, NULL, "read failed");
  }
  for (size_t i = 0; i < count; i++) {
    uint8_t any = 0;
    for (size_t b = 0; b < size; b++) any |= raw[i * size + b];
    out[i] = any != 0;
  }
  free(raw);
}

static int dim_index(const well_file *wf, const char *name) {
  for (int d = 0; d < wf->ndims; d++)
    if (strcmp(wf->dim_names[d], name) == 0) return d;
  return -1;
}

/* One boundary group, as the_well's _padding_bcs: along each associated axis,
 * the low (high) side takes the group's type when the mask is set on the first
 * (last) slice — all of it for WALL, any of it otherwise. */
static void read_bc_group(hid_t bcs, const char *name, well_file *wf, well_bc_group *out) {
  hid_t g = h5_open_group(bcs, name);
  copy_name(out->name, name, g, "boundary");
  char *type = h5_attr_string(g, "bc_type");
  for (char *p = type; *p; p++) *p = (char)toupper((unsigned char)*p);
  int code = strcmp(type, "WALL") == 0       ? WELL_BC_WALL
             : strcmp(type, "OPEN") == 0     ? WELL_BC_OPEN
             : strcmp(type, "PERIODIC") == 0 ? WELL_BC_PERIODIC
                                             : -1;
  if (code < 0) h5_fail(g, NULL, "@bc_type '%s' is not WALL, OPEN or PERIODIC", type);
  snprintf(out->type, sizeof out->type, "%s", type);
  free(type);

  char **dims;
  int nd = h5_attr_strings(g, "associated_dims", &dims);
  int axes[WELL_MAX_DIMS];
  hsize_t want[WELL_MAX_DIMS];
  size_t count = 1, at = 0;
  out->dims[0] = 0;
  if (nd < 1 || nd > wf->ndims) h5_fail(g, NULL, "@associated_dims must list 1 to %d dimensions", wf->ndims);
  for (int i = 0; i < nd; i++) {
    axes[i] = dim_index(wf, dims[i]);
    if (axes[i] < 0) h5_fail(g, NULL, "@associated_dims names unknown dimension '%s'", dims[i]);
    want[i] = (hsize_t)wf->shape[axes[i]];
    count *= want[i];
    at +=
        (size_t)snprintf(out->dims + at, at < WELL_NAME ? WELL_NAME - at : 0, "%s%s", i ? "," : "", dims[i]);
  }
  h5_free_strings(dims, nd);

  hid_t mask = h5_open_dataset(g, "mask");
  require_shape(mask, want, nd);
  uint8_t *m = lola_malloc(count, "boundary mask");
  read_mask(mask, m, count);
  H5Dclose(mask);

  for (int i = 0; i < nd; i++) {
    /* Aggregate the mask over the first and last slices along associated axis i. */
    int first = code == WELL_BC_WALL, last = first;
    for (size_t k = 0; k < count; k++) {
      size_t rem = k, coord = 0;
      for (int j = nd - 1; j >= 0; j--) {
        if (j == i) coord = rem % want[j];
        rem /= want[j];
      }
      if (coord != 0 && coord != want[i] - 1) continue;
      bool is_first = coord == 0, is_last = coord == want[i] - 1;
      if (code == WELL_BC_WALL) {
        if (is_first) first &= m[k];
        if (is_last) last &= m[k];
      } else {
        if (is_first) first |= m[k];
        if (is_last) last |= m[k];
      }
    }
    if (first) wf->bc[axes[i]][0] = code;
    if (last) wf->bc[axes[i]][1] = code;
  }
  free(m);
  H5Gclose(g);
}

static herr_t collect_name(hid_t loc, const char *name, const H5L_info_t *info, void *data) {
  (void)loc;
  (void)info;
  char ***list = data;
  int n = 0;
  while ((*list)[n]) n++;
  *list = grow(*list, (size_t)(n + 2) * sizeof **list);
  (*list)[n] = strdup(name);
  (*list)[n + 1] = NULL;
  return 0;
}

static void read_boundaries(hid_t file, well_file *wf) {
  for (int d = 0; d < wf->ndims; d++) wf->bc[d][0] = wf->bc[d][1] = WELL_BC_OPEN;
  hid_t g = h5_open_group(file, "boundary_conditions");
  char **names = lola_calloc(1, sizeof *names, "boundary names");
  /* h5py iterates groups by name: later groups override earlier ones. */
  H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_name, &names);
  int n = 0;
  while (names[n]) n++;
  wf->nbc_groups = n;
  wf->bc_groups = lola_calloc((size_t)(n ? n : 1), sizeof *wf->bc_groups, "boundary groups");
  for (int i = 0; i < n; i++) read_bc_group(g, names[i], wf, &wf->bc_groups[i]);
  h5_free_strings(names, n);
  H5Gclose(g);
}

static void read_scalars(hid_t file, well_file *wf) {
  hid_t g = h5_open_group(file, "scalars");
  char **names;
  int n = h5_attr_exists(g, "field_names") ? h5_attr_strings(g, "field_names", &names) : 0;
  if (n == 0) names = NULL;
  wf->nscalars = n;
  wf->scalars = lola_calloc((size_t)(n ? n : 1), sizeof *wf->scalars, "scalars");
  for (int i = 0; i < n; i++) {
    well_scalar *s = &wf->scalars[i];
    hid_t ds = h5_open_dataset(g, names[i]);
    copy_name(s->name, names[i], ds, "scalar");
    h5_require_float(ds);
    s->sample_varying = h5_attr_bool_or(ds, "sample_varying", false);
    s->time_varying = h5_attr_bool_or(ds, "time_varying", false);
    hsize_t want[2];
    int rank = 0;
    if (s->sample_varying) want[rank++] = (hsize_t)wf->n_trajectories;
    if (s->time_varying) want[rank++] = (hsize_t)wf->n_steps;
    hsize_t dims[H5U_MAX_RANK];
    int got = h5_dataset_shape(ds, dims);
    /* A constant scalar may be stored as shape () or (1,). */
    if (!(rank == 0 && got == 1 && dims[0] == 1)) require_shape(ds, want, rank);
    if (!s->time_varying) {
      size_t count = s->sample_varying ? (size_t)wf->n_trajectories : 1;
      s->values = lola_malloc(count * sizeof *s->values, "scalar values");
      h5_read_all_double(ds, s->values, count);
    }
    H5Dclose(ds);
  }
  if (names) h5_free_strings(names, n);
  H5Gclose(g);
}

static void read_field_group(hid_t file, int order, well_file *wf) {
  char group[16];
  snprintf(group, sizeof group, "t%d_fields", order);
  hid_t g = h5_open_group(file, group);
  char **names = NULL;
  int n = h5_attr_exists(g, "field_names") ? h5_attr_strings(g, "field_names", &names) : 0;
  wf->fields = grow(wf->fields, (size_t)(wf->nfields + n + 1) * sizeof *wf->fields);
  for (int i = 0; i < n; i++) {
    well_field *f = &wf->fields[wf->nfields++];
    memset(f, 0, sizeof *f);
    hid_t ds = h5_open_dataset(g, names[i]);
    copy_name(f->name, names[i], ds, "field");
    f->order = order;
    h5_require_float(ds);
    f->sample_varying = h5_attr_bool_or(ds, "sample_varying", true);
    f->time_varying = h5_attr_bool_or(ds, "time_varying", true);
    for (int d = 0; d < WELL_MAX_DIMS; d++) f->dim_varying[d] = true;
    if (h5_attr_exists(ds, "dim_varying")) {
      bool dv[H5U_MAX_RANK];
      int nd = h5_attr_bools(ds, "dim_varying", dv, H5U_MAX_RANK);
      if (nd != wf->ndims) h5_fail(ds, NULL, "@dim_varying has %d entries for %d dimensions", nd, wf->ndims);
      for (int d = 0; d < nd; d++) f->dim_varying[d] = dv[d];
    }
    hsize_t want[H5U_MAX_RANK];
    int rank = 0;
    if (f->sample_varying) want[rank++] = (hsize_t)wf->n_trajectories;
    if (f->time_varying) want[rank++] = (hsize_t)wf->n_steps;
    for (int d = 0; d < wf->ndims; d++)
      if (f->dim_varying[d]) want[rank++] = (hsize_t)wf->shape[d];
    for (int k = 0; k < order; k++) want[rank++] = (hsize_t)wf->ndims;
    require_shape(ds, want, rank);
    f->rank = rank;
    memcpy(f->dims, want, sizeof want);
    H5Dclose(ds);
  }
  if (names) h5_free_strings(names, n);
  H5Gclose(g);
}

static void read_parameters(hid_t file, well_file *wf) {
  if (!h5_attr_exists(file, "simulation_parameters")) return;
  wf->nparams = h5_attr_strings(file, "simulation_parameters", &wf->param_names);
  wf->param_values = lola_malloc((size_t)(wf->nparams ? wf->nparams : 1) * sizeof(double), "parameters");
  for (int i = 0; i < wf->nparams; i++) {
    wf->param_values[i] = NAN;
    const char *p = wf->param_names[i];
    if (!h5_attr_exists(file, p)) continue;
    hid_t a = H5Aopen(file, p, H5P_DEFAULT);
    hid_t t = H5Aget_type(a);
    H5T_class_t cls = H5Tget_class(t);
    H5Tclose(t);
    H5Aclose(a);
    if (cls == H5T_INTEGER || cls == H5T_FLOAT) wf->param_values[i] = h5_attr_double(file, p);
  }
}

void well_file_read(hid_t file, const char *path, well_file *wf) {
  memset(wf, 0, sizeof *wf);
  wf->path = strdup(path);
  wf->dataset_name = h5_attr_string(file, "dataset_name");
  wf->grid_type = h5_attr_exists(file, "grid_type") ? h5_attr_string(file, "grid_type") : strdup("cartesian");
  long nd = h5_attr_long(file, "n_spatial_dims");
  if (nd < 1 || nd > WELL_MAX_DIMS) h5_fail(file, NULL, "@n_spatial_dims = %ld is not 1, 2 or 3", nd);
  wf->ndims = (int)nd;
  wf->n_trajectories = h5_attr_long(file, "n_trajectories");
  if (wf->n_trajectories < 1) h5_fail(file, NULL, "@n_trajectories = %ld", wf->n_trajectories);
  read_parameters(file, wf);
  read_dimensions(file, wf);
  read_boundaries(file, wf);
  read_scalars(file, wf);
  for (int order = 0; order < 3; order++) read_field_group(file, order, wf);
}

void well_file_free(well_file *wf) {
  free(wf->path);
  free(wf->dataset_name);
  free(wf->grid_type);
  free(wf->bc_groups);
  if (wf->param_names) h5_free_strings(wf->param_names, wf->nparams);
  free(wf->param_values);
  for (int i = 0; i < wf->nscalars; i++) free(wf->scalars[i].values);
  free(wf->scalars);
  free(wf->fields);
  memset(wf, 0, sizeof *wf);
}

int well_find_field(const well_file *wf, const char *name) {
  for (int i = 0; i < wf->nfields; i++)
    if (strcmp(wf->fields[i].name, name) == 0) return i;
  return -1;
}

int well_field_components(const well_file *wf, const well_field *f) {
  int c = 1;
  for (int k = 0; k < f->order; k++) c *= wf->ndims;
  return c;
}

void well_component_name(const well_file *wf, const well_field *f, int c, char *buf, int n) {
  if (f->order == 0) {
    snprintf(buf, (size_t)n, "%s", f->name);
    return;
  }
  /* the_well: itertools.product(spatial_dims, repeat=order), last index fastest. */
  char suffix[WELL_MAX_DIMS * WELL_NAME] = "";
  int div = well_field_components(wf, f) / wf->ndims;
  for (int k = 0; k < f->order; k++, div = div / wf->ndims ? div / wf->ndims : 1)
    strncat(suffix, wf->dim_names[(c / div) % wf->ndims], sizeof suffix - strlen(suffix) - 1);
  snprintf(buf, (size_t)n, "%s_%s", f->name, suffix);
}

/* ---- directories ---- */

static bool is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *join(const char *a, const char *b, const char *c) {
  char *out;
  if (asprintf(&out, "%s/%s%s%s", a, b, c ? "/" : "", c ? c : "") < 0)
    lola_die(LOLA_EXIT_RUNTIME, "out of memory");
  return out;
}

char *well_split_dir(const char *root, const char *physics, const char *split) {
  if (!is_dir(root)) h5_fail(H5I_INVALID_HID, root, "dataset root directory does not exist");
  char *base;
  if (physics && *physics) {
    base = join(root, physics, NULL);
    if (!is_dir(base)) {
      char *alt = join(root, "datasets", physics);
      if (!is_dir(alt)) h5_fail(H5I_INVALID_HID, base, "physics directory does not exist");
      free(base);
      base = alt;
    }
  } else {
    base = strdup(root);
  }
  char *dir = join(base, split, NULL);
  if (is_dir(dir)) {
    free(base);
    return dir;
  }
  free(dir);
  dir = join(base, "data", split);
  if (is_dir(dir)) {
    free(base);
    return dir;
  }
  char where[8300];
  snprintf(where, sizeof where, "%.4000s/%.64s (or %.4000s)", base, split, dir);
  h5_fail(H5I_INVALID_HID, where, "split directory does not exist");
}

static bool has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n > m && strcmp(s + n - m, suffix) == 0;
}

static bool contains_any(const char *s, const char *const *subs, int n) {
  for (int i = 0; i < n; i++)
    if (strstr(s, subs[i])) return true;
  return false;
}

static int compare_strings(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int well_list_files(const char *dir, const char *const *include, int ninclude, const char *const *exclude,
                    int nexclude, char ***out) {
  DIR *d = opendir(dir);
  if (!d) h5_fail(H5I_INVALID_HID, dir, "cannot open directory");
  char **files = NULL;
  int n = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (!has_suffix(e->d_name, ".hdf5") && !has_suffix(e->d_name, ".h5")) continue;
    if (ninclude > 0 && !contains_any(e->d_name, include, ninclude)) continue;
    if (contains_any(e->d_name, exclude, nexclude)) continue;
    files = grow(files, (size_t)(n + 1) * sizeof *files);
    if (asprintf(&files[n], "%s/%s", dir, e->d_name) < 0) lola_die(LOLA_EXIT_RUNTIME, "out of memory");
    n++;
  }
  closedir(d);
  if (n == 0) h5_fail(H5I_INVALID_HID, dir, "no HDF5 files (*.hdf5, *.h5) match");
  qsort(files, (size_t)n, sizeof *files, compare_strings);
  *out = files;
  return n;
}
