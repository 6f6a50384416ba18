#define _GNU_SOURCE
#include "well_inspect.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../io/h5util.h"
#include "../io/well_read.h"
#include "error.h"

static bool hdf5_name(const char *name) {
  size_t n = strlen(name);
  return (n > 5 && strcmp(name + n - 5, ".hdf5") == 0) || (n > 3 && strcmp(name + n - 3, ".h5") == 0);
}

static void walk(const char *dir, char ***files, int *n) {
  DIR *d = opendir(dir);
  if (!d) h5_fail(H5I_INVALID_HID, dir, "cannot open directory");
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    char *p;
    if (asprintf(&p, "%s/%s", dir, e->d_name) < 0) lola_die(LOLA_EXIT_RUNTIME, "out of memory");
    struct stat st;
    if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
      walk(p, files, n);
      free(p);
    } else if (hdf5_name(e->d_name)) {
      *files = lola_realloc(*files, (size_t)(*n + 1) * sizeof **files, "the file list");
      (*files)[(*n)++] = p;
    } else {
      free(p);
    }
  }
  closedir(d);
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int well_inspect_collect(const char *path, char ***files) {
  struct stat st;
  if (stat(path, &st) != 0) h5_fail(H5I_INVALID_HID, path, "no such file or directory");
  int n = 0;
  *files = NULL;
  if (S_ISDIR(st.st_mode)) {
    walk(path, files, &n);
    if (n == 0) h5_fail(H5I_INVALID_HID, path, "no HDF5 files (*.hdf5, *.h5) below this folder");
    qsort(*files, (size_t)n, sizeof **files, by_name);
  } else {
    *files = malloc(sizeof **files);
    (*files)[n++] = strdup(path);
  }
  return n;
}

static const char *varying(const well_field *f, const well_file *wf, char *buf, size_t n) {
  size_t at =
      (size_t)snprintf(buf, n, "%s%s", f->sample_varying ? "sample " : "", f->time_varying ? "time " : "");
  for (int d = 0; d < wf->ndims && at < n; d++)
    if (f->dim_varying[d]) at += (size_t)snprintf(buf + at, n - at, "%s ", wf->dim_names[d]);
  if (at == 0)
    snprintf(buf, n, "constant");
  else
    buf[at - 1] = '\0';
  return buf;
}

long well_inspect_file(const char *path, FILE *out) {
  hid_t h = h5_open_read(path, MPI_COMM_NULL);
  well_file wf;
  well_file_read(h, path, &wf);
  h5_close_file(h);

  fprintf(out, "%s\n", path);
  fprintf(out, "  dataset       %s (%s, %dD)\n", wf.dataset_name, wf.grid_type, wf.ndims);
  fprintf(out, "  trajectories  %ld, %ld steps each, dt %g (t from %g)\n", wf.n_trajectories, wf.n_steps,
          wf.dt, wf.t_first);
  fprintf(out, "  grid          ");
  for (int d = 0; d < wf.ndims; d++) fprintf(out, "%s%s %ld", d ? ", " : "", wf.dim_names[d], wf.shape[d]);
  fprintf(out, "\n  boundaries    ");
  for (int d = 0; d < wf.ndims; d++)
    fprintf(out, "%s%s %s/%s", d ? ", " : "", wf.dim_names[d], well_bc_name(wf.bc[d][0]),
            well_bc_name(wf.bc[d][1]));
  fprintf(out, "  (groups:");
  for (int i = 0; i < wf.nbc_groups; i++)
    fprintf(out, " %s=%s on %s", wf.bc_groups[i].name, wf.bc_groups[i].type, wf.bc_groups[i].dims);
  fprintf(out, ")\n");
  if (wf.nparams) {
    fprintf(out, "  parameters   ");
    for (int i = 0; i < wf.nparams; i++)
      if (isnan(wf.param_values[i]))
        fprintf(out, " %s", wf.param_names[i]);
      else
        fprintf(out, " %s = %g", wf.param_names[i], wf.param_values[i]);
    fprintf(out, "\n");
  }
  fprintf(out, "  scalars      ");
  if (wf.nscalars == 0) fprintf(out, " none");
  for (int i = 0; i < wf.nscalars; i++) {
    const well_scalar *s = &wf.scalars[i];
    if (s->time_varying) {
      fprintf(out, " %s (time-varying)", s->name);
    } else if (s->sample_varying) {
      double lo = s->values[0], hi = s->values[0];
      for (long b = 1; b < wf.n_trajectories; b++) lo = fmin(lo, s->values[b]), hi = fmax(hi, s->values[b]);
      fprintf(out, " %s (per trajectory) %g..%g", s->name, lo, hi);
    } else {
      fprintf(out, " %s = %g", s->name, s->values[0]);
    }
    fprintf(out, i + 1 < wf.nscalars ? ";" : "");
  }
  fprintf(out, "\n  fields\n");
  for (int i = 0; i < wf.nfields; i++) {
    const well_field *f = &wf.fields[i];
    char shape[128], vary[128];
    size_t at = (size_t)snprintf(shape, sizeof shape, "(");
    for (int r = 0; r < f->rank; r++)
      at += (size_t)snprintf(shape + at, sizeof shape - at, "%s%llu", r ? ", " : "",
                             (unsigned long long)f->dims[r]);
    snprintf(shape + at, sizeof shape - at, ")");
    fprintf(out, "    %-16s t%d  %-22s %s", f->name, f->order, shape, varying(f, &wf, vary, sizeof vary));
    int nc = well_field_components(&wf, f);
    if (nc > 1) {
      fprintf(out, "  ->");
      for (int c = 0; c < nc; c++) {
        char name[2 * WELL_NAME];
        well_component_name(&wf, f, c, name, sizeof name);
        fprintf(out, " %s", name);
      }
    }
    fprintf(out, "\n");
  }
  long ntraj = wf.n_trajectories;
  well_file_free(&wf);
  return ntraj;
}
