/* Nearest upsampling (src/dcae_upsample.h). */
#include "dcae_upsample.h"

/* Extents padded to three dims, outermost first. */
static void geometry(int64_t n[3], int f[3], int dims, const int64_t *in, const int *factor) {
  for (int d = 0; d < 3; d++) {
    int e = d - (3 - dims);
    n[d] = e < 0 ? 1 : in[e];
    f[d] = e < 0 ? 1 : factor[e];
  }
}

void dcae_upsample_fwd(float *y, const float *x, int64_t rows, int dims, const int64_t *in,
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

void dcae_upsample_bwd(float *dx, const float *dy, int64_t rows, int dims, const int64_t *in,
                       const int *factor) {
  int64_t n[3];
  int f[3];
  geometry(n, f, dims, in, factor);
  int64_t o1 = n[1] * f[1], o2 = n[2] * f[2], vin = n[0] * n[1] * n[2], vout = vin * f[0] * f[1] * f[2];
#pragma omp parallel for schedule(static) if (rows * vout > 65536)
  for (int64_t r = 0; r < rows; r++) {
    float *dst = dx + r * vin;
    for (int64_t i = 0; i < vin; i++) dst[i] = 0.0f;
    /* Each row sums its own copies in a fixed order: thread-count independent. */
    for (int64_t j0 = 0; j0 < n[0] * f[0]; j0++)
      for (int64_t j1 = 0; j1 < o1; j1++) {
        float *cell = dst + ((j0 / f[0]) * n[1] + j1 / f[1]) * n[2];
        const float *src = dy + r * vout + (j0 * o1 + j1) * o2;
        for (int64_t j2 = 0; j2 < o2; j2++) cell[j2 / f[2]] += src[j2];
      }
  }
}
