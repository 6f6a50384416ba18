/* Fused multi-head attention (kernels/attention.h semantics): one warp per
 * query (forward, dq) or per key (dk, dv), an online softmax over the other
 * side, never a tokens² buffer. Scores are recomputed in the backward from the
 * saved log-sum-exp. Layout (B, L, H·D); head_dim up to 32·MAX_PER_LANE. */
#include <math.h>

#include "common.cuh"
#include "kernels_cuda.h"

/* attention_tc.cu: the tensor-core kernels, taken in the bf16 GEMM precision
 * when they support the shape (they return false otherwise). */
bool kc_attention_tc_fwd(float *y, float *lse, const float *q, const float *k, const float *v,
                         const bool *mask, int64_t batch, int64_t tokens, int64_t heads, int64_t head_dim);
bool kc_attention_tc_bwd(float *dq, float *dk, float *dv, const float *dy, const float *q, const float *k,
                         const float *v, const float *y, const float *lse, const bool *mask, int64_t batch,
                         int64_t tokens, int64_t heads, int64_t head_dim);

enum { WARPS = 4, MAX_PER_LANE = 8 };

__device__ static float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

struct heads {
  int64_t L, H, D;
  int64_t bh0; /* (sample, head) pair of blockIdx.y = 0: launches go in chunks of the grid's y limit */
  __device__ int64_t row(int64_t b, int64_t i, int64_t h) const { return ((b * L + i) * H + h) * D; }
};

__device__ static void load(float *r, const float *p, int64_t D, int lane) {
  for (int e = 0; e < MAX_PER_LANE; e++) {
    int64_t d = lane + 32 * e;
    r[e] = d < D ? p[d] : 0.0f;
  }
}

__device__ static float dot(const float *r, const float *p, int64_t D, int lane) {
  float s = 0;
  for (int e = 0; e < MAX_PER_LANE; e++) {
    int64_t d = lane + 32 * e;
    if (d < D) s += r[e] * p[d];
  }
  return warp_sum(s);
}

__global__ static void fwd(float *y, float *lse, const float *q, const float *k, const float *v,
                           const bool *mask, heads g, float scale) {
  int lane = threadIdx.x & 31;
  int64_t i = blockIdx.x * (int64_t)WARPS + (threadIdx.x >> 5), bh = g.bh0 + blockIdx.y, b = bh / g.H,
          h = bh % g.H;
  if (i >= g.L) return;
  float qr[MAX_PER_LANE], acc[MAX_PER_LANE] = {0};
  load(qr, q + g.row(b, i, h), g.D, lane);
  float m = -INFINITY, l = 0;
  for (int64_t j = 0; j < g.L; j++) {
    if (mask && !mask[i * g.L + j]) continue;
    float s = dot(qr, k + g.row(b, j, h), g.D, lane) * scale;
    float mn = fmaxf(m, s), corr = expf(m - mn), p = expf(s - mn);
    l = l * corr + p;
    const float *vr = v + g.row(b, j, h);
    for (int e = 0; e < MAX_PER_LANE; e++) {
      int64_t d = lane + 32 * e;
      acc[e] = acc[e] * corr + (d < g.D ? p * vr[d] : 0.0f);
    }
    m = mn;
  }
  float *yr = y + g.row(b, i, h);
  for (int e = 0; e < MAX_PER_LANE; e++) {
    int64_t d = lane + 32 * e;
    if (d < g.D) yr[d] = l > 0 ? acc[e] / l : 0.0f;
  }
  /* +inf marks a query with no allowed key, as the CPU kernel (and the backward skips it) */
  if (lane == 0) lse[(b * g.H + h) * g.L + i] = l > 0 ? m + logf(l) : INFINITY;
}

/* delta_i = dy_i · y_i */
__global__ static void delta(float *dlt, const float *dy, const float *y, heads g) {
  int lane = threadIdx.x & 31;
  int64_t i = blockIdx.x * (int64_t)WARPS + (threadIdx.x >> 5), bh = g.bh0 + blockIdx.y, b = bh / g.H,
          h = bh % g.H;
  if (i >= g.L) return;
  float r[MAX_PER_LANE];
  load(r, dy + g.row(b, i, h), g.D, lane);
  float s = dot(r, y + g.row(b, i, h), g.D, lane);
  if (lane == 0) dlt[(b * g.H + h) * g.L + i] = s;
}

__global__ static void grad_q(float *dq, const float *dy, const float *q, const float *k, const float *v,
                              const float *lse, const float *dlt, const bool *mask, heads g, float scale) {
  int lane = threadIdx.x & 31;
  int64_t i = blockIdx.x * (int64_t)WARPS + (threadIdx.x >> 5), bh = g.bh0 + blockIdx.y, b = bh / g.H,
          h = bh % g.H;
  if (i >= g.L) return;
  float qr[MAX_PER_LANE], dyr[MAX_PER_LANE], acc[MAX_PER_LANE] = {0};
  load(qr, q + g.row(b, i, h), g.D, lane);
  load(dyr, dy + g.row(b, i, h), g.D, lane);
  float li = lse[bh * g.L + i], di = dlt[bh * g.L + i];
  for (int64_t j = 0; j < g.L && isfinite(li); j++) {
    if (mask && !mask[i * g.L + j]) continue;
    float p = expf(dot(qr, k + g.row(b, j, h), g.D, lane) * scale - li);
    float ds = p * (dot(dyr, v + g.row(b, j, h), g.D, lane) - di);
    const float *kr = k + g.row(b, j, h);
    for (int e = 0; e < MAX_PER_LANE; e++) {
      int64_t d = lane + 32 * e;
      if (d < g.D) acc[e] += ds * kr[d];
    }
  }
  float *out = dq + g.row(b, i, h);
  for (int e = 0; e < MAX_PER_LANE; e++) {
    int64_t d = lane + 32 * e;
    if (d < g.D) out[d] = acc[e] * scale;
  }
}

__global__ static void grad_kv(float *dk, float *dv, const float *dy, const float *q, const float *k,
                               const float *v, const float *lse, const float *dlt, const bool *mask, heads g,
                               float scale) {
  int lane = threadIdx.x & 31;
  int64_t j = blockIdx.x * (int64_t)WARPS + (threadIdx.x >> 5), bh = g.bh0 + blockIdx.y, b = bh / g.H,
          h = bh % g.H;
  if (j >= g.L) return;
  float kr[MAX_PER_LANE], vr[MAX_PER_LANE], ak[MAX_PER_LANE] = {0}, av[MAX_PER_LANE] = {0};
  load(kr, k + g.row(b, j, h), g.D, lane);
  load(vr, v + g.row(b, j, h), g.D, lane);
  for (int64_t i = 0; i < g.L; i++) {
    float li = lse[bh * g.L + i];
    if ((mask && !mask[i * g.L + j]) || !isfinite(li)) continue;
    const float *qi = q + g.row(b, i, h), *dyi = dy + g.row(b, i, h);
    float p = expf(dot(kr, qi, g.D, lane) * scale - li);
    float ds = p * (dot(vr, dyi, g.D, lane) - dlt[bh * g.L + i]);
    for (int e = 0; e < MAX_PER_LANE; e++) {
      int64_t d = lane + 32 * e;
      if (d < g.D) {
        av[e] += p * dyi[d];
        ak[e] += ds * qi[d];
      }
    }
  }
  float *ok = dk + g.row(b, j, h), *ov = dv + g.row(b, j, h);
  for (int e = 0; e < MAX_PER_LANE; e++) {
    int64_t d = lane + 32 * e;
    if (d < g.D) {
      ok[d] = ak[e] * scale;
      ov[d] = av[e];
    }
  }
}

static const int64_t GRID_Y_MAX = 65535;

/* Pairs [bh0, bh0 + count) of `heads_n` heads on `tokens` tokens: count ≤ GRID_Y_MAX. */
static dim3 grid_of(int64_t tokens, int64_t count) {
  return dim3((unsigned)((tokens + WARPS - 1) / WARPS), (unsigned)count);
}

static void check_dim(int64_t head_dim) {
  if (head_dim > 32 * MAX_PER_LANE)
    lola_die(1, "CUDA attention: head_dim %lld exceeds %d", (long long)head_dim, 32 * MAX_PER_LANE);
}

extern "C" void kc_attention_fwd(float *y, float *lse, const float *q, const float *k, const float *v,
                                 const bool *mask, int64_t batch, int64_t tokens, int64_t heads_n,
                                 int64_t head_dim, float *work) {
  (void)work;
  if (kc_get_precision() == KC_BF16 &&
      kc_attention_tc_fwd(y, lse, q, k, v, mask, batch, tokens, heads_n, head_dim))
    return;
  if (batch == 0 || tokens == 0 || heads_n == 0) return;
  check_dim(head_dim);
  const int64_t pairs = batch * heads_n;
  for (int64_t bh0 = 0; bh0 < pairs; bh0 += GRID_Y_MAX) {
    heads g = {tokens, heads_n, head_dim, bh0};
    int64_t count = pairs - bh0 < GRID_Y_MAX ? pairs - bh0 : GRID_Y_MAX;
    fwd<<<grid_of(tokens, count), 32 * WARPS, 0, kc_stream()>>>(y, lse, q, k, v, mask, g,
                                                                1.0f / sqrtf((float)head_dim));
    KC_LAUNCH_CHECK();
  }
}

extern "C" void kc_attention_bwd(float *dq, float *dk, float *dv, const float *dy, const float *q,
                                 const float *k, const float *v, const float *y, const float *lse,
                                 const bool *mask, int64_t batch, int64_t tokens, int64_t heads_n,
                                 int64_t head_dim, float *work) {
  (void)work;
  if (kc_get_precision() == KC_BF16 &&
      kc_attention_tc_bwd(dq, dk, dv, dy, q, k, v, y, lse, mask, batch, tokens, heads_n, head_dim))
    return;
  if (batch == 0 || tokens == 0 || heads_n == 0) return;
  check_dim(head_dim);
  static float *dlt;
  static int64_t dlt_size;
  int64_t need = batch * heads_n * tokens;
  if (need > dlt_size) { /* grows once to the largest shape, then reused */
    if (dlt) CUDA_CHECK(cudaFree(dlt));
    CUDA_CHECK(cudaMalloc(&dlt, sizeof(float) * (size_t)need));
    dlt_size = need;
  }
  float scale = 1.0f / sqrtf((float)head_dim);
  const int64_t pairs = batch * heads_n;
  for (int64_t bh0 = 0; bh0 < pairs; bh0 += GRID_Y_MAX) {
    heads g = {tokens, heads_n, head_dim, bh0};
    dim3 grid = grid_of(tokens, pairs - bh0 < GRID_Y_MAX ? pairs - bh0 : GRID_Y_MAX);
    delta<<<grid, 32 * WARPS, 0, kc_stream()>>>(dlt, dy, y, g);
    KC_LAUNCH_CHECK();
    grad_q<<<grid, 32 * WARPS, 0, kc_stream()>>>(dq, dy, q, k, v, lse, dlt, mask, g, scale);
    KC_LAUNCH_CHECK();
    grad_kv<<<grid, 32 * WARPS, 0, kc_stream()>>>(dk, dv, dy, q, k, v, lse, dlt, mask, g, scale);
    KC_LAUNCH_CHECK();
  }
}
