#define _GNU_SOURCE
#include "dataset_stats.h"

#include <float.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../io/atomic_file.h"
#include "../parallel/comm.h"
#include "error.h"
#include "progress.h"

void moments_merge(moments *a, const moments *b) {
  if (b->n == 0) return;
  if (a->n == 0) {
    *a = *b;
    return;
  }
  double n = a->n + b->n, delta = b->mean - a->mean;
  a->mean += delta * (b->n / n);
  a->m2 += b->m2 + delta * delta * (a->n * b->n / n);
  a->n = n;
  a->min = fmin(a->min, b->min);
  a->max = fmax(a->max, b->max);
}

/* Moments of channel c of one state (two passes: exact mean, then deviations). */
static moments state_moments(const float *x, long points, int C, int c) {
  moments m = {.n = (double)points, .min = DBL_MAX, .max = -DBL_MAX};
  double sum = 0;
  for (long i = 0; i < points; i++) sum += x[i * C + c];
  m.mean = sum / (double)points;
  for (long i = 0; i < points; i++) {
    double v = x[i * C + c], d = v - m.mean;
    m.m2 += d * d;
    m.min = fmin(m.min, v);
    m.max = fmax(m.max, v);
  }
  return m;
}

void dataset_field_stats(dataset *ds, const preprocess *p, field_stats *out) {
  const int C = dataset_channels(ds), size = comm_size(), rank = comm_rank();
  if (C > PREPROCESS_MAX_CHANNELS || p->channels != C)
    lola_die(LOLA_EXIT_RUNTIME, "stats: %d channels in the data, %d in the preprocessing", C, p->channels);
  const long points = dataset_points(ds) * dataset_steps(ds);
  moments local[PREPROCESS_MAX_CHANNELS] = {{0}};
  float *x = lola_malloc(dataset_state_floats(ds) * sizeof(float), "stats window");
  long begin, end;
  comm_block(dataset_len(ds), rank, size, &begin, &end);
  progress prog;
  progress_begin(&prog, "stats", "state", end - begin);
  for (long w = begin; w < end; w++) {
    dataset_window(ds, w, x, NULL);
    preprocess_apply(p, x, (size_t)points);
    for (int c = 0; c < C; c++) {
      moments m = state_moments(x, points, C, c);
      moments_merge(&local[c], &m);
    }
    progress_update(&prog, w - begin + 1, NULL);
  }
  progress_end(&prog, end - begin, NULL);
  free(x);

  /* Every rank merges all shares in rank order: the same result everywhere. */
  moments *all = lola_malloc(sizeof(moments) * (size_t)C * (size_t)size, "stats shares");
  MPI_Allgather(local, (int)(sizeof(moments) * (size_t)C), MPI_BYTE, all, (int)(sizeof(moments) * (size_t)C),
                MPI_BYTE, MPI_COMM_WORLD);
  memset(out, 0, sizeof *out);
  out->channels = C;
  for (int c = 0; c < C; c++) {
    moments total = {0};
    for (int r = 0; r < size; r++) moments_merge(&total, &all[(size_t)r * (size_t)C + (size_t)c]);
    out->count = (long)total.n;
    out->mean[c] = total.mean;
    out->std[c] = total.n > 0 ? sqrt(total.m2 / total.n) : 0.0;
    out->min[c] = total.min;
    out->max[c] = total.max;
  }
  free(all);
}

static void write_list(FILE *f, const char *name, const double *v, int n, const char *prefix) {
  fprintf(f, "%s%s = [", prefix, name);
  for (int c = 0; c < n; c++) fprintf(f, "%s%.9g", c ? ", " : "", v[c]);
  fprintf(f, "];\n");
}

void field_stats_write_cfg(const field_stats *st, const dataset *ds, const char *what, const char *path) {
  if (comm_rank() != 0) return;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  fprintf(f, "# Per-field statistics after the transforms, written by `lola stats`: %s\n", what);
  fprintf(f, "# %ld values per field. Use it in place of a preset's stats group, inside the deck's\n",
          st->count);
  fprintf(f, "# dataset group (@include paths are relative to inputs/):\n");
  fprintf(f, "#   dataset = { @include \"presets/dataset/NAME.cfg\" ... @include \"<this file>\" };\n");
  fprintf(f, "# or as command-line overrides:\n#   dataset.stats.mean=[");
  for (int c = 0; c < st->channels; c++) fprintf(f, "%s%.9g", c ? "," : "", st->mean[c]);
  fprintf(f, "] dataset.stats.std=[");
  for (int c = 0; c < st->channels; c++) fprintf(f, "%s%.9g", c ? "," : "", st->std[c]);
  fprintf(f, "]\n");
  fprintf(f, "# fields: [");
  for (int c = 0; c < st->channels; c++) fprintf(f, "%s\"%s\"", c ? ", " : "", dataset_channel_name(ds, c));
  fprintf(f, "]\n");
  write_list(f, "min", st->min, st->channels, "# ");
  write_list(f, "max", st->max, st->channels, "# ");
  fprintf(f, "stats = {\n");
  write_list(f, "mean", st->mean, st->channels, "  ");
  write_list(f, "std", st->std, st->channels, "  ");
  fprintf(f, "};\n");
  fclose(f);
  atomic_write(path, text, len);
  free(text);
}
