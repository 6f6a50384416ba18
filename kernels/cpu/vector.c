/* Flat-array operations (kernels/vector.h). */
#include "../vector.h"
#include "kernels_cpu.h"

#include <stdlib.h>
#include <string.h>

enum { PAR_MIN = 65536 }; /* below this many elements a parallel region costs more than it saves */

void kcpu_fill(float *y, float value, int64_t n) {
  if (value == 0.0f) {
    memset(y, 0, (size_t)n * sizeof *y);
    return;
  }
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t i = 0; i < n; i++) y[i] = value;
}

void kcpu_copy(float *y, const float *x, int64_t n) { memcpy(y, x, (size_t)n * sizeof *y); }

void kcpu_add(float *y, const float *x, int64_t n) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

void kcpu_scal(float *y, float a, int64_t n) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t i = 0; i < n; i++) y[i] *= a;
}

void kcpu_mul(float *y, const float *x, const float *z, int64_t n) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t i = 0; i < n; i++) y[i] = x[i] * z[i];
}

void kcpu_add_row(float *y, const float *x, const float *row, int64_t batch, int64_t n) {
#pragma omp parallel for schedule(static) if (batch * n > PAR_MIN)
  for (int64_t b = 0; b < batch; b++)
    for (int64_t i = 0; i < n; i++) y[b * n + i] = x[b * n + i] + row[i];
}

void kcpu_sum_rows(float *y, const float *x, int64_t batch, int64_t n) {
#pragma omp parallel for schedule(static) if (batch * n > PAR_MIN)
  for (int64_t i = 0; i < n; i++) {
    double s = 0;
    for (int64_t b = 0; b < batch; b++) s += x[b * n + i];
    y[i] = (float)s;
  }
}

void kcpu_axpby_rows(float *y, const float *a, const float *x, const float *c, const float *z, int64_t batch,
                     int64_t n) {
#pragma omp parallel for schedule(static) if (batch * n > PAR_MIN)
  for (int64_t b = 0; b < batch; b++) {
    float ab = a[b], cb = c && z ? c[b] : 0.0f;
    for (int64_t i = b * n; i < (b + 1) * n; i++) y[i] = c && z ? ab * x[i] + cb * z[i] : ab * x[i];
  }
}

void kcpu_diff_rows(float *y, const float *a, const float *x, const float *z, int64_t batch, int64_t n) {
#pragma omp parallel for schedule(static) if (batch * n > PAR_MIN)
  for (int64_t b = 0; b < batch; b++)
    for (int64_t i = b * n; i < (b + 1) * n; i++) y[i] = a[b] * (x[i] - z[i]);
}

void kcpu_select(float *y, const float *mask, const float *a, const float *b, int64_t n) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t i = 0; i < n; i++) y[i] = mask[i] != 0 ? (a ? a[i] : 0.0f) : (b ? b[i] : 0.0f);
}

double kcpu_weighted_sse(const float *p, const float *t, const float *w, int64_t batch, int64_t n) {
  double total = 0;
  for (int64_t b = 0; b < batch; b++) {
    double s = 0;
    for (int64_t i = b * n; i < (b + 1) * n; i++) {
      double e = (double)p[i] - t[i];
      s += e * e;
    }
    total += s * w[b];
  }
  return total;
}

void kcpu_window_mask(bool *mask, int dims, const int64_t *grid, const int *window) {
  int64_t L = 1;
  for (int d = 0; d < dims; d++) L *= grid[d];
#pragma omp parallel for schedule(static) if (L > 256)
  for (int64_t i = 0; i < L; i++)
    for (int64_t j = 0; j < L; j++) {
      bool ok = true;
      int64_t ri = i, rj = j;
      for (int d = dims - 1; d >= 0 && ok; d--) { /* row-major: the last axis varies fastest */
        int64_t delta = llabs(ri % grid[d] - rj % grid[d]);
        ri /= grid[d], rj /= grid[d];
        if (grid[d] - delta < delta) delta = grid[d] - delta;
        ok = window[d] <= 0 || delta <= window[d] / 2;
      }
      mask[i * L + j] = ok;
    }
}
