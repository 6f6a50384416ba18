/* Normalisations without affine parameters (kernels/norm.h).
 *
 * With y = (x - μ)·r, r = (v + eps)^(-1/2) and v = Σ(x - μ)² / nv, the input
 * gradient is dx = r·(dy - mean(dy) - y·Σ(dy·y) / nv); without centring
 * (RMSNorm, v = Σx² / n) it is dx = r·(dy - y·Σ(dy·y) / n). */
#include "../norm.h"
#include "kernels_cpu.h"

#include <math.h>

#include "../../src/error.h"
#include "target_clones.h"

/* Positions normalised together in the channel-first layer norm: the sums
 * run over channels for this many positions at once, in vector lanes. */
enum { NORM_LANES = 32 };

/* One contiguous set of n values: centred (layer norm, variance divided by
 * nv) or not (RMS norm). Two passes, in double, as torch.var_mean. */
K_CLONES static float normalize_row(float *y, const float *x, int64_t n, double nv, int centre) {
  double mean = 0.0;
  if (centre) {
#pragma omp simd reduction(+ : mean)
    for (int64_t i = 0; i < n; i++) mean += x[i];
    mean /= (double)n;
  }
  double ss = 0.0;
#pragma omp simd reduction(+ : ss)
  for (int64_t i = 0; i < n; i++) {
    double d = x[i] - mean;
    ss += d * d;
  }
  double r = 1.0 / sqrt(ss / nv + K_NORM_EPS);
  const float fm = (float)mean, fr = (float)r;
#pragma omp simd
  for (int64_t i = 0; i < n; i++) y[i] = (x[i] - fm) * fr;
  return fr;
}

K_CLONES static void normalize_row_bwd(float *dx, const float *dy, const float *y, float r, int64_t n,
                                       double nv, int centre) {
  double sdy = 0.0, sdyy = 0.0;
#pragma omp simd reduction(+ : sdy, sdyy)
  for (int64_t i = 0; i < n; i++) {
    sdy += dy[i];
    sdyy += (double)dy[i] * y[i];
  }
  float mdy = centre ? (float)(sdy / (double)n) : 0.0f, k = (float)(sdyy / nv);
#pragma omp simd
  for (int64_t i = 0; i < n; i++) dx[i] = r * (dy[i] - mdy - y[i] * k);
}

static void rows_fwd(float *y, float *rstd, const float *x, int64_t rows, int64_t dim, double nv,
                     int centre) {
#pragma omp parallel for schedule(static) if (rows * dim > 65536)
  for (int64_t r = 0; r < rows; r++) {
    float s = normalize_row(y + r * dim, x + r * dim, dim, nv, centre);
    if (rstd) rstd[r] = s;
  }
}

static void rows_bwd(float *dx, const float *dy, const float *y, const float *rstd, int64_t rows, int64_t dim,
                     double nv, int centre) {
#pragma omp parallel for schedule(static) if (rows * dim > 65536)
  for (int64_t r = 0; r < rows; r++)
    normalize_row_bwd(dx + r * dim, dy + r * dim, y + r * dim, rstd[r], dim, nv, centre);
}

void kcpu_layernorm_fwd(float *y, float *rstd, const float *x, int64_t rows, int64_t dim) {
  rows_fwd(y, rstd, x, rows, dim, (double)dim, 1);
}
void kcpu_layernorm_bwd(float *dx, const float *dy, const float *y, const float *rstd, int64_t rows,
                        int64_t dim) {
  rows_bwd(dx, dy, y, rstd, rows, dim, (double)dim, 1);
}

void kcpu_rmsnorm_fwd(float *y, float *rstd, const float *x, int64_t rows, int64_t dim) {
  rows_fwd(y, rstd, x, rows, dim, (double)dim, 0);
}
void kcpu_rmsnorm_bwd(float *dx, const float *dy, const float *y, const float *rstd, int64_t rows,
                      int64_t dim) {
  rows_bwd(dx, dy, y, rstd, rows, dim, (double)dim, 0);
}

/* Channel-first (B, C, P): a group of C/G channels of one sample is contiguous,
 * so group norm is the last-dim layer norm on (B·G, C/G·P). */
static void check_groups(int64_t channels, int64_t groups) {
  if (groups < 1 || channels % groups != 0)
    lola_die(LOLA_EXIT_RUNTIME, "groupnorm: %lld channels do not split into %lld groups", (long long)channels,
             (long long)groups);
}

void kcpu_groupnorm_fwd(float *y, float *rstd, const float *x, int64_t batch, int64_t channels,
                        int64_t groups, int64_t positions) {
  check_groups(channels, groups);
  int64_t n = channels / groups * positions;
  rows_fwd(y, rstd, x, batch * groups, n, (double)n, 1);
}

void kcpu_groupnorm_bwd(float *dx, const float *dy, const float *y, const float *rstd, int64_t batch,
                        int64_t channels, int64_t groups, int64_t positions) {
  check_groups(channels, groups);
  int64_t n = channels / groups * positions;
  rows_bwd(dx, dy, y, rstd, batch * groups, n, (double)n, 1);
}

/* ---- over channels at every position, unbiased variance ---- */

/* One sample's positions [p0, p0 + m), m <= NORM_LANES, at stride `positions`. */
K_CLONES static void channels_chunk_fwd(float *y, float *rstd, const float *x, int64_t channels,
                                        int64_t positions, int64_t m) {
  const double nv = (double)(channels - 1); /* torch.var_mean's default correction */
  double mean[NORM_LANES] = {0}, ss[NORM_LANES] = {0};
  float fm[NORM_LANES], fr[NORM_LANES];
  for (int64_t c = 0; c < channels; c++) {
    const float *xc = x + c * positions;
#pragma omp simd
    for (int64_t j = 0; j < m; j++) mean[j] += xc[j];
  }
#pragma omp simd
  for (int64_t j = 0; j < m; j++) mean[j] /= (double)channels;
  for (int64_t c = 0; c < channels; c++) {
    const float *xc = x + c * positions;
#pragma omp simd
    for (int64_t j = 0; j < m; j++) {
      double d = xc[j] - mean[j];
      ss[j] += d * d;
    }
  }
  for (int64_t j = 0; j < m; j++) {
    fm[j] = (float)mean[j];
    fr[j] = (float)(1.0 / sqrt(ss[j] / nv + K_NORM_EPS));
    if (rstd) rstd[j] = fr[j];
  }
  for (int64_t c = 0; c < channels; c++) {
    const float *xc = x + c * positions;
    float *yc = y + c * positions;
#pragma omp simd
    for (int64_t j = 0; j < m; j++) yc[j] = (xc[j] - fm[j]) * fr[j];
  }
}

K_CLONES static void channels_chunk_bwd(float *dx, const float *dy, const float *y, const float *rstd,
                                        int64_t channels, int64_t positions, int64_t m) {
  const double nv = (double)(channels - 1);
  double sdy[NORM_LANES] = {0}, sdyy[NORM_LANES] = {0};
  for (int64_t c = 0; c < channels; c++) {
    const float *dyc = dy + c * positions, *yc = y + c * positions;
#pragma omp simd
    for (int64_t j = 0; j < m; j++) {
      sdy[j] += dyc[j];
      sdyy[j] += (double)dyc[j] * yc[j];
    }
  }
  float mdy[NORM_LANES], k[NORM_LANES];
  for (int64_t j = 0; j < m; j++) {
    mdy[j] = (float)(sdy[j] / (double)channels);
    k[j] = (float)(sdyy[j] / nv);
  }
  for (int64_t c = 0; c < channels; c++) {
    const float *dyc = dy + c * positions, *yc = y + c * positions;
    float *dxc = dx + c * positions;
#pragma omp simd
    for (int64_t j = 0; j < m; j++) dxc[j] = rstd[j] * (dyc[j] - mdy[j] - yc[j] * k[j]);
  }
}

void kcpu_layernorm_channels_fwd(float *y, float *rstd, const float *x, int64_t batch, int64_t channels,
                                 int64_t positions) {
  const int64_t chunks = (positions + NORM_LANES - 1) / NORM_LANES;
#pragma omp parallel for schedule(static) if (batch * channels * positions > 65536)
  for (int64_t item = 0; item < batch * chunks; item++) {
    int64_t b = item / chunks, p0 = (item % chunks) * NORM_LANES;
    int64_t m = positions - p0 < NORM_LANES ? positions - p0 : NORM_LANES;
    int64_t off = b * channels * positions + p0;
    channels_chunk_fwd(y + off, rstd ? rstd + b * positions + p0 : NULL, x + off, channels, positions, m);
  }
}

void kcpu_layernorm_channels_bwd(float *dx, const float *dy, const float *y, const float *rstd, int64_t batch,
                                 int64_t channels, int64_t positions) {
  const int64_t chunks = (positions + NORM_LANES - 1) / NORM_LANES;
#pragma omp parallel for schedule(static) if (batch * channels * positions > 65536)
  for (int64_t item = 0; item < batch * chunks; item++) {
    int64_t b = item / chunks, p0 = (item % chunks) * NORM_LANES;
    int64_t m = positions - p0 < NORM_LANES ? positions - p0 : NORM_LANES;
    int64_t off = b * channels * positions + p0;
    channels_chunk_bwd(dx + off, dy + off, y + off, rstd + b * positions + p0, channels, positions, m);
  }
}
