/* Inverted dropout on the CPU's Philox streams, and the per-sample scaling of
 * kernels/elementwise.h. Both may run in place (y == x, dx == dy). */
#include "common.cuh"
#include "kernels_cuda.h"

#define GRID_STRIDE(i, n)                                                   \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); \
       i += (int64_t)gridDim.x * blockDim.x)

enum { THREADS = 256, SCALE_THREADS = 256 };

/* One thread per Philox block (four elements of one sample), as the CPU:
 * element e of sample b is kept when the uniform of word e of
 * (key, first_sample + b) is >= p. */
__global__ static void dropout_k(float *dst, const float *src, int64_t batch, int64_t per_sample,
                                 int64_t blocks, float p, float keep_scale, rng_key key,
                                 uint64_t first_sample) {
  GRID_STRIDE(bb, batch * blocks) {
    int64_t b = bb / blocks, blk = bb % blocks;
    philox4x32_ctr w = rng_block(key, first_sample + (uint64_t)b, (uint32_t)blk);
    for (int lane = 0; lane < 4; lane++) {
      int64_t e = blk * 4 + lane;
      if (e >= per_sample) break;
      int64_t i = b * per_sample + e;
      dst[i] = rng_word_to_uniform(w.v[lane]) >= p ? src[i] * keep_scale : 0.0f;
    }
  }
}

static void apply_dropout(float *dst, const float *src, int64_t batch, int64_t per_sample, float p,
                          rng_key key, uint64_t first_sample) {
  int64_t total = batch * per_sample;
  if (total <= 0) return;
  if (p <= 0.0f) {
    if (dst != src)
      CUDA_CHECK(
          cudaMemcpyAsync(dst, src, (size_t)total * sizeof *dst, cudaMemcpyDeviceToDevice, kc_stream()));
    return;
  }
  if (p >= 1.0f) {
    CUDA_CHECK(cudaMemsetAsync(dst, 0, (size_t)total * sizeof *dst, kc_stream()));
    return;
  }
  float keep_scale = 1.0f / (1.0f - p);
  int64_t blocks = (per_sample + 3) / 4;
  dropout_k<<<kc_blocks(batch * blocks, THREADS), THREADS, 0, kc_stream()>>>(
      dst, src, batch, per_sample, blocks, p, keep_scale, key, first_sample);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_dropout_fwd(float *y, const float *x, int64_t batch, int64_t per_sample, float p,
                               rng_key key, uint64_t first_sample) {
  apply_dropout(y, x, batch, per_sample, p, key, first_sample);
}

extern "C" void kc_dropout_bwd(float *dx, const float *dy, int64_t batch, int64_t per_sample, float p,
                               rng_key key, uint64_t first_sample) {
  apply_dropout(dx, dy, batch, per_sample, p, key, first_sample);
}

/* ---- per-sample scaling ---- */

__global__ static void scale_fwd_k(float *y, const float *x, const float *s, int64_t total,
                                   int64_t per_sample) {
  GRID_STRIDE(i, total) { y[i] = s[i / per_sample] * x[i]; }
}

/* ds[b] += Σ_i dy[b, i]·x[b, i]: one block per sample, in double, a fixed tree. */
__global__ static void scale_ds_k(float *ds, const float *dy, const float *x, int64_t per_sample) {
  __shared__ double part[SCALE_THREADS];
  const int64_t base = blockIdx.x * per_sample;
  double acc = 0.0;
  for (int64_t i = threadIdx.x; i < per_sample; i += SCALE_THREADS) acc += (double)dy[base + i] * x[base + i];
  part[threadIdx.x] = acc;
  __syncthreads();
  for (int w = SCALE_THREADS / 2; w > 0; w >>= 1) {
    if ((int)threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) ds[blockIdx.x] += (float)part[0];
}

extern "C" void kc_scale_fwd(float *y, const float *x, const float *s, int64_t batch, int64_t per_sample) {
  if (batch <= 0 || per_sample <= 0) return;
  scale_fwd_k<<<kc_blocks(batch * per_sample, THREADS), THREADS, 0, kc_stream()>>>(
      y, x, s, batch * per_sample, per_sample);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_scale_bwd(float *dx, float *ds, const float *dy, const float *x, const float *s,
                             int64_t batch, int64_t per_sample) {
  if (batch <= 0) return;
  /* ds first: dx may overwrite dy (in place); the stream orders the two. */
  if (ds) {
    if (batch > 0x7fffffffLL) lola_die(1, "scale: batch %lld too large", (long long)batch);
    scale_ds_k<<<(unsigned)batch, SCALE_THREADS, 0, kc_stream()>>>(ds, dy, x, per_sample);
    KC_LAUNCH_CHECK();
  }
  if (dx) kc_scale_fwd(dx, dy, s, batch, per_sample);
}
