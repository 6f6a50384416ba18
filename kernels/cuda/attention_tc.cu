/* Tensor-core flash attention (kernels/attention.h semantics) for the bf16
 * GEMM precision: q, k, v, dy are staged into shared memory as bf16 tiles and
 * multiplied with nvcuda::wmma 16×16×16 fragments accumulating in fp32; the
 * online softmax, the statistics and every accumulator stay fp32.
 *
 * FlashAttention-2 style, deterministic (no atomics):
 *   forward  a block per (64-query tile, sample·head), 4 warps × 16 query rows,
 *            streaming 64-key tiles: S = Q·Kᵀ (wmma) → shared memory → online
 *            softmax per row (mask, tails, scale) → P (bf16) → O += P·V, O held
 *            in fragments and rescaled by rows through shared memory (fragment
 *            layouts are opaque: no arithmetic on fragments), lazily: only when
 *            a row's reference maximum moves by more than 2^8;
 *   backward Δ = rowsum(dO∘O) (a warp per row); dK, dV in a block per 64-key
 *            tile looping over the query tiles (Sᵀ, Pᵀ recomputed from lse,
 *            dV += Pᵀ·dO, dPᵀ = V·dOᵀ, dSᵀ = Pᵀ∘(dPᵀ − Δ), dK += dSᵀ·Q·scale);
 *            dQ in a block per 64-query tile looping over the key tiles
 *            (dQ += dS·K·scale).
 * A (query tile × key tile) with no allowed pair is skipped, as on the CPU.
 * Each warp owns 16 rows of every per-row buffer, so only the shared K/V (or
 * Q/dO) tiles need block-wide barriers; the rest is ordered by __syncwarp.
 * The accumulators (O, dQ, dK, dV) live in wmma fragments, templated on the
 * head_dim; shared memory at head_dim 128: 72.5 KB forward, 89.5 KB each
 * backward kernel (three, two blocks of 128 threads per SM).
 * Supported: head_dim a multiple of 16 up to 128 and 16-byte aligned inputs
 * (float4 loads); anything else falls back to attention.cu's fp32 kernels. */
#include <cuda_bf16.h>
#include <math.h>
#include <mma.h>
#include <stdint.h>

#include "common.cuh"
#include "kernels_cuda.h"

using namespace nvcuda;

bool kc_attention_tc_fwd(float *y, float *lse, const float *q, const float *k, const float *v,
                         const bool *mask, int64_t batch, int64_t tokens, int64_t heads, int64_t head_dim);
bool kc_attention_tc_bwd(float *dq, float *dk, float *dv, const float *dy, const float *q, const float *k,
                         const float *v, const float *y, const float *lse, const bool *mask, int64_t batch,
                         int64_t tokens, int64_t heads, int64_t head_dim);

namespace {

typedef __nv_bfloat16 bf16;

/* TILE rows per query or key tile; SLD: leading dimension of the fp32 score
 * tile (padded against bank conflicts, a multiple of 4 floats as wmma
 * requires). The bf16 probability tile lives in the score tile's rows (row r
 * of P in the first half of row r of S: leading dimension PLD bf16), written
 * once the row's scores are in registers: this keeps the forward under half
 * of an SM's shared memory at head_dim 128 (two blocks per SM). */
enum { TILE = 64, THREADS = 128, SLD = TILE + 4, PLD = 2 * SLD, MAX_D = 128 };
constexpr float LOG2E = 1.4426950408889634f, LN2 = 0.6931471805599453f;
constexpr unsigned FULL = 0xffffffffu;

/* Byte offsets of the shared-memory regions, each 128-byte aligned: up to four
 * bf16 (TILE × D) tiles (consecutive: two of them hold a TILE × D fp32 result
 * at the end), the fp32 score tile, two TILE-float statistics, the mask tile. */
struct plan {
  int ldb, lda; /* bf16 tile and fp32 result leading dimensions */
  unsigned tile[4], s, stat, msk, total;
};

__host__ __device__ inline unsigned take(unsigned &off, unsigned bytes) {
  unsigned at = off;
  off += (bytes + 127u) & ~127u;
  return at;
}

__host__ __device__ inline plan make_plan(int D, int ntiles) {
  plan pl;
  pl.ldb = D + 8;
  pl.lda = D + 4;
  unsigned off = 0;
  for (int i = 0; i < 4; i++) pl.tile[i] = i < ntiles ? take(off, TILE * pl.ldb * 2u) : 0u;
  pl.s = take(off, TILE * SLD * 4u);
  pl.stat = take(off, 2 * TILE * 4u);
  pl.msk = take(off, TILE * TILE);
  pl.total = off;
  return pl;
}

/* Rows [row0, row0 + TILE) of one head (row stride `stride` floats, D wide)
 * → a bf16 tile (ld), zero beyond L. Block-wide; float4 loads. */
__device__ void stage(bf16 *dst, int ld, const float *src, int64_t stride, int64_t row0, int64_t L, int D) {
  const int per_row = D / 4;
  for (int e = threadIdx.x; e < TILE * per_row; e += THREADS) {
    const int r = e / per_row, c = (e - r * per_row) * 4;
    float4 x = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    if (row0 + r < L) x = *reinterpret_cast<const float4 *>(src + (row0 + r) * stride + c);
    bf16 *d = dst + r * ld + c;
    *reinterpret_cast<__nv_bfloat162 *>(d) = __floats2bfloat162_rn(x.x, x.y);
    *reinterpret_cast<__nv_bfloat162 *>(d + 2) = __floats2bfloat162_rn(x.z, x.w);
  }
}

/* The mask's (queries q0.., keys k0..) tile → msk[qi·TILE + kj] (0 outside L).
 * Block-wide, ends with a barrier; returns whether any pair is allowed. */
__device__ int stage_mask(unsigned char *msk, const bool *mask, int64_t L, int64_t q0, int64_t k0) {
  int any = 0;
  for (int e = threadIdx.x; e < TILE * TILE; e += THREADS) {
    const int r = e / TILE, c = e % TILE;
    unsigned char a = 0;
    if (q0 + r < L && k0 + c < L) a = mask[(q0 + r) * L + k0 + c] ? 1 : 0;
    msk[e] = a;
    any |= a;
  }
  return __syncthreads_or(any);
}

/* One warp: out (16 × TILE fp32, ld SLD) = A·Bᵀ, A 16 rows and B TILE rows of
 * D bf16 each (both with leading dimension ld). Each A fragment is loaded once. */
__device__ void gemm_abt(float *out, const bf16 *a, const bf16 *b, int ld, int D) {
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> c[TILE / 16];
#pragma unroll
  for (int n = 0; n < TILE / 16; n++) wmma::fill_fragment(c[n], 0.0f);
  for (int kk = 0; kk < D; kk += 16) {
    wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> fa;
    wmma::load_matrix_sync(fa, a + kk, ld);
#pragma unroll
    for (int n = 0; n < TILE / 16; n++) {
      wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> fb;
      wmma::load_matrix_sync(fb, b + n * 16 * ld + kk, ld);
      wmma::mma_sync(c[n], fa, fb, c[n]);
    }
  }
#pragma unroll
  for (int n = 0; n < TILE / 16; n++) wmma::store_matrix_sync(out + n * 16, c[n], SLD, wmma::mem_row_major);
}

/* One warp: c[n] (16 × 16 fp32 fragments, n < NF) += A·B[:, 16n, 16n+16), A
 * 16 × TILE bf16 (ld PLD), B TILE × 16·NF bf16 (ld). */
template <int NF>
__device__ void gemm_acc_frag(wmma::fragment<wmma::accumulator, 16, 16, 16, float> (&c)[NF], const bf16 *a,
                              const bf16 *b, int ld) {
  wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> fa[TILE / 16];
#pragma unroll
  for (int kk = 0; kk < TILE / 16; kk++) wmma::load_matrix_sync(fa[kk], a + kk * 16, PLD);
#pragma unroll
  for (int n = 0; n < NF; n++)
#pragma unroll
    for (int kk = 0; kk < TILE / 16; kk++) {
      wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> fb;
      wmma::load_matrix_sync(fb, b + kk * 16 * ld + n * 16, ld);
      wmma::mma_sync(c[n], fa[kk], fb, c[n]);
    }
}

/* In the per-row phases a lane pair owns one row of its warp's 16: lane 2r+h
 * takes columns h, h+2, ..., h+62 (COLS of them). */
enum { COLS = TILE / 2 };

/* The online softmax's reference maximum per row moves only when a score
 * exceeds it by more than RESCALE (log2 units), so probabilities stay below
 * 2^RESCALE and the output accumulator, held in fragments, is rescaled (through
 * shared memory) only on those rare moves (FlashAttention-3's lazy rescaling). */
constexpr float RESCALE = 8.0f;

/* o[n] *= the row's factor `corr` (one row per lane pair), for a warp's 16 × D
 * output held in NF fragments; the warp's 16 × TILE score rows are the
 * scratch, four fragments at a time. Warp-wide. */
template <int NF>
__device__ void rescale(wmma::fragment<wmma::accumulator, 16, 16, 16, float> (&o)[NF], float *scratch,
                        float *srow, int half, float corr) {
#pragma unroll
  for (int n0 = 0; n0 < NF; n0 += TILE / 16) {
#pragma unroll
    for (int i = 0; i < TILE / 16; i++)
      if (n0 + i < NF) wmma::store_matrix_sync(scratch + i * 16, o[n0 + i], SLD, wmma::mem_row_major);
    __syncwarp();
    const int cols = (NF - n0 < TILE / 16 ? NF - n0 : TILE / 16) * 16;
    for (int c = half; c < cols; c += 2) srow[c] *= corr;
    __syncwarp();
#pragma unroll
    for (int i = 0; i < TILE / 16; i++)
      if (n0 + i < NF) wmma::load_matrix_sync(o[n0 + i], scratch + i * 16, SLD, wmma::mem_row_major);
    __syncwarp(); /* read before the next chunk overwrites the scratch */
  }
}

template <int D>
__global__ void __launch_bounds__(THREADS)
    fwd_tc(float *y, float *lse, const float *q, const float *k, const float *v, const bool *mask, int64_t L,
           int64_t H, float scale2 /* scale · log2(e) */) {
  constexpr int NF = D / 16;
  extern __shared__ __align__(128) unsigned char smem[];
  const plan pl = make_plan(D, 3);
  bf16 *qs = reinterpret_cast<bf16 *>(smem + pl.tile[0]), *ks = reinterpret_cast<bf16 *>(smem + pl.tile[1]),
       *vs = reinterpret_cast<bf16 *>(smem + pl.tile[2]), *ps = reinterpret_cast<bf16 *>(smem + pl.s);
  float *ss = reinterpret_cast<float *>(smem + pl.s);
  unsigned char *msk = smem + pl.msk;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, half = lane & 1, row = warp * 16 + (lane >> 1);
  const int64_t i0 = (int64_t)blockIdx.x * TILE, bh = blockIdx.y, stride = H * D;
  const int64_t head = bh / H * L * stride + bh % H * D;
  stage(qs, pl.ldb, q + head, stride, i0, L, D);
  float *srow = ss + row * SLD;
  bf16 *prow = ps + row * PLD;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> o[NF];
#pragma unroll
  for (int n = 0; n < NF; n++) wmma::fill_fragment(o[n], 0.0f);
  float m = -INFINITY, l = 0.0f; /* the row's reference max (log2 units) and sum, held by both lanes */
  for (int64_t j0 = 0; j0 < L; j0 += TILE) {
    __syncthreads(); /* the previous tile's K, V, mask are no longer read */
    if (mask && !stage_mask(msk, mask, L, i0, j0)) continue;
    stage(ks, pl.ldb, k + head, stride, j0, L, D);
    stage(vs, pl.ldb, v + head, stride, j0, L, D);
    __syncthreads();
    gemm_abt(ss + warp * 16 * SLD, qs + warp * 16 * pl.ldb, ks, pl.ldb, D);
    __syncwarp();
    float sv[COLS], mx = -INFINITY;
#pragma unroll
    for (int t = 0; t < COLS; t++) {
      const int c = 2 * t + half;
      const bool ok = mask ? msk[row * TILE + c] != 0 : j0 + c < L;
      sv[t] = ok ? srow[c] * scale2 : -INFINITY;
      mx = fmaxf(mx, sv[t]);
    }
    mx = fmaxf(mx, __shfl_xor_sync(FULL, mx, 1));
    const bool move = mx > m + RESCALE; /* false while nothing is allowed (both -inf) */
    const float mn = move ? mx : m, corr = move && m != -INFINITY ? exp2f(m - mn) : 1.0f;
    float sum = 0.0f;
#pragma unroll
    for (int t = 0; t < COLS; t++) {
      const float p = __bfloat162float(__float2bfloat16_rn(mn == -INFINITY ? 0.0f : exp2f(sv[t] - mn)));
      sv[t] = p;
      sum += p; /* the sum of what the product uses */
    }
    sum += __shfl_xor_sync(FULL, sum, 1);
    l = l * corr + sum;
    m = mn;
    __syncwarp(); /* the scores are in registers: the score rows are free */
    if (__any_sync(FULL, corr != 1.0f)) rescale<NF>(o, ss + warp * 16 * SLD, srow, half, corr);
#pragma unroll
    for (int t = 0; t < COLS; t++) prow[2 * t + half] = __float2bfloat16_rn(sv[t]);
    __syncwarp();
    gemm_acc_frag<NF>(o, ps + warp * 16 * PLD, vs, pl.ldb);
  }
  __syncthreads(); /* the tiles are free: the first two take the output (64 × (D+4) floats) */
  float *out_s = reinterpret_cast<float *>(smem + pl.tile[0]);
#pragma unroll
  for (int n = 0; n < NF; n++)
    wmma::store_matrix_sync(out_s + warp * 16 * pl.lda + n * 16, o[n], pl.lda, wmma::mem_row_major);
  __syncwarp();
  if (i0 + row < L) {
    const float inv = l > 0.0f ? 1.0f / l : 0.0f, *orow = out_s + row * pl.lda;
    float *yr = y + head + (i0 + row) * stride;
    for (int c = half; c < D; c += 2) yr[c] = orow[c] * inv;
    if (half == 0) lse[bh * L + i0 + row] = l > 0.0f ? m * LN2 + logf(l) : INFINITY;
  }
}

/* Δ_i = dy_i · y_i: a warp per row. */
__global__ void __launch_bounds__(THREADS)
    delta_tc(float *dlt, const float *dy, const float *y, int64_t L, int64_t H, int D) {
  const int lane = threadIdx.x & 31;
  const int64_t i = (int64_t)blockIdx.x * (THREADS / 32) + (threadIdx.x >> 5), bh = blockIdx.y,
                stride = H * D;
  const int64_t off = bh / H * L * stride + bh % H * D + i * stride;
  float s = 0.0f;
  if (i < L)
    for (int d = lane; d < D; d += 32) s += dy[off + d] * y[off + d];
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(FULL, s, o);
  if (i < L && lane == 0) dlt[bh * L + i] = s;
}

/* lse (natural log) → log2 units in st[0..TILE), +inf where the query has no
 * allowed key or lies beyond L; Δ in st[TILE..2·TILE). Block-wide. */
__device__ void stage_stats(float *st, const float *lse, const float *dlt, int64_t bh, int64_t L,
                            int64_t i0) {
  for (int e = threadIdx.x; e < TILE; e += THREADS) {
    const int64_t i = i0 + e;
    const float li = i < L ? lse[bh * L + i] : INFINITY;
    st[e] = isfinite(li) ? li * LOG2E : INFINITY;
    st[TILE + e] = i < L ? dlt[bh * L + i] : 0.0f;
  }
}

/* dQ for one 64-query tile: dQ = scale · Σ_key tiles dS·K, dS = P∘(dP − Δ),
 * dP = dO·Vᵀ; the accumulator is NF = D/16 fragments per warp. */
template <int D>
__global__ void __launch_bounds__(THREADS)
    dq_tc(float *dq, const float *dy, const float *q, const float *k, const float *v, const float *lse,
          const float *dlt, const bool *mask, int64_t L, int64_t H, float scale, float scale2) {
  constexpr int NF = D / 16;
  extern __shared__ __align__(128) unsigned char smem[];
  const plan pl = make_plan(D, 4);
  bf16 *qs = reinterpret_cast<bf16 *>(smem + pl.tile[0]), *dos = reinterpret_cast<bf16 *>(smem + pl.tile[1]),
       *ks = reinterpret_cast<bf16 *>(smem + pl.tile[2]), *vs = reinterpret_cast<bf16 *>(smem + pl.tile[3]),
       *ps = reinterpret_cast<bf16 *>(smem + pl.s);
  float *ss = reinterpret_cast<float *>(smem + pl.s), *st = reinterpret_cast<float *>(smem + pl.stat);
  unsigned char *msk = smem + pl.msk;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, half = lane & 1, row = warp * 16 + (lane >> 1);
  const int64_t i0 = (int64_t)blockIdx.x * TILE, bh = blockIdx.y, stride = H * D;
  const int64_t head = bh / H * L * stride + bh % H * D;
  stage(qs, pl.ldb, q + head, stride, i0, L, D);
  stage(dos, pl.ldb, dy + head, stride, i0, L, D);
  stage_stats(st, lse, dlt, bh, L, i0);
  __syncthreads();
  const float lrow = st[row], drow = st[TILE + row];
  float *srow = ss + row * SLD;
  bf16 *prow = ps + row * PLD;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[NF];
#pragma unroll
  for (int n = 0; n < NF; n++) wmma::fill_fragment(acc[n], 0.0f);
  for (int64_t j0 = 0; j0 < L; j0 += TILE) {
    __syncthreads();
    if (mask && !stage_mask(msk, mask, L, i0, j0)) continue;
    stage(ks, pl.ldb, k + head, stride, j0, L, D);
    stage(vs, pl.ldb, v + head, stride, j0, L, D);
    __syncthreads();
    gemm_abt(ss + warp * 16 * SLD, qs + warp * 16 * pl.ldb, ks, pl.ldb, D); /* S */
    __syncwarp();
    float p[COLS];
#pragma unroll
    for (int t = 0; t < COLS; t++) {
      const int c = 2 * t + half;
      const bool ok = (mask ? msk[row * TILE + c] != 0 : j0 + c < L) && lrow != INFINITY;
      p[t] = ok ? exp2f(srow[c] * scale2 - lrow) : 0.0f;
    }
    __syncwarp();                                                            /* S read: dP overwrites it */
    gemm_abt(ss + warp * 16 * SLD, dos + warp * 16 * pl.ldb, vs, pl.ldb, D); /* dP = dO·Vᵀ */
    __syncwarp();
#pragma unroll
    for (int t = 0; t < COLS; t++) p[t] *= srow[2 * t + half] - drow; /* dS / scale */
    __syncwarp();                                                     /* dP read: dS overwrites it */
#pragma unroll
    for (int t = 0; t < COLS; t++) prow[2 * t + half] = __float2bfloat16_rn(p[t]);
    __syncwarp();
    gemm_acc_frag<NF>(acc, ps + warp * 16 * PLD, ks, pl.ldb);
  }
  __syncthreads(); /* the tiles are free: the first two take the result (64 × (D+4) floats) */
  float *out_s = reinterpret_cast<float *>(smem + pl.tile[0]) + warp * 16 * pl.lda;
#pragma unroll
  for (int n = 0; n < NF; n++) wmma::store_matrix_sync(out_s + n * 16, acc[n], pl.lda, wmma::mem_row_major);
  __syncwarp();
  if (i0 + row < L) {
    const float *arow = reinterpret_cast<float *>(smem + pl.tile[0]) + row * pl.lda;
    float *out = dq + head + (i0 + row) * stride;
    for (int c = half; c < D; c += 2) out[c] = arow[c] * scale;
  }
}

/* dK, dV for one 64-key tile: over the query tiles, dV += Pᵀ·dO and
 * dK += scale · dSᵀ·Q, with Sᵀ = K·Qᵀ and dPᵀ = V·dOᵀ; here a lane pair owns
 * one key (a row of Sᵀ) and the columns are queries. */
template <int D>
__global__ void __launch_bounds__(THREADS)
    dkdv_tc(float *dk, float *dv, const float *dy, const float *q, const float *k, const float *v,
            const float *lse, const float *dlt, const bool *mask, int64_t L, int64_t H, float scale,
            float scale2) {
  constexpr int NF = D / 16;
  extern __shared__ __align__(128) unsigned char smem[];
  const plan pl = make_plan(D, 4);
  bf16 *ks = reinterpret_cast<bf16 *>(smem + pl.tile[0]), *vs = reinterpret_cast<bf16 *>(smem + pl.tile[1]),
       *qs = reinterpret_cast<bf16 *>(smem + pl.tile[2]), *dos = reinterpret_cast<bf16 *>(smem + pl.tile[3]),
       *ps = reinterpret_cast<bf16 *>(smem + pl.s);
  float *ss = reinterpret_cast<float *>(smem + pl.s), *st = reinterpret_cast<float *>(smem + pl.stat);
  unsigned char *msk = smem + pl.msk;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, half = lane & 1, row = warp * 16 + (lane >> 1);
  const int64_t j0 = (int64_t)blockIdx.x * TILE, bh = blockIdx.y, stride = H * D;
  const int64_t head = bh / H * L * stride + bh % H * D;
  stage(ks, pl.ldb, k + head, stride, j0, L, D);
  stage(vs, pl.ldb, v + head, stride, j0, L, D);
  float *srow = ss + row * SLD;
  bf16 *prow = ps + row * PLD;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> dka[NF], dva[NF];
#pragma unroll
  for (int n = 0; n < NF; n++) wmma::fill_fragment(dka[n], 0.0f), wmma::fill_fragment(dva[n], 0.0f);
  for (int64_t i0 = 0; i0 < L; i0 += TILE) {
    __syncthreads(); /* also orders the staging above before the first use */
    if (mask && !stage_mask(msk, mask, L, i0, j0)) continue;
    stage(qs, pl.ldb, q + head, stride, i0, L, D);
    stage(dos, pl.ldb, dy + head, stride, i0, L, D);
    stage_stats(st, lse, dlt, bh, L, i0);
    __syncthreads();
    gemm_abt(ss + warp * 16 * SLD, ks + warp * 16 * pl.ldb, qs, pl.ldb, D); /* Sᵀ = K·Qᵀ */
    __syncwarp();
    float p[COLS];
#pragma unroll
    for (int t = 0; t < COLS; t++) {
      const int c = 2 * t + half; /* the query */
      const float lc = st[c];
      const bool ok = (mask ? msk[c * TILE + row] != 0 : j0 + row < L) && lc != INFINITY;
      p[t] = ok ? exp2f(srow[c] * scale2 - lc) : 0.0f;
    }
    __syncwarp(); /* Sᵀ read: Pᵀ overwrites it */
#pragma unroll
    for (int t = 0; t < COLS; t++) prow[2 * t + half] = __float2bfloat16_rn(p[t]);
    __syncwarp();
    gemm_acc_frag<NF>(dva, ps + warp * 16 * PLD, dos, pl.ldb); /* dV += Pᵀ·dO */
    __syncwarp();                                              /* Pᵀ read: dPᵀ overwrites it */
    gemm_abt(ss + warp * 16 * SLD, vs + warp * 16 * pl.ldb, dos, pl.ldb, D); /* dPᵀ = V·dOᵀ */
    __syncwarp();
#pragma unroll
    for (int t = 0; t < COLS; t++) p[t] *= srow[2 * t + half] - st[TILE + 2 * t + half]; /* dSᵀ / scale */
    __syncwarp(); /* dPᵀ read: dSᵀ overwrites it */
#pragma unroll
    for (int t = 0; t < COLS; t++) prow[2 * t + half] = __float2bfloat16_rn(p[t]);
    __syncwarp();
    gemm_acc_frag<NF>(dka, ps + warp * 16 * PLD, qs, pl.ldb); /* dK += dSᵀ·Q */
  }
  __syncthreads(); /* the tiles are free: dK into the first two, dV into the last two */
  float *kacc = reinterpret_cast<float *>(smem + pl.tile[0]),
        *vacc = reinterpret_cast<float *>(smem + pl.tile[2]);
#pragma unroll
  for (int n = 0; n < NF; n++) {
    wmma::store_matrix_sync(kacc + warp * 16 * pl.lda + n * 16, dka[n], pl.lda, wmma::mem_row_major);
    wmma::store_matrix_sync(vacc + warp * 16 * pl.lda + n * 16, dva[n], pl.lda, wmma::mem_row_major);
  }
  __syncwarp();
  if (j0 + row < L) {
    float *ok = dk + head + (j0 + row) * stride, *ov = dv + head + (j0 + row) * stride;
    const float *ka = kacc + row * pl.lda, *va = vacc + row * pl.lda;
    for (int c = half; c < D; c += 2) {
      ok[c] = ka[c] * scale;
      ov[c] = va[c];
    }
  }
}

bool aligned16(const float *p) { return ((uintptr_t)p & 15u) == 0; }

bool supported(int64_t batch, int64_t tokens, int64_t heads, int64_t D) {
  return D >= 16 && D <= MAX_D && D % 16 == 0 && batch * heads <= 65535 &&
         (tokens + TILE - 1) / TILE <= 65535;
}

template <typename K>
unsigned smem_for(K kernel, const plan &pl) {
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)pl.total));
  return pl.total;
}

template <int D>
void forward(float *y, float *lse, const float *q, const float *k, const float *v, const bool *mask,
             int64_t L, int64_t H, dim3 grid, float scale) {
  const unsigned bytes = smem_for(fwd_tc<D>, make_plan(D, 3));
  fwd_tc<D><<<grid, THREADS, bytes, kc_stream()>>>(y, lse, q, k, v, mask, L, H, scale * LOG2E);
  KC_LAUNCH_CHECK();
}

/* dQ, then dK and dV, for one head_dim. */
template <int D>
void backward(float *dq, float *dk, float *dv, const float *dy, const float *q, const float *k,
              const float *v, const float *lse, const float *dlt, const bool *mask, int64_t L, int64_t H,
              unsigned tiles, unsigned bhs, float scale) {
  const float scale2 = scale * LOG2E;
  const unsigned bytes = smem_for(dq_tc<D>, make_plan(D, 4));
  dq_tc<D><<<dim3(tiles, bhs), THREADS, bytes, kc_stream()>>>(dq, dy, q, k, v, lse, dlt, mask, L, H, scale,
                                                              scale2);
  KC_LAUNCH_CHECK();
  smem_for(dkdv_tc<D>, make_plan(D, 4));
  dkdv_tc<D><<<dim3(tiles, bhs), THREADS, bytes, kc_stream()>>>(dk, dv, dy, q, k, v, lse, dlt, mask, L, H,
                                                                scale, scale2);
  KC_LAUNCH_CHECK();
}

/* The instantiations by head size: entry D / 16 - 1 for D = 16, 32, ..., 128. */
typedef void (*forward_fn)(float *, float *, const float *, const float *, const float *, const bool *,
                           int64_t, int64_t, dim3, float);
typedef void (*backward_fn)(float *, float *, float *, const float *, const float *, const float *,
                            const float *, const float *, const float *, const bool *, int64_t, int64_t,
                            unsigned, unsigned, float);
const forward_fn forwards[] = {forward<16>, forward<32>, forward<48>,  forward<64>,
                               forward<80>, forward<96>, forward<112>, forward<128>};
const backward_fn backwards[] = {backward<16>, backward<32>, backward<48>,  backward<64>,
                                 backward<80>, backward<96>, backward<112>, backward<128>};

}  // namespace

/* Whether the tensor-core kernels handle this call (then they ran): the fp32
 * kernels of attention.cu take the rest. */
bool kc_attention_tc_fwd(float *y, float *lse, const float *q, const float *k, const float *v,
                         const bool *mask, int64_t batch, int64_t tokens, int64_t heads, int64_t head_dim) {
  if (!supported(batch, tokens, heads, head_dim) || !aligned16(q) || !aligned16(k) || !aligned16(v))
    return false;
  if (batch == 0 || tokens == 0 || heads == 0) return true;
  const int D = (int)head_dim;
  const float scale = 1.0f / sqrtf((float)D);
  const dim3 grid((unsigned)((tokens + TILE - 1) / TILE), (unsigned)(batch * heads));
  forwards[D / 16 - 1](y, lse, q, k, v, mask, tokens, heads, grid, scale);
  return true;
}

bool kc_attention_tc_bwd(float *dq, float *dk, float *dv, const float *dy, const float *q, const float *k,
                         const float *v, const float *y, const float *lse, const bool *mask, int64_t batch,
                         int64_t tokens, int64_t heads, int64_t head_dim) {
  if (!supported(batch, tokens, heads, head_dim) || !aligned16(dy) || !aligned16(q) || !aligned16(k) ||
      !aligned16(v))
    return false;
  if (batch == 0 || tokens == 0 || heads == 0) return true;
  static float *dlt;
  static int64_t dlt_size;
  const int64_t need = batch * heads * tokens;
  if (need > dlt_size) { /* grows once to the largest shape, then reused */
    if (dlt) CUDA_CHECK(cudaFree(dlt));
    CUDA_CHECK(cudaMalloc(&dlt, sizeof(float) * (size_t)need));
    dlt_size = need;
  }
  const int D = (int)head_dim;
  const float scale = 1.0f / sqrtf((float)D);
  const unsigned tiles = (unsigned)((tokens + TILE - 1) / TILE), bhs = (unsigned)(batch * heads);
  delta_tc<<<dim3((unsigned)((tokens + THREADS / 32 - 1) / (THREADS / 32)), bhs), THREADS, 0, kc_stream()>>>(
      dlt, dy, y, tokens, heads, D);
  KC_LAUNCH_CHECK();
  backwards[D / 16 - 1](dq, dk, dv, dy, q, k, v, lse, dlt, mask, tokens, heads, tiles, bhs, scale);
  return true;
}
