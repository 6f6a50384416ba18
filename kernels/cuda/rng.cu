/* The CPU's counter-based streams on the GPU: the same (key, sample, element)
 * gives the same number on both sides (kernels/rng.h is host/device code). */
#include <math.h>

#include "common.cuh"
#include "kernels_cuda.h"

__global__ static void uniform(float *out, int64_t n, rng_key key, uint64_t sample, int64_t first) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t e = first + i;
    philox4x32_ctr w = rng_block(key, sample, (uint32_t)(e >> 2));
    out[i] = rng_word_to_uniform(w.v[e & 3]);
  }
}

__global__ static void normal(float *out, int64_t n, rng_key key, uint64_t sample, int64_t first) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t e = first + i, pair = e >> 1;
    philox4x32_ctr w = rng_block(key, sample, (uint32_t)(pair >> 1));
    int lane = (int)(pair & 1) * 2;
    double u1 = rng_word_to_uniform(w.v[lane]), u2 = rng_word_to_uniform(w.v[lane + 1]);
    double r = sqrt(-2.0 * log(u1)), angle = 2.0 * M_PI * u2;
    out[i] = (float)(r * ((e & 1) ? sin(angle) : cos(angle)));
  }
}

extern "C" void kc_rng_uniform(float *out, int64_t n, rng_key key, uint64_t sample, int64_t first) {
  uniform<<<kc_blocks(n, 256), 256, 0, kc_stream()>>>(out, n, key, sample, first);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_rng_normal(float *out, int64_t n, rng_key key, uint64_t sample, int64_t first) {
  normal<<<kc_blocks(n, 256), 256, 0, kc_stream()>>>(out, n, key, sample, first);
  KC_LAUNCH_CHECK();
}
