/* Nearest upsampling and the channel RMS norm of the DCAE autoencoder
 * (kernels/dcae.h), on the CPU. */
#include <math.h>

#include "kernels_cpu.h"

/* Extents padded to three dims, outermost first. */
static void geometry(int64_t n[3], int f[3], int dims, const int64_t *in, const int *factor) {
  for (int d = 0; d < 3; d++) {
    int e = d - (3 - dims);
    n[d] = e < 0 ? 1 : in[e];
    f[d] = e < 0 ? 1 : factor[e];
  }
}

void kcpu_upsample_nearest_fwd(float *y, const float *x, int64_t rows, int dims, const int64_t *in,
                               const int *factor) {
  int64_t n[3];
  int f[3];
  geometry(n, f, dims, in, factor);
  int64_t o1 = n[1] * f[1], o2 = n[2] * f[2], vin = n[0] * n[1] * n[2], vout = vin * f[0] * f[1] * f[2];
#pragma omp parallel for schedule(static) if (rows * vout > 65536)
  for (int64_t r = 0; r < rows; r++)
    for (int64_t j0 = 0; j0 < n[0] * f[0]; j0++)
      for (int64_t j1 = 0; j1 < o1; j1++) {
        const float *src = x + r * vin + ((j0 / f[0]) * n[1] + j1 / f[1]) * n[2];
        float *dst = y + r * vout + (j0 * o1 + j1) * o2;
        for (int64_t j2 = 0; j2 < o2; j2++) dst[j2] = src[j2 / f[2]];
      }
}

void kcpu_upsample_nearest_bwd(float *dx, const float *dy, int64_t rows, int dims, const int64_t *in,
                               const int *factor) {
  int64_t n[3];
  int f[3];
  geometry(n, f, dims, in, factor);
  int64_t o1 = n[1] * f[1], o2 = n[2] * f[2], vin = n[0] * n[1] * n[2], vout = vin * f[0] * f[1] * f[2];
#pragma omp parallel for schedule(static) if (rows * vout > 65536)
  for (int64_t r = 0; r < rows; r++) {
    float *dst = dx + r * vin;
    for (int64_t i = 0; i < vin; i++) dst[i] = 0.0f;
    /* Each row sums its own copies in increasing output order: thread-count independent. */
    for (int64_t j0 = 0; j0 < n[0] * f[0]; j0++)
      for (int64_t j1 = 0; j1 < o1; j1++) {
        float *cell = dst + ((j0 / f[0]) * n[1] + j1 / f[1]) * n[2];
        const float *src = dy + r * vout + (j0 * o1 + j1) * o2;
        for (int64_t j2 = 0; j2 < o2; j2++) cell[j2 / f[2]] += src[j2];
      }
  }
}

enum { RMS_EPS_INV = 100000 }; /* the reference's 1e-5 */

void kcpu_rmsnorm_channels_fwd(float *y, const float *x, int64_t B, int64_t C, int64_t P) {
#pragma omp parallel for collapse(2) schedule(static) if (B * C * P > 32768)
  for (int64_t b = 0; b < B; b++)
    for (int64_t p = 0; p < P; p++) {
      const float *xs = x + b * C * P + p;
      double ss = 0.0;
      for (int64_t c = 0; c < C; c++) ss += (double)xs[c * P] * xs[c * P];
      float r = (float)(1.0 / sqrt(ss / (double)C + 1.0 / RMS_EPS_INV));
      for (int64_t c = 0; c < C; c++) y[b * C * P + c * P + p] = xs[c * P] * r;
    }
}

void kcpu_rmsnorm_channels_bwd(float *dx, const float *dy, const float *x, const float *y, int64_t B,
                               int64_t C, int64_t P) {
#pragma omp parallel for collapse(2) schedule(static) if (B * C * P > 32768)
  for (int64_t b = 0; b < B; b++)
    for (int64_t p = 0; p < P; p++) {
      int64_t at = b * C * P + p;
      double ss = 0.0, dot = 0.0;
      for (int64_t c = 0; c < C; c++) {
        ss += (double)x[at + c * P] * x[at + c * P];
        dot += (double)dy[at + c * P] * y[at + c * P];
      }
      double r = 1.0 / sqrt(ss / (double)C + 1.0 / RMS_EPS_INV), k = dot / (double)C;
      for (int64_t c = 0; c < C; c++) dx[at + c * P] = (float)(r * (dy[at + c * P] - y[at + c * P] * k));
    }
}
