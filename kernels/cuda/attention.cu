/* Fused multi-head attention (kernels/attention.h semantics) in fp32: an
 * online softmax over tiles of 32 keys, never a tokens² buffer. A block
 * takes 16 rows (queries in the forward and dq, keys in dk/dv; two per warp)
 * and walks the other side a tile at a time through shared memory, so every
 * tile read from memory serves 16 rows. Inside a tile, lane t owns row t of
 * the tile: it computes that score with a whole dot product from shared
 * memory, and the warp then spreads the 32 weights over the head dimensions
 * (lane + 32·e). Scores are recomputed in the backward from the saved
 * log-sum-exp. Layout (B, L, H·D); head_dim up to 32·MAX_PER_LANE. */
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

enum { TILE = 32, WARPS = 8, PER_WARP = 2, ROWS = WARPS * PER_WARP, MAX_PER_LANE = 8 };

__device__ static float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ static float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

struct heads {
  int64_t L, H, D;
  int64_t bh0; /* (sample, head) pair of blockIdx.y = 0: launches go in chunks of the grid's y limit */
  __device__ int64_t row(int64_t b, int64_t i, int64_t h) const { return ((b * L + i) * H + h) * D; }
};

/* A block's shared memory: its rows' two vectors (q and dy, or k and v),
 * D floats each; the tile's two matrices, rows padded to D + 1 floats so
 * that lane t's row starts in bank t; 2 × 32 weights per warp. */
struct tiles {
  float *own_a, *own_b, *tile_a, *tile_b, *weights;
};
static size_t tiles_bytes(int64_t D) {
  return sizeof(float) * (size_t)(2 * ROWS * D + 2 * TILE * (D + 1) + WARPS * 2 * TILE);
}
__device__ static tiles carve(float *smem, int64_t D) {
  tiles t;
  t.own_a = smem;
  t.own_b = t.own_a + ROWS * D;
  t.tile_a = t.own_b + ROWS * D;
  t.tile_b = t.tile_a + TILE * (D + 1);
  t.weights = t.tile_b + TILE * (D + 1) + (threadIdx.x >> 5) * 2 * TILE;
  return t;
}

/* rows [r0, r0 + n) of a and b (zeros past the last token) into dst_a and
 * dst_b with row stride `stride`, by the whole block; b may be NULL. */
__device__ static void stage(float *dst_a, float *dst_b, const float *a, const float *b, heads g, int64_t s,
                             int64_t h, int64_t r0, int n, int64_t stride) {
  for (int64_t x = threadIdx.x; x < n * g.D; x += blockDim.x) {
    const int64_t r = x / g.D, d = x % g.D, i = r0 + r;
    dst_a[r * stride + d] = i < g.L ? a[g.row(s, i, h) + d] : 0.0f;
    if (b) dst_b[r * stride + d] = i < g.L ? b[g.row(s, i, h) + d] : 0.0f;
  }
}

/* The tile of rows [t0, t0 + TILE) of a and b, once every warp is done
 * with the last one (and with staging the block's own rows); how many rows
 * it has. Called by the whole block. */
__device__ static int next_tile(const tiles &s, const float *a, const float *b, heads g, int64_t bi,
                                int64_t h, int64_t t0) {
  __syncthreads();
  stage(s.tile_a, s.tile_b, a, b, g, bi, h, t0, TILE, g.D + 1);
  __syncthreads();
  return g.L - t0 < TILE ? (int)(g.L - t0) : TILE;
}

__device__ static float dot_shared(const float *x, const float *y, int64_t D) {
  float s = 0;
  for (int64_t d = 0; d < D; d++) s += x[d] * y[d];
  return s;
}

/* acc[e] += Σ_t w[t] · m[t][lane + 32·e] over the n rows of a tile. */
__device__ static void spread(float *acc, const float *w, const float *m, int n, int64_t D, int lane) {
  for (int t = 0; t < n; t++) {
    const float wt = w[t];
#pragma unroll
    for (int e = 0; e < MAX_PER_LANE; e++) {
      const int64_t d = lane + 32 * e;
      if (d < D) acc[e] += wt * m[t * (D + 1) + d];
    }
  }
}

__device__ static void store_row(float *out, const float *acc, float factor, int64_t D, int lane) {
#pragma unroll
  for (int e = 0; e < MAX_PER_LANE; e++) {
    const int64_t d = lane + 32 * e;
    if (d < D) out[d] = acc[e] * factor;
  }
}

__global__ static void fwd(float *y, float *lse, const float *q, const float *k, const float *v,
                           const bool *mask, heads g, float scale) {
  extern __shared__ float smem[];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t bh = g.bh0 + blockIdx.y, b = bh / g.H, h = bh % g.H, i0 = blockIdx.x * (int64_t)ROWS;
  const tiles s = carve(smem, g.D);
  stage(s.own_a, s.own_b, q, NULL, g, b, h, i0, ROWS, g.D);
  float m[PER_WARP], l[PER_WARP], acc[PER_WARP][MAX_PER_LANE];
#pragma unroll
  for (int w = 0; w < PER_WARP; w++) {
    m[w] = -INFINITY, l[w] = 0;
#pragma unroll
    for (int e = 0; e < MAX_PER_LANE; e++) acc[w][e] = 0;
  }
  for (int64_t j0 = 0; j0 < g.L; j0 += TILE) {
    const int n = next_tile(s, k, v, g, b, h, j0);
    const int64_t j = j0 + lane;
#pragma unroll
    for (int w = 0; w < PER_WARP; w++) {
      const int r = warp * PER_WARP + w;
      const int64_t i = i0 + r;
      if (i >= g.L) continue;
      float sc = -INFINITY; /* Eq. softmax(q·k / √D): this lane's key */
      if (j < g.L && (!mask || mask[i * g.L + j]))
        sc = dot_shared(s.own_a + r * g.D, s.tile_a + lane * (g.D + 1), g.D) * scale;
      const float tile_max = warp_max(sc);
      if (tile_max == -INFINITY) continue; /* no allowed key in this tile */
      const float mn = fmaxf(m[w], tile_max), corr = expf(m[w] - mn), p = expf(sc - mn);
      l[w] = l[w] * corr + warp_sum(p);
      m[w] = mn;
#pragma unroll
      for (int e = 0; e < MAX_PER_LANE; e++) acc[w][e] *= corr;
      s.weights[lane] = p;
      __syncwarp();
      spread(acc[w], s.weights, s.tile_b, n, g.D, lane);
      __syncwarp(); /* the weights are read before the next row writes them */
    }
  }
#pragma unroll
  for (int w = 0; w < PER_WARP; w++) {
    const int64_t i = i0 + warp * PER_WARP + w;
    if (i >= g.L) continue;
    store_row(y + g.row(b, i, h), acc[w], l[w] > 0 ? 1.0f / l[w] : 0.0f, g.D, lane);
    /* +inf marks a query with no allowed key, as the CPU kernel (and the backward skips it) */
    if (lane == 0) lse[bh * g.L + i] = l[w] > 0 ? m[w] + logf(l[w]) : INFINITY;
  }
}

/* delta_i = dy_i · y_i: one warp a row. */
__global__ static void delta(float *dlt, const float *dy, const float *y, heads g) {
  const int lane = threadIdx.x & 31;
  const int64_t i = blockIdx.x * (int64_t)WARPS + (threadIdx.x >> 5), bh = g.bh0 + blockIdx.y, b = bh / g.H,
                h = bh % g.H;
  if (i >= g.L) return;
  const float *a = dy + g.row(b, i, h), *c = y + g.row(b, i, h);
  float s = 0;
  for (int64_t d = lane; d < g.D; d += 32) s += a[d] * c[d];
  s = warp_sum(s);
  if (lane == 0) dlt[bh * g.L + i] = s;
}

/* dq_i = scale · Σ_j p_ij (dy_i·v_j − delta_i) k_j, over tiles of keys. */
__global__ static void grad_q(float *dq, const float *dy, const float *q, const float *k, const float *v,
                              const float *lse, const float *dlt, const bool *mask, heads g, float scale) {
  extern __shared__ float smem[];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t bh = g.bh0 + blockIdx.y, b = bh / g.H, h = bh % g.H, i0 = blockIdx.x * (int64_t)ROWS;
  const tiles s = carve(smem, g.D);
  stage(s.own_a, s.own_b, q, dy, g, b, h, i0, ROWS, g.D);
  float acc[PER_WARP][MAX_PER_LANE] = {};
  for (int64_t j0 = 0; j0 < g.L; j0 += TILE) {
    const int n = next_tile(s, k, v, g, b, h, j0);
    const int64_t j = j0 + lane;
#pragma unroll
    for (int w = 0; w < PER_WARP; w++) {
      const int r = warp * PER_WARP + w;
      const int64_t i = i0 + r;
      if (i >= g.L || !isfinite(lse[bh * g.L + i])) continue; /* a query with no key has no gradient */
      float ds = 0;
      if (j < g.L && (!mask || mask[i * g.L + j])) {
        const float *kr = s.tile_a + lane * (g.D + 1), *vr = s.tile_b + lane * (g.D + 1);
        const float p = expf(dot_shared(s.own_a + r * g.D, kr, g.D) * scale - lse[bh * g.L + i]);
        ds = p * (dot_shared(s.own_b + r * g.D, vr, g.D) - dlt[bh * g.L + i]);
      }
      s.weights[lane] = ds;
      __syncwarp();
      spread(acc[w], s.weights, s.tile_a, n, g.D, lane);
      __syncwarp();
    }
  }
#pragma unroll
  for (int w = 0; w < PER_WARP; w++) {
    const int64_t i = i0 + warp * PER_WARP + w;
    if (i < g.L) store_row(dq + g.row(b, i, h), acc[w], scale, g.D, lane);
  }
}

/* dk_j = scale · Σ_i ds_ij q_i, dv_j = Σ_i p_ij dy_i, over tiles of queries. */
__global__ static void grad_kv(float *dk, float *dv, const float *dy, const float *q, const float *k,
                               const float *v, const float *lse, const float *dlt, const bool *mask, heads g,
                               float scale) {
  extern __shared__ float smem[];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t bh = g.bh0 + blockIdx.y, b = bh / g.H, h = bh % g.H, j0 = blockIdx.x * (int64_t)ROWS;
  const tiles s = carve(smem, g.D);
  stage(s.own_a, s.own_b, k, v, g, b, h, j0, ROWS, g.D);
  float ak[PER_WARP][MAX_PER_LANE] = {}, av[PER_WARP][MAX_PER_LANE] = {};
  for (int64_t i0 = 0; i0 < g.L; i0 += TILE) {
    const int n = next_tile(s, q, dy, g, b, h, i0);
    const int64_t i = i0 + lane;
    const float li = i < g.L ? lse[bh * g.L + i] : INFINITY, di = i < g.L ? dlt[bh * g.L + i] : 0.0f;
#pragma unroll
    for (int w = 0; w < PER_WARP; w++) {
      const int r = warp * PER_WARP + w;
      const int64_t j = j0 + r;
      if (j >= g.L) continue;
      float p = 0, ds = 0;
      if (isfinite(li) && (!mask || mask[i * g.L + j])) {
        const float *qr = s.tile_a + lane * (g.D + 1), *dyr = s.tile_b + lane * (g.D + 1);
        p = expf(dot_shared(qr, s.own_a + r * g.D, g.D) * scale - li);
        ds = p * (dot_shared(dyr, s.own_b + r * g.D, g.D) - di);
      }
      s.weights[lane] = p;
      s.weights[TILE + lane] = ds;
      __syncwarp();
      spread(av[w], s.weights, s.tile_b, n, g.D, lane);
      spread(ak[w], s.weights + TILE, s.tile_a, n, g.D, lane);
      __syncwarp();
    }
  }
#pragma unroll
  for (int w = 0; w < PER_WARP; w++) {
    const int64_t j = j0 + warp * PER_WARP + w;
    if (j >= g.L) continue;
    store_row(dk + g.row(b, j, h), ak[w], scale, g.D, lane);
    store_row(dv + g.row(b, j, h), av[w], 1.0f, g.D, lane);
  }
}

static const int64_t GRID_Y_MAX = 65535;

/* Pairs [bh0, bh0 + count) of `heads_n` heads on `tokens` tokens, `rows`
 * tokens a block: count ≤ GRID_Y_MAX. */
static dim3 grid_of(int64_t tokens, int64_t count, int64_t rows) {
  return dim3((unsigned)((tokens + rows - 1) / rows), (unsigned)count);
}

/* The tiles of the largest head_dim take more than the default 48 KiB of
 * shared memory: allow it once per kernel. */
static void allow_tiles(void) {
  static bool done;
  if (done) return;
  const int bytes = (int)tiles_bytes(32 * MAX_PER_LANE);
  CUDA_CHECK(cudaFuncSetAttribute(fwd, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  CUDA_CHECK(cudaFuncSetAttribute(grad_q, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  CUDA_CHECK(cudaFuncSetAttribute(grad_kv, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  done = true;
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
  allow_tiles();
  const int64_t pairs = batch * heads_n;
  for (int64_t bh0 = 0; bh0 < pairs; bh0 += GRID_Y_MAX) {
    heads g = {tokens, heads_n, head_dim, bh0};
    int64_t count = pairs - bh0 < GRID_Y_MAX ? pairs - bh0 : GRID_Y_MAX;
    fwd<<<grid_of(tokens, count, ROWS), 32 * WARPS, tiles_bytes(head_dim), kc_stream()>>>(
        y, lse, q, k, v, mask, g, 1.0f / sqrtf((float)head_dim));
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
  allow_tiles();
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
    const int64_t count = pairs - bh0 < GRID_Y_MAX ? pairs - bh0 : GRID_Y_MAX;
    const size_t smem = tiles_bytes(head_dim);
    delta<<<grid_of(tokens, count, WARPS), 32 * WARPS, 0, kc_stream()>>>(dlt, dy, y, g);
    KC_LAUNCH_CHECK();
    grad_q<<<grid_of(tokens, count, ROWS), 32 * WARPS, smem, kc_stream()>>>(dq, dy, q, k, v, lse, dlt, mask,
                                                                            g, scale);
    KC_LAUNCH_CHECK();
    grad_kv<<<grid_of(tokens, count, ROWS), 32 * WARPS, smem, kc_stream()>>>(dk, dv, dy, q, k, v, lse, dlt,
                                                                             mask, g, scale);
    KC_LAUNCH_CHECK();
  }
}
