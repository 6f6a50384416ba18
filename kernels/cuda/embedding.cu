/* Sinusoidal encoding (kernels/embedding.h): sin / cos in double of the float
 * product x·f, as the CPU. */
#include "../embedding.h"
#include "common.cuh"
#include "kernels_cuda.h"

#define GRID_STRIDE(i, n)                                                   \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); \
       i += (int64_t)gridDim.x * blockDim.x)

enum { THREADS = 256, WARPS = 4 };

static int64_t half_of(int64_t features) {
  if (features < 2 || features % 2 != 0)
    lola_die(1, "sine encoding: %lld features (a positive even number is needed)", (long long)features);
  return features / 2;
}

/* One thread per output entry (r, j): j < f is sin(x·f_j), else cos(x·f_{j-f}). */
__global__ static void sine_fwd_k(float *y, const float *x, const float *freqs, int64_t n, int64_t f) {
  GRID_STRIDE(i, n * 2 * f) {
    int64_t r = i / (2 * f), j = i % (2 * f);
    double a = x[r] * freqs[j < f ? j : j - f]; /* the float product */
    y[i] = (float)(j < f ? sin(a) : cos(a));
  }
}

/* One warp per row: dx[r] = Σ_i f_i·(dy[r, i]·cos a_i − dy[r, f+i]·sin a_i), in
 * double; each lane sums a fixed stride, then a fixed shuffle tree. */
__global__ static void sine_bwd_k(float *dx, const float *dy, const float *x, const float *freqs, int64_t n,
                                  int64_t f) {
  int lane = threadIdx.x & 31;
  int64_t r = blockIdx.x * (int64_t)WARPS + (threadIdx.x >> 5);
  if (r >= n) return;
  const float *dr = dy + r * 2 * f;
  double s = 0.0;
  for (int64_t i = lane; i < f; i += 32) {
    double a = x[r] * freqs[i];
    s += freqs[i] * (dr[i] * cos(a) - dr[f + i] * sin(a));
  }
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
  if (lane == 0) dx[r] = (float)s;
}

extern "C" void kc_sine_encoding_fwd(float *y, const float *x, const float *freqs, int64_t n,
                                     int64_t features) {
  int64_t f = half_of(features);
  if (n <= 0) return;
  sine_fwd_k<<<kc_blocks(n * features, THREADS), THREADS, 0, kc_stream()>>>(y, x, freqs, n, f);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_sine_encoding_bwd(float *dx, const float *dy, const float *x, const float *freqs,
                                     int64_t n, int64_t features) {
  int64_t f = half_of(features);
  if (n <= 0 || !dx) return;
  int64_t blocks = (n + WARPS - 1) / WARPS;
  if (blocks > 0x7fffffffLL) lola_die(1, "sine encoding: %lld rows too many", (long long)n);
  sine_bwd_k<<<(unsigned)blocks, 32 * WARPS, 0, kc_stream()>>>(dx, dy, x, freqs, n, f);
  KC_LAUNCH_CHECK();
}
