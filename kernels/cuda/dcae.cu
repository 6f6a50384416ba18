/* Nearest upsampling and the channel RMS norm of the DCAE autoencoder
 * (kernels/dcae.h) on the GPU: one thread per output element (upsampling),
 * per input element summing its copies in the CPU's order (the adjoint), or
 * per (sample, position) with the channel sums in double (the RMS norm). The
 * results match the CPU twins bit for bit up to the compiler's contraction
 * of the float products. */
#include <math.h>

#include "common.cuh"
#include "kernels_cuda.h"

#define GRID_STRIDE(i, n)                                                   \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); \
       i += (int64_t)gridDim.x * blockDim.x)

enum { THREADS = 256 };

/* Extents and factors padded to three dims, outermost first, passed by value. */
typedef struct {
  int64_t n[3];
  int f[3];
} up_geom;

static up_geom geometry(int dims, const int64_t *in, const int *factor) {
  up_geom g;
  for (int d = 0; d < 3; d++) {
    int e = d - (3 - dims);
    g.n[d] = e < 0 ? 1 : in[e];
    g.f[d] = e < 0 ? 1 : factor[e];
  }
  return g;
}

__global__ static void upsample_fwd_k(float *y, const float *x, int64_t total, up_geom g) {
  const int64_t o0 = g.n[0] * g.f[0], o1 = g.n[1] * g.f[1], o2 = g.n[2] * g.f[2];
  const int64_t vin = g.n[0] * g.n[1] * g.n[2], vout = o0 * o1 * o2;
  GRID_STRIDE(i, total) {
    int64_t r = i / vout, j = i % vout;
    int64_t j2 = j % o2, j1 = (j / o2) % o1, j0 = j / (o1 * o2);
    y[i] = x[r * vin + ((j0 / g.f[0]) * g.n[1] + j1 / g.f[1]) * g.n[2] + j2 / g.f[2]];
  }
}

/* dx[r, i] = Σ over the copies of i in increasing output index (j0, j1, j2 lexicographic), as the CPU. */
__global__ static void upsample_bwd_k(float *dx, const float *dy, int64_t total, up_geom g) {
  const int64_t o1 = g.n[1] * g.f[1], o2 = g.n[2] * g.f[2];
  const int64_t vin = g.n[0] * g.n[1] * g.n[2], vout = vin * g.f[0] * g.f[1] * g.f[2];
  GRID_STRIDE(i, total) {
    int64_t r = i / vin, c = i % vin;
    int64_t i2 = c % g.n[2], i1 = (c / g.n[2]) % g.n[1], i0 = c / (g.n[1] * g.n[2]);
    const float *src = dy + r * vout;
    float acc = 0.0f;
    for (int a = 0; a < g.f[0]; a++)
      for (int b = 0; b < g.f[1]; b++) {
        const float *row = src + ((i0 * g.f[0] + a) * o1 + i1 * g.f[1] + b) * o2 + i2 * g.f[2];
        for (int e = 0; e < g.f[2]; e++) acc += row[e];
      }
    dx[i] = acc;
  }
}

extern "C" void kc_upsample_nearest_fwd(float *y, const float *x, int64_t rows, int dims, const int64_t *in,
                                        const int *factor) {
  up_geom g = geometry(dims, in, factor);
  int64_t total = rows * g.n[0] * g.n[1] * g.n[2] * g.f[0] * g.f[1] * g.f[2];
  if (total <= 0) return;
  upsample_fwd_k<<<kc_blocks(total, THREADS), THREADS, 0, kc_stream()>>>(y, x, total, g);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_upsample_nearest_bwd(float *dx, const float *dy, int64_t rows, int dims, const int64_t *in,
                                        const int *factor) {
  up_geom g = geometry(dims, in, factor);
  int64_t total = rows * g.n[0] * g.n[1] * g.n[2];
  if (total <= 0) return;
  upsample_bwd_k<<<kc_blocks(total, THREADS), THREADS, 0, kc_stream()>>>(dx, dy, total, g);
  KC_LAUNCH_CHECK();
}

/* eps = the reference's 1e-5, written 1.0 / 100000 as on the CPU. */

__global__ static void rmsnorm_channels_fwd_k(float *y, const float *x, int64_t B, int64_t C, int64_t P) {
  GRID_STRIDE(i, B * P) {
    int64_t b = i / P, p = i % P, at = b * C * P + p;
    double ss = 0.0;
    for (int64_t c = 0; c < C; c++) {
      double v = (double)x[at + c * P];
      ss = __dadd_rn(ss, __dmul_rn(v, v));
    }
    float r = (float)(1.0 / sqrt(ss / (double)C + 1.0 / 100000.0));
    for (int64_t c = 0; c < C; c++) y[at + c * P] = __fmul_rn(x[at + c * P], r);
  }
}

__global__ static void rmsnorm_channels_bwd_k(float *dx, const float *dy, const float *x, const float *y,
                                              int64_t B, int64_t C, int64_t P) {
  GRID_STRIDE(i, B * P) {
    int64_t b = i / P, p = i % P, at = b * C * P + p;
    double ss = 0.0, dot = 0.0;
    for (int64_t c = 0; c < C; c++) {
      double v = (double)x[at + c * P];
      ss = __dadd_rn(ss, __dmul_rn(v, v));
      dot = __dadd_rn(dot, __dmul_rn((double)dy[at + c * P], (double)y[at + c * P]));
    }
    double r = 1.0 / sqrt(ss / (double)C + 1.0 / 100000.0), k = dot / (double)C;
    for (int64_t c = 0; c < C; c++)
      dx[at + c * P] =
          (float)__dmul_rn(r, __dsub_rn((double)dy[at + c * P], __dmul_rn((double)y[at + c * P], k)));
  }
}

extern "C" void kc_rmsnorm_channels_fwd(float *y, const float *x, int64_t batch, int64_t channels,
                                        int64_t positions) {
  if (batch * positions <= 0) return;
  rmsnorm_channels_fwd_k<<<kc_blocks(batch * positions, THREADS), THREADS, 0, kc_stream()>>>(
      y, x, batch, channels, positions);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_rmsnorm_channels_bwd(float *dx, const float *dy, const float *x, const float *y,
                                        int64_t batch, int64_t channels, int64_t positions) {
  if (batch * positions <= 0) return;
  rmsnorm_channels_bwd_k<<<kc_blocks(batch * positions, THREADS), THREADS, 0, kc_stream()>>>(
      dx, dy, x, y, batch, channels, positions);
  KC_LAUNCH_CHECK();
}
