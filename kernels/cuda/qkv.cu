/* The split of the qkv projection's output into q, k, v (kernels/attention.h)
 * and its backward, the interleave: one thread per (row, channel), every
 * access coalesced along the channels. */
#include "common.cuh"
#include "kernels_cuda.h"

#define GRID_STRIDE(i, n)                                                   \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); \
       i += (int64_t)gridDim.x * blockDim.x)

enum { THREADS = 256 };

__global__ static void split_k(float *q, float *k, float *v, const float *qkv, int64_t total,
                               int64_t channels) {
  GRID_STRIDE(i, total) {
    const float *src = qkv + (i / channels) * 3 * channels + i % channels;
    q[i] = src[0];
    k[i] = src[channels];
    v[i] = src[2 * channels];
  }
}

__global__ static void merge_k(float *qkv, const float *q, const float *k, const float *v, int64_t total,
                               int64_t channels) {
  GRID_STRIDE(i, total) {
    float *dst = qkv + (i / channels) * 3 * channels + i % channels;
    dst[0] = q[i];
    dst[channels] = k[i];
    dst[2 * channels] = v[i];
  }
}

extern "C" void kc_qkv_split_fwd(float *q, float *k, float *v, const float *qkv, int64_t rows,
                                 int64_t channels) {
  if (rows * channels <= 0) return;
  split_k<<<kc_blocks(rows * channels, THREADS), THREADS, 0, kc_stream()>>>(q, k, v, qkv, rows * channels,
                                                                            channels);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_qkv_split_bwd(float *dqkv, const float *dq, const float *dk, const float *dv, int64_t rows,
                                 int64_t channels) {
  if (rows * channels <= 0) return;
  merge_k<<<kc_blocks(rows * channels, THREADS), THREADS, 0, kc_stream()>>>(dqkv, dq, dk, dv, rows * channels,
                                                                            channels);
  KC_LAUNCH_CHECK();
}
