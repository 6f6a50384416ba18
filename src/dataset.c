#define _GNU_SOURCE
#include "dataset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../io/h5util.h"
#include "../io/well_read.h"
#include "../parallel/comm.h"
#include "error.h"

typedef struct {
  well_file meta;
  hid_t h5;
  hid_t *fields;    /* one open dataset per field of meta (H5I_INVALID_HID if unused) */
  int *chan_field;  /* per channel: field index in meta */
  int *chan_comp;   /* per channel: component within the field */
  bool *log_scalar; /* per scalar of meta */
  long windows_per_traj;
  long first_window, first_traj; /* offsets in the concatenated index spaces */
} ds_file;

struct dataset {
  int nfiles;
  ds_file *files;
  int channels;
  char (*chan_name)[WELL_NAME];
  int *chan_order, *chan_id, *chan_comp;
  int ndims;
  long shape[WELL_MAX_DIMS], points;
  int steps, stride;
  int label_dim, label_scalars;
  long len, ntraj;
  float *scratch;      /* one field's block: scratch_states x points x components */
  size_t block_floats; /* per state: the largest points x components of a field read */
  long scratch_states;
  bool posix;
  bool collective; /* the read in progress is collective (every rank, same selection) */
};

/* ---- opening ---- */

/* Map the channel names onto this file's fields (or build the default list). */
static void map_channels(dataset *ds, ds_file *f, const dataset_spec *spec, bool first) {
  const well_file *m = &f->meta;
  char name[2 * WELL_NAME + 4];
  if (first) {
    int n = spec->nfields;
    if (n == 0)
      for (int i = 0; i < m->nfields; i++)
        if (m->fields[i].time_varying) n += well_field_components(m, &m->fields[i]);
    if (n == 0) h5_fail(f->h5, NULL, "no time-varying fields");
    ds->channels = n;
    ds->chan_name = lola_calloc((size_t)n, sizeof *ds->chan_name, "channel names");
    int c = 0;
    if (spec->nfields == 0) {
      for (int i = 0; i < m->nfields; i++)
        if (m->fields[i].time_varying)
          for (int k = 0; k < well_field_components(m, &m->fields[i]); k++)
            well_component_name(m, &m->fields[i], k, ds->chan_name[c++], WELL_NAME);
    } else {
      for (int i = 0; i < n; i++) snprintf(ds->chan_name[i], WELL_NAME, "%s", spec->fields[i]);
    }
  }
  f->chan_field = lola_malloc((size_t)ds->channels * sizeof(int), "channel map");
  f->chan_comp = lola_malloc((size_t)ds->channels * sizeof(int), "channel map");
  for (int c = 0; c < ds->channels; c++) {
    f->chan_field[c] = -1;
    for (int i = 0; i < m->nfields && f->chan_field[c] < 0; i++)
      for (int k = 0; k < well_field_components(m, &m->fields[i]); k++) {
        well_component_name(m, &m->fields[i], k, name, sizeof name);
        if (strcmp(name, ds->chan_name[c]) == 0) {
          f->chan_field[c] = i;
          f->chan_comp[c] = k;
          break;
        }
      }
    if (f->chan_field[c] < 0) {
      char where[4200];
      snprintf(where, sizeof where, "%s: t0_fields/t1_fields/t2_fields", m->path);
      h5_fail(H5I_INVALID_HID, where, "no field provides channel '%s'", ds->chan_name[c]);
    }
  }
}

static void open_field_datasets(dataset *ds, ds_file *f) {
  const well_file *m = &f->meta;
  f->fields = lola_malloc((size_t)(m->nfields ? m->nfields : 1) * sizeof(hid_t), "field datasets");
  for (int i = 0; i < m->nfields; i++) f->fields[i] = H5I_INVALID_HID;
  for (int c = 0; c < ds->channels; c++) {
    int i = f->chan_field[c];
    if (f->fields[i] >= 0) continue;
    char path[2 * WELL_NAME];
    snprintf(path, sizeof path, "t%d_fields/%s", m->fields[i].order, m->fields[i].name);
    f->fields[i] = h5_open_dataset(f->h5, path);
    size_t floats = (size_t)ds->points * (size_t)well_field_components(m, &m->fields[i]);
    if (floats > ds->block_floats) ds->block_floats = floats;
  }
}

static void set_log_scalars(ds_file *f, const dataset_spec *spec) {
  f->log_scalar = lola_calloc((size_t)(f->meta.nscalars ? f->meta.nscalars : 1), sizeof(bool), "log scalars");
  for (int i = 0; i < f->meta.nscalars; i++)
    for (int k = 0; k < spec->nlog_scalars; k++)
      if (strcasecmp(f->meta.scalars[i].name, spec->log_scalars[k]) == 0) f->log_scalar[i] = true;
}

static int constant_scalars(const well_file *m) {
  int n = 0;
  for (int i = 0; i < m->nscalars; i++) n += !m->scalars[i].time_varying;
  return n;
}

/* Check a file against the first one and size its window index space. */
static void check_file(dataset *ds, ds_file *f, bool first) {
  const well_file *m = &f->meta;
  if (first) {
    ds->ndims = m->ndims;
    ds->points = 1;
    for (int d = 0; d < m->ndims; d++) ds->points *= ds->shape[d] = m->shape[d];
    ds->label_scalars = constant_scalars(m);
    ds->label_dim = ds->label_scalars + 2 * m->ndims;
    if (ds->steps == 0) ds->steps = (int)m->n_steps;
  }
  if (m->ndims != ds->ndims)
    h5_fail(f->h5, NULL, "%d spatial dimensions, other files have %d", m->ndims, ds->ndims);
  for (int d = 0; d < m->ndims; d++)
    if (m->shape[d] != ds->shape[d])
      h5_fail(f->h5, NULL, "dimension '%s' has %ld points, other files have %ld", m->dim_names[d],
              m->shape[d], ds->shape[d]);
  if (constant_scalars(m) != ds->label_scalars)
    h5_fail(f->h5, NULL, "%d constant scalars, other files have %d", constant_scalars(m), ds->label_scalars);
  long span = (long)(ds->steps - 1) * ds->stride + 1;
  f->windows_per_traj = m->n_steps - span + 1;
  if (f->windows_per_traj < 1) {
    char where[4200];
    snprintf(where, sizeof where, "%s: /dimensions/time", m->path);
    h5_fail(H5I_INVALID_HID, where,
            "%ld steps per trajectory, shorter than a window of %d steps with stride %d", m->n_steps,
            ds->steps, ds->stride);
  }
}

static dataset *open_locked(const dataset_spec *spec) {
  /* Every rank reads the same metadata and so meets the same error: report it once. */
  bool was = h5_errors_collective(!spec->posix);
  dataset *ds = lola_calloc(1, sizeof *ds, "dataset");
  ds->steps = spec->steps;
  ds->stride = spec->stride;
  ds->posix = spec->posix;
  MPI_Comm comm = spec->posix ? MPI_COMM_NULL : MPI_COMM_WORLD;
  int nphys = spec->nphysics > 0 ? spec->nphysics : 1;
  for (int p = 0; p < nphys; p++) {
    char *dir = well_split_dir(spec->root, spec->nphysics > 0 ? spec->physics[p] : NULL, spec->split);
    char **paths;
    int n = well_list_files(dir, spec->include, spec->ninclude, spec->exclude, spec->nexclude, &paths);
    free(dir);
    ds->files =
        lola_realloc(ds->files, (size_t)(ds->nfiles + n) * sizeof *ds->files, "the dataset file list");
    for (int i = 0; i < n; i++) {
      ds_file *f = &ds->files[ds->nfiles];
      memset(f, 0, sizeof *f);
      bool first = ds->nfiles == 0;
      f->h5 = h5_open_read(paths[i], comm);
      well_file_read(f->h5, paths[i], &f->meta);
      check_file(ds, f, first);
      map_channels(ds, f, spec, first);
      set_log_scalars(f, spec);
      open_field_datasets(ds, f);
      f->first_window = ds->len;
      f->first_traj = ds->ntraj;
      ds->len += f->meta.n_trajectories * f->windows_per_traj;
      ds->ntraj += f->meta.n_trajectories;
      ds->nfiles++;
    }
    h5_free_strings(paths, n);
  }
  /* Channel kinds, from the first file (components of one field share an id). */
  ds->chan_order = lola_malloc((size_t)ds->channels * sizeof(int), "channels");
  ds->chan_id = lola_malloc((size_t)ds->channels * sizeof(int), "channels");
  ds->chan_comp = lola_malloc((size_t)ds->channels * sizeof(int), "channels");
  for (int c = 0; c < ds->channels; c++) {
    const ds_file *f = &ds->files[0];
    ds->chan_order[c] = f->meta.fields[f->chan_field[c]].order;
    ds->chan_comp[c] = f->chan_comp[c];
    ds->chan_id[c] = c;
    for (int b = 0; b < c; b++)
      if (f->chan_field[b] == f->chan_field[c]) {
        ds->chan_id[c] = ds->chan_id[b];
        break;
      }
  }
  ds->scratch_states = ds->steps;
  ds->scratch = lola_malloc(ds->block_floats * (size_t)ds->steps * sizeof(float), "window buffer");
  h5_errors_collective(was);
  return ds;
}

static void close_locked(dataset *ds) {
  for (int i = 0; i < ds->nfiles; i++) {
    ds_file *f = &ds->files[i];
    for (int k = 0; k < f->meta.nfields; k++)
      if (f->fields[k] >= 0) H5Dclose(f->fields[k]);
    h5_close_file(f->h5);
    well_file_free(&f->meta);
    free(f->fields);
    free(f->chan_field);
    free(f->chan_comp);
    free(f->log_scalar);
  }
  free(ds->files);
  free(ds->chan_name);
  free(ds->chan_order);
  free(ds->chan_id);
  free(ds->chan_comp);
  free(ds->scratch);
  free(ds);
}

dataset *dataset_open(const dataset_spec *spec) {
  if (spec->stride < 1) lola_die(LOLA_EXIT_DECK, "dataset: stride must be >= 1 (got %d)", spec->stride);
  if (spec->steps < 0) lola_die(LOLA_EXIT_DECK, "dataset: steps must be >= 0 (got %d)", spec->steps);
  h5_lock();
  dataset *ds = open_locked(spec);
  h5_unlock();
  return ds;
}

void dataset_close(dataset *ds) {
  if (!ds) return;
  h5_lock();
  close_locked(ds);
  h5_unlock();
}

/* ---- accessors ---- */

long dataset_len(const dataset *ds) { return ds->len; }
int dataset_steps(const dataset *ds) { return ds->steps; }
int dataset_stride(const dataset *ds) { return ds->stride; }
int dataset_channels(const dataset *ds) { return ds->channels; }
int dataset_ndims(const dataset *ds) { return ds->ndims; }
long dataset_shape(const dataset *ds, int axis) { return axis < ds->ndims ? ds->shape[axis] : 1; }
long dataset_points(const dataset *ds) { return ds->points; }
int dataset_label_dim(const dataset *ds) { return ds->label_dim; }
int dataset_label_scalars(const dataset *ds) { return ds->label_scalars; }
size_t dataset_state_floats(const dataset *ds) {
  return (size_t)ds->steps * (size_t)ds->points * (size_t)ds->channels;
}
const char *dataset_channel_name(const dataset *ds, int c) { return ds->chan_name[c]; }
void dataset_channel_kind(const dataset *ds, int c, int *order, int *field, int *component) {
  if (order) *order = ds->chan_order[c];
  if (field) *field = ds->chan_id[c];
  if (component) *component = ds->chan_comp[c];
}
int dataset_files(const dataset *ds) { return ds->nfiles; }
const char *dataset_file_path(const dataset *ds, int file) { return ds->files[file].meta.path; }
long dataset_trajectories(const dataset *ds) { return ds->ntraj; }

static int file_of(const dataset *ds, long index, bool by_traj) {
  int lo = 0, hi = ds->nfiles - 1;
  while (lo < hi) { /* last file whose first index <= index */
    int mid = (lo + hi + 1) / 2;
    long first = by_traj ? ds->files[mid].first_traj : ds->files[mid].first_window;
    if (first <= index)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

void dataset_locate(const dataset *ds, long index, int *file, long *trajectory, long *start) {
  if (index < 0 || index >= ds->len)
    lola_die(LOLA_EXIT_RUNTIME, "dataset: window %ld out of range [0, %ld)", index, ds->len);
  int fi = file_of(ds, index, false);
  const ds_file *f = &ds->files[fi];
  long local = index - f->first_window;
  *file = fi;
  *trajectory = local / f->windows_per_traj;
  *start = local % f->windows_per_traj;
}

long dataset_trajectory_steps(const dataset *ds, long trajectory) {
  if (trajectory < 0 || trajectory >= ds->ntraj)
    lola_die(LOLA_EXIT_RUNTIME, "dataset: trajectory %ld out of range [0, %ld)", trajectory, ds->ntraj);
  return ds->files[file_of(ds, trajectory, true)].meta.n_steps;
}

/* ---- reading ---- */

static hid_t xfer_for(const dataset *ds, const ds_file *f) {
  if (ds->posix) return H5P_DEFAULT;
  return ds->collective ? h5_xfer_collective(f->h5) : h5_xfer_independent();
}

/* Read one field's block for (trajectory, steps start : start + count*stride : stride)
 * into ds->scratch, shaped as stored minus the sample axis: [count if time-varying]
 * [shape[d] for varying d] [components]. */
static void read_block(dataset *ds, ds_file *f, int fi, long traj, long start, long count, int stride) {
  const well_field *w = &f->meta.fields[fi];
  hsize_t off[H5U_MAX_RANK], step[H5U_MAX_RANK], cnt[H5U_MAX_RANK];
  int r = 0, mr = 0;
  hsize_t mdims[H5U_MAX_RANK];
  if (w->sample_varying) off[r] = (hsize_t)traj, step[r] = 1, cnt[r++] = 1;
  if (w->time_varying) {
    off[r] = (hsize_t)start, step[r] = (hsize_t)stride, cnt[r] = (hsize_t)count;
    mdims[mr++] = cnt[r++];
  }
  for (; r < w->rank; r++) off[r] = 0, step[r] = 1, cnt[r] = w->dims[r], mdims[mr++] = w->dims[r];
  if (mr == 0) mdims[mr++] = 1;
  hid_t fspace = H5Dget_space(f->fields[fi]);
  hid_t mspace = H5Screate_simple(mr, mdims, NULL);
  herr_t err = H5Sselect_hyperslab(fspace, H5S_SELECT_SET, off, step, cnt, NULL);
  if (err >= 0) err = H5Dread(f->fields[fi], H5T_NATIVE_FLOAT, mspace, fspace, xfer_for(ds, f), ds->scratch);
  H5Sclose(mspace);
  H5Sclose(fspace);
  if (err < 0)
    h5_fail(f->fields[fi], NULL, "read of trajectory %ld, steps %ld..%ld (stride %d) failed", traj, start,
            start + (count - 1) * stride, stride);
}

/* Scatter component `comp` of the block in scratch into channel c of the
 * channel-last output, broadcasting the axes the field does not vary along. */
static void scatter_channel(const dataset *ds, const well_field *w, int ncomp, int comp, long count, int c,
                            float *state) {
  const long C = ds->channels;
  bool all_dims = true;
  for (int d = 0; d < ds->ndims; d++) all_dims &= w->dim_varying[d];
  if (all_dims && (w->time_varying || count == 1)) { /* the common case: one strided copy */
    const long n = count * ds->points;
    const float *src = ds->scratch + comp;
    float *dst = state + c;
    for (long p = 0; p < n; p++) dst[p * C] = src[p * ncomp];
    return;
  }
  /* Strides of the block, in floats, for (time, axis 0, axis 1, axis 2); 0 = broadcast. */
  long bstride[1 + WELL_MAX_DIMS] = {0}, acc = ncomp;
  for (int d = ds->ndims - 1; d >= 0; d--)
    if (w->dim_varying[d]) bstride[1 + d] = acc, acc *= ds->shape[d];
  if (w->time_varying) bstride[0] = acc;
  long n1 = dataset_shape(ds, 1), n2 = dataset_shape(ds, 2);
  for (long l = 0; l < count; l++)
    for (long i = 0; i < ds->shape[0]; i++)
      for (long j = 0; j < n1; j++) {
        const float *src = ds->scratch + l * bstride[0] + i * bstride[1] + j * bstride[2] + comp;
        float *dst = state + (((l * ds->shape[0] + i) * n1 + j) * n2) * C + c;
        for (long k = 0; k < n2; k++) dst[k * C] = src[k * bstride[3]];
      }
}

static void fill_label(const dataset *ds, const ds_file *f, long traj, float *label) {
  int at = 0;
  for (int i = 0; i < f->meta.nscalars; i++) {
    const well_scalar *s = &f->meta.scalars[i];
    if (s->time_varying) continue;
    double v = s->values[s->sample_varying ? traj : 0];
    label[at++] = (float)(f->log_scalar[i] ? log(v) : v);
  }
  for (int d = 0; d < ds->ndims; d++) {
    label[at++] = (float)f->meta.bc[d][0];
    label[at++] = (float)f->meta.bc[d][1];
  }
}

static void read_states(dataset *ds, ds_file *f, long traj, long start, long count, int stride,
                        float *state) {
  /* Read each field once, then scatter all channels it feeds. */
  for (int c = 0; c < ds->channels; c++) {
    int fi = f->chan_field[c];
    bool seen = false;
    for (int b = 0; b < c && !seen; b++) seen = f->chan_field[b] == fi;
    if (seen) continue;
    read_block(ds, f, fi, traj, start, count, stride);
    const well_field *w = &f->meta.fields[fi];
    int ncomp = well_field_components(&f->meta, w);
    for (int c2 = c; c2 < ds->channels; c2++)
      if (f->chan_field[c2] == fi) {
        if (w->time_varying) {
          scatter_channel(ds, w, ncomp, f->chan_comp[c2], count, c2, state);
        } else { /* constant in time: one state, then copies */
          scatter_channel(ds, w, ncomp, f->chan_comp[c2], 1, c2, state);
          size_t per = (size_t)ds->points * (size_t)ds->channels;
          for (long l = 1; l < count; l++)
            for (size_t p = 0; p < (size_t)ds->points; p++)
              state[l * per + p * (size_t)ds->channels + (size_t)c2] =
                  state[p * (size_t)ds->channels + (size_t)c2];
        }
      }
  }
}

void dataset_window(dataset *ds, long index, float *state, float *label) {
  int fi;
  long traj, start;
  dataset_locate(ds, index, &fi, &traj, &start);
  ds_file *f = &ds->files[fi];
  h5_lock();
  if (state) read_states(ds, f, traj, start, ds->steps, ds->stride, state);
  h5_unlock();
  if (label) fill_label(ds, f, traj, label);
}

void dataset_trajectory(dataset *ds, long trajectory, long start, long count, int stride, float *state,
                        float *label) {
  long n = dataset_trajectory_steps(ds, trajectory);
  if (stride < 1 || count < 1 || start < 0 || start + (count - 1) * stride >= n)
    lola_die(LOLA_EXIT_DATA, "%s: trajectory %ld has %ld steps; cannot take %ld from step %ld with stride %d",
             ds->files[file_of(ds, trajectory, true)].meta.path, trajectory, n, count, start, stride);
  if (state && count > ds->scratch_states) { /* longer than a window: grow once */
    free(ds->scratch);
    ds->scratch = lola_malloc(ds->block_floats * (size_t)count * sizeof(float), "trajectory buffer");
    ds->scratch_states = count;
  }
  ds_file *f = &ds->files[file_of(ds, trajectory, true)];
  long traj = trajectory - f->first_traj;
  h5_lock();
  if (state) read_states(ds, f, traj, start, count, stride, state);
  h5_unlock();
  if (label) fill_label(ds, f, traj, label);
}

void dataset_trajectory_collective(dataset *ds, long trajectory, long start, long count, int stride,
                                   float *state, float *label) {
  if (ds->posix) lola_die(LOLA_EXIT_RUNTIME, "dataset: collective reads need the MPI-IO mode");
  ds->collective = true;
  dataset_trajectory(ds, trajectory, start, count, stride, state, label);
  ds->collective = false;
}
