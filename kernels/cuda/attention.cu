/* Fused multi-head attention (kernels/attention.h semantics) in fp32: an
 * online softmax over tiles of 32 keys, never a tokens² buffer. A block
 * takes 16 rows (queries in the forward and dq, keys in dk/dv; two per warp)
 * and walks the other side a tile at a time through shared memory, so every
 * tile read from memory serves 16 rows; a tile none of the block's pairs may
 * see (a window mask) is skipped. Inside a tile, lane t owns row t of the
 * tile: it computes that row's scores against the warp's two rows in one
 * pass over the head dimensions, and the warp then spreads the weights over
 * the head dimensions (lane + 32·e). Scores are recomputed in the backward
 * from the saved log-sum-exp. Layout (B, L, H·D); head_dim up to
 * 32·MAX_PER_LANE. The kernels are instantiated for 1, 2, 4 and 8 head
 * dimensions a lane (head_dim up to 32, 64, 128, 256), so that the
 * accumulators of a small head take no more registers than it needs. */
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

/* A tile's row stride: odd, so that the 32 lanes' rows start in 32 different banks. */
__host__ __device__ static int64_t pitch_of(int64_t D) { return D | 1; }

/* A block's shared memory: its rows' two vectors (q and dy, or k and v),
 * D floats each; the tile's two matrices, rows of pitch_of(D); per warp, two
 * sets of TILE weights for each of its rows. */
struct tiles {
  float *own_a, *own_b, *tile_a, *tile_b, *weights;
  int64_t pitch;
};
static size_t tiles_bytes(int64_t D) {
  return sizeof(float) * (size_t)(2 * ROWS * D + 2 * TILE * pitch_of(D) + WARPS * 2 * PER_WARP * TILE);
}
__device__ static tiles carve(float *smem, int64_t D) {
  tiles t;
  t.pitch = pitch_of(D);
  t.own_a = smem;
  t.own_b = t.own_a + ROWS * D;
  t.tile_a = t.own_b + ROWS * D;
  t.tile_b = t.tile_a + TILE * t.pitch;
  t.weights = t.tile_b + TILE * t.pitch + (threadIdx.x >> 5) * 2 * PER_WARP * TILE;
  return t;
}

/* rows [r0, r0 + n) of a and b (zeros past the last token) into dst_a and
 * dst_b with row stride `stride`, a warp a row; b may be NULL. */
__device__ static void stage(float *dst_a, float *dst_b, const float *a, const float *b, heads g, int64_t s,
                             int64_t h, int64_t r0, int n, int64_t stride) {
  const int lane = threadIdx.x & 31;
  for (int r = threadIdx.x >> 5; r < n; r += WARPS) {
    const int64_t i = r0 + r;
    const float *ra = i < g.L ? a + g.row(s, i, h) : NULL, *rb = i < g.L && b ? b + g.row(s, i, h) : NULL;
    for (int64_t d = lane; d < g.D; d += 32) {
      dst_a[r * stride + d] = ra ? ra[d] : 0.0f;
      if (b) dst_b[r * stride + d] = rb ? rb[d] : 0.0f;
    }
  }
}

/* Whether some pair of the block's rows [r0, r0 + ROWS) and the tile's rows
 * [t0, t0 + TILE) is allowed: this thread's share of the pairs. Rows are
 * queries (the mask's rows) unless rows_are_keys. */
__device__ static bool sees(const bool *mask, heads g, int64_t r0, int64_t t0, bool rows_are_keys) {
  bool any = false;
  for (int p = threadIdx.x; p < ROWS * TILE; p += WARPS * 32) {
    const int64_t r = r0 + p / TILE, t = t0 + p % TILE;
    if (r >= g.L || t >= g.L) continue;
    any |= !mask || (rows_are_keys ? mask[t * g.L + r] : mask[r * g.L + t]);
  }
  return any;
}

/* The tile of rows [t0, t0 + TILE) of a and b, once every warp is done with
 * the last one (and with staging the block's own rows); how many rows it
 * has, 0 when no pair of the block may see it (then nothing is staged).
 * Called by the whole block. */
__device__ static int next_tile(const tiles &s, const float *a, const float *b, heads g, int64_t bi,
                                int64_t h, int64_t t0, bool seen) {
  if (!__syncthreads_or(seen)) return 0;
  stage(s.tile_a, s.tile_b, a, b, g, bi, h, t0, TILE, s.pitch);
  __syncthreads();
  return g.L - t0 < TILE ? (int)(g.L - t0) : TILE;
}

/* out[w] = own row w · tile row, for the warp's PER_WARP rows, in one pass. */
__device__ static void dots(float *out, const float *own, const float *tile_row, int64_t D) {
#pragma unroll
  for (int w = 0; w < PER_WARP; w++) out[w] = 0;
  for (int64_t d = 0; d < D; d++) {
    const float t = tile_row[d];
#pragma unroll
    for (int w = 0; w < PER_WARP; w++) out[w] += own[w * D + d] * t;
  }
}

/* The backward's two products of this lane's tile row with the warp's rows:
 * sc = own_a · tile_a (q·k) and dp = own_b · tile_b (dy·v). */
__device__ static void backward_dots(float *sc, float *dp, const tiles &s, int r0, int lane, int64_t D) {
  dots(sc, s.own_a + r0 * D, s.tile_a + lane * s.pitch, D);
  dots(dp, s.own_b + r0 * D, s.tile_b + lane * s.pitch, D);
}

/* acc[w][e] += Σ_t weights[w·TILE + t] · m[t][lane + 32·e] over the n rows of a tile. */
template <int PL>
__device__ static void spread(float (*acc)[PL], const float *weights, const float *m, int n, const tiles &s,
                              int64_t D, int lane) {
  for (int t = 0; t < n; t++) {
    float wt[PER_WARP];
#pragma unroll
    for (int w = 0; w < PER_WARP; w++) wt[w] = weights[w * TILE + t];
#pragma unroll
    for (int e = 0; e < PL; e++) {
      const int64_t d = lane + 32 * e;
      if (d >= D) break;
      const float mt = m[t * s.pitch + d];
#pragma unroll
      for (int w = 0; w < PER_WARP; w++) acc[w][e] += wt[w] * mt;
    }
  }
}

template <int PL>
__device__ static void store_row(float *out, const float *acc, float factor, int64_t D, int lane) {
#pragma unroll
  for (int e = 0; e < PL; e++) {
    const int64_t d = lane + 32 * e;
    if (d < D) out[d] = acc[e] * factor;
  }
}

template <int PL>
__global__ static void fwd(float *y, float *lse, const float *q, const float *k, const float *v,
                           const bool *mask, heads g, float scale) {
  extern __shared__ float smem[];
  const int lane = threadIdx.x & 31, r0 = (threadIdx.x >> 5) * PER_WARP;
  const int64_t bh = g.bh0 + blockIdx.y, b = bh / g.H, h = bh % g.H, i0 = blockIdx.x * (int64_t)ROWS;
  const tiles s = carve(smem, g.D);
  stage(s.own_a, NULL, q, NULL, g, b, h, i0, ROWS, g.D);
  float m[PER_WARP], l[PER_WARP], acc[PER_WARP][PL] = {};
#pragma unroll
  for (int w = 0; w < PER_WARP; w++) m[w] = -INFINITY, l[w] = 0;
  for (int64_t j0 = 0; j0 < g.L; j0 += TILE) {
    const int n = next_tile(s, k, v, g, b, h, j0, sees(mask, g, i0, j0, false));
    if (n == 0) continue;
    const int64_t j = j0 + lane;
    float sc[PER_WARP]; /* q·k of this lane's key, scaled by 1/√D below, for softmax(q·kᵀ/√D) */
    dots(sc, s.own_a + r0 * g.D, s.tile_a + lane * s.pitch, g.D);
#pragma unroll
    for (int w = 0; w < PER_WARP; w++) {
      const int64_t i = i0 + r0 + w;
      const bool allowed = i < g.L && j < g.L && (!mask || mask[i * g.L + j]);
      const float x = allowed ? sc[w] * scale : -INFINITY, tile_max = warp_max(x);
      float p = 0;
      if (tile_max != -INFINITY) { /* else no allowed key for this row here: nothing changes */
        const float mn = fmaxf(m[w], tile_max), corr = expf(m[w] - mn);
        p = expf(x - mn);
        l[w] = l[w] * corr + warp_sum(p);
        m[w] = mn;
#pragma unroll
        for (int e = 0; e < PL; e++) acc[w][e] *= corr;
      }
      s.weights[w * TILE + lane] = p;
    }
    __syncwarp();
    spread(acc, s.weights, s.tile_b, n, s, g.D, lane);
    __syncwarp(); /* the weights are read before the next tile writes them */
  }
#pragma unroll
  for (int w = 0; w < PER_WARP; w++) {
    const int64_t i = i0 + r0 + w;
    if (i >= g.L) continue;
    store_row<PL>(y + g.row(b, i, h), acc[w], l[w] > 0 ? 1.0f / l[w] : 0.0f, g.D, lane);
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
template <int PL>
__global__ static void grad_q(float *dq, const float *dy, const float *q, const float *k, const float *v,
                              const float *lse, const float *dlt, const bool *mask, heads g, float scale) {
  extern __shared__ float smem[];
  const int lane = threadIdx.x & 31, r0 = (threadIdx.x >> 5) * PER_WARP;
  const int64_t bh = g.bh0 + blockIdx.y, b = bh / g.H, h = bh % g.H, i0 = blockIdx.x * (int64_t)ROWS;
  const tiles s = carve(smem, g.D);
  stage(s.own_a, s.own_b, q, dy, g, b, h, i0, ROWS, g.D);
  float li[PER_WARP], di[PER_WARP], acc[PER_WARP][PL] = {};
#pragma unroll
  for (int w = 0; w < PER_WARP; w++) { /* a query with no key (lse = +inf) has no gradient */
    const int64_t i = i0 + r0 + w;
    li[w] = i < g.L ? lse[bh * g.L + i] : INFINITY;
    di[w] = i < g.L ? dlt[bh * g.L + i] : 0.0f;
  }
  for (int64_t j0 = 0; j0 < g.L; j0 += TILE) {
    const int n = next_tile(s, k, v, g, b, h, j0, sees(mask, g, i0, j0, false));
    if (n == 0) continue;
    const int64_t j = j0 + lane;
    float sc[PER_WARP], dp[PER_WARP];
    backward_dots(sc, dp, s, r0, lane, g.D);
#pragma unroll
    for (int w = 0; w < PER_WARP; w++) {
      const int64_t i = i0 + r0 + w;
      const bool allowed = li[w] != INFINITY && j < g.L && (!mask || mask[i * g.L + j]);
      s.weights[w * TILE + lane] = allowed ? expf(sc[w] * scale - li[w]) * (dp[w] - di[w]) : 0.0f;
    }
    __syncwarp();
    spread(acc, s.weights, s.tile_a, n, s, g.D, lane);
    __syncwarp();
  }
#pragma unroll
  for (int w = 0; w < PER_WARP; w++) {
    const int64_t i = i0 + r0 + w;
    if (i < g.L) store_row<PL>(dq + g.row(b, i, h), acc[w], scale, g.D, lane);
  }
}

/* dk_j = scale · Σ_i ds_ij q_i, dv_j = Σ_i p_ij dy_i, over tiles of queries. */
template <int PL>
__global__ static void grad_kv(float *dk, float *dv, const float *dy, const float *q, const float *k,
                               const float *v, const float *lse, const float *dlt, const bool *mask, heads g,
                               float scale) {
  extern __shared__ float smem[];
  const int lane = threadIdx.x & 31, r0 = (threadIdx.x >> 5) * PER_WARP;
  const int64_t bh = g.bh0 + blockIdx.y, b = bh / g.H, h = bh % g.H, j0 = blockIdx.x * (int64_t)ROWS;
  const tiles s = carve(smem, g.D);
  stage(s.own_a, s.own_b, k, v, g, b, h, j0, ROWS, g.D);
  float ak[PER_WARP][PL] = {}, av[PER_WARP][PL] = {};
  float *wp = s.weights, *wds = s.weights + PER_WARP * TILE;
  for (int64_t i0 = 0; i0 < g.L; i0 += TILE) {
    const int n = next_tile(s, q, dy, g, b, h, i0, sees(mask, g, j0, i0, true));
    if (n == 0) continue;
    const int64_t i = i0 + lane;
    const float li = i < g.L ? lse[bh * g.L + i] : INFINITY, di = i < g.L ? dlt[bh * g.L + i] : 0.0f;
    float sc[PER_WARP], dp[PER_WARP];
    backward_dots(sc, dp, s, r0, lane, g.D);
#pragma unroll
    for (int w = 0; w < PER_WARP; w++) {
      const int64_t j = j0 + r0 + w;
      const bool allowed = li != INFINITY && j < g.L && (!mask || mask[i * g.L + j]);
      const float p = allowed ? expf(sc[w] * scale - li) : 0.0f;
      wp[w * TILE + lane] = p;
      wds[w * TILE + lane] = p * (dp[w] - di);
    }
    __syncwarp();
    spread(av, wp, s.tile_b, n, s, g.D, lane);
    spread(ak, wds, s.tile_a, n, s, g.D, lane);
    __syncwarp();
  }
#pragma unroll
  for (int w = 0; w < PER_WARP; w++) {
    const int64_t j = j0 + r0 + w;
    if (j >= g.L) continue;
    store_row<PL>(dk + g.row(b, j, h), ak[w], scale, g.D, lane);
    store_row<PL>(dv + g.row(b, j, h), av[w], 1.0f, g.D, lane);
  }
}

static const int64_t GRID_Y_MAX = 65535;

/* Pairs [bh0, bh0 + count) of `heads_n` heads on `tokens` tokens, `rows`
 * tokens a block: count ≤ GRID_Y_MAX. */
static dim3 grid_of(int64_t tokens, int64_t count, int64_t rows) {
  return dim3((unsigned)((tokens + rows - 1) / rows), (unsigned)count);
}

static void check_dim(int64_t head_dim) {
  if (head_dim > 32 * MAX_PER_LANE)
    lola_die(1, "CUDA attention: head_dim %lld exceeds %d", (long long)head_dim, 32 * MAX_PER_LANE);
}

/* Head dimensions a lane: the kernel instance a head_dim takes. */
static int per_lane(int64_t head_dim) {
  return head_dim <= 32 ? 1 : head_dim <= 64 ? 2 : head_dim <= 128 ? 4 : 8;
}

/* Tiles past the default 48 KiB of shared memory (head_dim 117 and up):
 * allowed once per kernel instance (`done`, one flag per instance), up to
 * the largest head_dim of its PL. */
template <int PL, class... P>
static void allow_tiles(void (*kernel)(P...), bool *done) {
  if (*done) return;
  CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)tiles_bytes(32 * PL)));
  *done = true;
}

template <int PL>
static void forward_pairs(float *y, float *lse, const float *q, const float *k, const float *v,
                          const bool *mask, int64_t pairs, heads g) {
  static bool allowed;
  allow_tiles<PL>(fwd<PL>, &allowed);
  for (int64_t bh0 = 0; bh0 < pairs; bh0 += GRID_Y_MAX) {
    g.bh0 = bh0;
    int64_t count = pairs - bh0 < GRID_Y_MAX ? pairs - bh0 : GRID_Y_MAX;
    fwd<PL><<<grid_of(g.L, count, ROWS), 32 * WARPS, tiles_bytes(g.D), kc_stream()>>>(
        y, lse, q, k, v, mask, g, 1.0f / sqrtf((float)g.D));
    KC_LAUNCH_CHECK();
  }
}

template <int PL>
static void backward_pairs(float *dq, float *dk, float *dv, const float *dy, const float *q, const float *k,
                           const float *v, const float *y, const float *lse, float *dlt, const bool *mask,
                           int64_t pairs, heads g) {
  static bool allowed_q, allowed_kv;
  allow_tiles<PL>(grad_q<PL>, &allowed_q);
  allow_tiles<PL>(grad_kv<PL>, &allowed_kv);
  const float scale = 1.0f / sqrtf((float)g.D);
  const size_t smem = tiles_bytes(g.D);
  for (int64_t bh0 = 0; bh0 < pairs; bh0 += GRID_Y_MAX) {
    g.bh0 = bh0;
    const int64_t count = pairs - bh0 < GRID_Y_MAX ? pairs - bh0 : GRID_Y_MAX;
    delta<<<grid_of(g.L, count, WARPS), 32 * WARPS, 0, kc_stream()>>>(dlt, dy, y, g);
    KC_LAUNCH_CHECK();
    grad_q<PL><<<grid_of(g.L, count, ROWS), 32 * WARPS, smem, kc_stream()>>>(dq, dy, q, k, v, lse, dlt, mask,
                                                                             g, scale);
    KC_LAUNCH_CHECK();
    grad_kv<PL><<<grid_of(g.L, count, ROWS), 32 * WARPS, smem, kc_stream()>>>(dk, dv, dy, q, k, v, lse, dlt,
                                                                              mask, g, scale);
    KC_LAUNCH_CHECK();
  }
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
  const heads g = {tokens, heads_n, head_dim, 0};
  switch (per_lane(head_dim)) {
    case 1:
      return forward_pairs<1>(y, lse, q, k, v, mask, batch * heads_n, g);
    case 2:
      return forward_pairs<2>(y, lse, q, k, v, mask, batch * heads_n, g);
    case 4:
      return forward_pairs<4>(y, lse, q, k, v, mask, batch * heads_n, g);
    default:
      return forward_pairs<8>(y, lse, q, k, v, mask, batch * heads_n, g);
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
  const heads g = {tokens, heads_n, head_dim, 0};
  const int64_t pairs = batch * heads_n;
  switch (per_lane(head_dim)) {
    case 1:
      return backward_pairs<1>(dq, dk, dv, dy, q, k, v, y, lse, dlt, mask, pairs, g);
    case 2:
      return backward_pairs<2>(dq, dk, dv, dy, q, k, v, y, lse, dlt, mask, pairs, g);
    case 4:
      return backward_pairs<4>(dq, dk, dv, dy, q, k, v, y, lse, dlt, mask, pairs, g);
    default:
      return backward_pairs<8>(dq, dk, dv, dy, q, k, v, y, lse, dlt, mask, pairs, g);
  }
}
