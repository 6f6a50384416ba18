/* Concatenation, channel-first <-> token layout changes (kernels/elementwise.h)
 * and Patchify / Unpatchify (kernels/shuffle.h): pure permutations. Every
 * kernel walks its output contiguously; the transposes go through a shared
 * memory tile so that reads are coalesced too. */
#include <stdint.h>

#include "common.cuh"
#include "kernels_cuda.h"

#define GRID_STRIDE(i, n)                                                   \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); \
       i += (int64_t)gridDim.x * blockDim.x)

enum { THREADS = 256, TILE = 32, TILE_ROWS = 8 };

/* ---- concatenation ---- */

__global__ static void concat_fwd_k(float *y, const float *a, const float *b, int64_t total, int64_t a_len,
                                    int64_t b_len) {
  const int64_t w = a_len + b_len;
  GRID_STRIDE(i, total) {
    int64_t o = i / w, r = i % w;
    y[i] = r < a_len ? a[o * a_len + r] : b[o * b_len + (r - a_len)];
  }
}

/* dst[o, r] = src[o, offset + r] for rows of `len` out of rows of `w`. */
__global__ static void split_k(float *dst, const float *src, int64_t total, int64_t len, int64_t w,
                               int64_t offset) {
  GRID_STRIDE(i, total) { dst[i] = src[(i / len) * w + offset + i % len]; }
}

extern "C" void kc_concat_fwd(float *y, const float *a, const float *b, int64_t outer, int64_t a_len,
                              int64_t b_len) {
  int64_t total = outer * (a_len + b_len);
  if (total <= 0) return;
  concat_fwd_k<<<kc_blocks(total, THREADS), THREADS, 0, kc_stream()>>>(y, a, b, total, a_len, b_len);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_concat_bwd(float *da, float *db, const float *dy, int64_t outer, int64_t a_len,
                              int64_t b_len) {
  const int64_t w = a_len + b_len;
  if (da && outer * a_len > 0) {
    split_k<<<kc_blocks(outer * a_len, THREADS), THREADS, 0, kc_stream()>>>(da, dy, outer * a_len, a_len, w,
                                                                            0);
    KC_LAUNCH_CHECK();
  }
  if (db && outer * b_len > 0) {
    split_k<<<kc_blocks(outer * b_len, THREADS), THREADS, 0, kc_stream()>>>(db, dy, outer * b_len, b_len, w,
                                                                            a_len);
    KC_LAUNCH_CHECK();
  }
}

/* ---- batched transpose ---- */

/* y[b] = x[b]ᵀ for B (rows, cols) matrices: one TILE × TILE tile per block
 * iteration, read along x's rows and written along y's rows. */
__global__ static void transpose_k(float *y, const float *x, int64_t B, int64_t rows, int64_t cols) {
  __shared__ float tile[TILE][TILE + 1];
  const int64_t tr = (rows + TILE - 1) / TILE, tc = (cols + TILE - 1) / TILE, tiles = B * tr * tc;
  for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {
    int64_t b = t / (tr * tc), i0 = (t / tc) % tr * TILE, j0 = t % tc * TILE;
    const float *xb = x + b * rows * cols;
    float *yb = y + b * rows * cols;
    for (int r = threadIdx.y; r < TILE; r += TILE_ROWS) {
      int64_t i = i0 + r, j = j0 + threadIdx.x;
      if (i < rows && j < cols) tile[r][threadIdx.x] = xb[i * cols + j];
    }
    __syncthreads();
    for (int r = threadIdx.y; r < TILE; r += TILE_ROWS) {
      int64_t j = j0 + r, i = i0 + threadIdx.x; /* y[j, i] = x[i, j] */
      if (i < rows && j < cols) yb[j * rows + i] = tile[threadIdx.x][r];
    }
    __syncthreads(); /* the tile is reused by the next iteration */
  }
}

static void transpose(float *y, const float *x, int64_t B, int64_t rows, int64_t cols) {
  if (B <= 0 || rows <= 0 || cols <= 0) return;
  int64_t tiles = B * ((rows + TILE - 1) / TILE) * ((cols + TILE - 1) / TILE);
  unsigned blocks = (unsigned)(tiles < 65535LL * 32 ? tiles : 65535LL * 32);
  transpose_k<<<blocks, dim3(TILE, TILE_ROWS), 0, kc_stream()>>>(y, x, B, rows, cols);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_to_tokens_fwd(float *y, const float *x, int64_t B, int64_t C, int64_t S) {
  transpose(y, x, B, C, S);
}
extern "C" void kc_to_tokens_bwd(float *dx, const float *dy, int64_t B, int64_t C, int64_t S) {
  transpose(dx, dy, B, S, C);
}
extern "C" void kc_to_channels_fwd(float *y, const float *x, int64_t B, int64_t C, int64_t S) {
  transpose(y, x, B, S, C);
}
extern "C" void kc_to_channels_bwd(float *dx, const float *dy, int64_t B, int64_t C, int64_t S) {
  transpose(dx, dy, B, C, S);
}

/* ---- patchify / unpatchify ---- */

/* The shape with 3 spatial dims (leading ones of extent 1 and patch 1). */
struct patch_geom {
  int64_t batch, channels, in[3], grid[3], patch[3], cells, patched_channels;
  int channel_last;
};

static patch_geom geom_of(const k_patch_shape *s) {
  if (s->dims < 1 || s->dims > 3) lola_die(1, "patchify: %d spatial dims (1 to 3 supported)", s->dims);
  patch_geom g = {};
  g.batch = s->batch, g.channels = s->channels, g.channel_last = s->channel_last ? 1 : 0;
  int lead = 3 - s->dims;
  g.patched_channels = s->channels;
  g.cells = 1;
  for (int d = 0; d < 3; d++) {
    int e = d - lead;
    g.in[d] = e < 0 ? 1 : s->in[e];
    g.patch[d] = e < 0 ? 1 : s->patch[e];
    if (g.patch[d] < 1 || g.in[d] < 1 || g.in[d] % g.patch[d] != 0)
      lola_die(1, "patchify: extent %lld of spatial dim %d is not a multiple of the patch %lld",
               (long long)g.in[d], e, (long long)g.patch[d]);
    g.grid[d] = g.in[d] / g.patch[d];
    g.patched_channels *= g.patch[d];
    g.cells *= g.grid[d];
  }
  return g;
}

/* Index in the full tensor (B, C, in0, in1, in2) of patched index `at`. */
__device__ static int64_t full_of_patched(int64_t at, const patch_geom &g) {
  int64_t cell, cp, b;
  if (g.channel_last) {
    cp = at % g.patched_channels;
    int64_t rest = at / g.patched_channels;
    cell = rest % g.cells, b = rest / g.cells;
  } else {
    cell = at % g.cells;
    int64_t rest = at / g.cells;
    cp = rest % g.patched_channels, b = rest / g.patched_channels;
  }
  int64_t g2 = cell % g.grid[2], g1 = cell / g.grid[2] % g.grid[1], g0 = cell / (g.grid[2] * g.grid[1]);
  int64_t p2 = cp % g.patch[2], p1 = cp / g.patch[2] % g.patch[1], rest = cp / (g.patch[2] * g.patch[1]);
  int64_t p0 = rest % g.patch[0], c = rest / g.patch[0];
  int64_t z0 = g0 * g.patch[0] + p0, z1 = g1 * g.patch[1] + p1, z2 = g2 * g.patch[2] + p2;
  return (((b * g.channels + c) * g.in[0] + z0) * g.in[1] + z1) * g.in[2] + z2;
}

/* Patched index of full index `f`. */
__device__ static int64_t patched_of_full(int64_t f, const patch_geom &g) {
  int64_t z2 = f % g.in[2], rest = f / g.in[2];
  int64_t z1 = rest % g.in[1];
  rest /= g.in[1];
  int64_t z0 = rest % g.in[0];
  rest /= g.in[0];
  int64_t c = rest % g.channels, b = rest / g.channels;
  int64_t cp =
      ((c * g.patch[0] + z0 % g.patch[0]) * g.patch[1] + z1 % g.patch[1]) * g.patch[2] + z2 % g.patch[2];
  int64_t cell = (z0 / g.patch[0] * g.grid[1] + z1 / g.patch[1]) * g.grid[2] + z2 / g.patch[2];
  return g.channel_last ? (b * g.cells + cell) * g.patched_channels + cp
                        : (b * g.patched_channels + cp) * g.cells + cell;
}

__global__ static void to_patched_k(float *dst, const float *src, patch_geom g, int64_t total) {
  GRID_STRIDE(i, total) { dst[i] = src[full_of_patched(i, g)]; }
}
__global__ static void to_full_k(float *dst, const float *src, patch_geom g, int64_t total) {
  GRID_STRIDE(i, total) { dst[i] = src[patched_of_full(i, g)]; }
}

/* The DCAE's pixel shuffle: channel-first, 2 spatial dims (the outermost of
 * the 3 of extent 1), patches of p1 × p2, every extent in 32 bits. A block
 * row covers one full row z1 of one (sample, channel) plane, so the per-element
 * index math is a few 32-bit operations instead of nine 64-bit divisions.
 * patched[(bc·p1·p2 + q1·p2 + q2)·cells + y1·G2 + y2] = full[(bc·H + y1·p1 + q1)·W + y2·p2 + q2]. */
__global__ static void shuffle2d_k(float *dst, const float *src, int64_t planes, int H, int W, int p1, int p2,
                                   int to_patched) {
  const int z1 = blockIdx.y, G1 = H / p1, G2 = W / p2, q1 = z1 % p1, y1 = z1 / p1;
  for (int64_t bc = blockIdx.z; bc < planes; bc += gridDim.z)
    for (int z2 = blockIdx.x * blockDim.x + threadIdx.x; z2 < W; z2 += gridDim.x * blockDim.x) {
      const int q2 = z2 % p2, y2 = z2 / p2;
      const int64_t full = (bc * H + z1) * (int64_t)W + z2;
      const int64_t patched = ((bc * p1 + q1) * p2 + q2) * ((int64_t)G1 * G2) + (int64_t)y1 * G2 + y2;
      if (to_patched)
        dst[patched] = src[full];
      else
        dst[full] = src[patched];
    }
}

static bool shuffle2d(float *dst, const float *src, const patch_geom &g, bool to_patched) {
  if (g.channel_last || g.in[0] != 1 || g.patch[0] != 1 || g.in[1] > 65535 || g.in[1] * g.in[2] > INT32_MAX)
    return false;
  const int H = (int)g.in[1], W = (int)g.in[2];
  const int64_t planes = g.batch * g.channels;
  /* a block as wide as the row in whole warps, up to THREADS: the low levels' rows are 8 wide */
  const int threads = W >= THREADS ? THREADS : (W + 31) / 32 * 32;
  dim3 grid((unsigned)((W + threads - 1) / threads), (unsigned)H,
            (unsigned)(planes < 65535 ? planes : 65535));
  shuffle2d_k<<<grid, threads, 0, kc_stream()>>>(dst, src, planes, H, W, (int)g.patch[1], (int)g.patch[2],
                                                 to_patched ? 1 : 0);
  KC_LAUNCH_CHECK();
  return true;
}

static void permute(float *dst, const float *src, const k_patch_shape *s, bool to_patched) {
  patch_geom g = geom_of(s);
  int64_t total = g.batch * g.patched_channels * g.cells;
  if (total <= 0) return;
  if (shuffle2d(dst, src, g, to_patched)) return;
  if (to_patched)
    to_patched_k<<<kc_blocks(total, THREADS), THREADS, 0, kc_stream()>>>(dst, src, g, total);
  else
    to_full_k<<<kc_blocks(total, THREADS), THREADS, 0, kc_stream()>>>(dst, src, g, total);
  KC_LAUNCH_CHECK();
}

/* The shape is a host struct, read here and passed to the kernels by value. */
extern "C" void kc_patchify_fwd(float *y, const float *x, const k_patch_shape *s) { permute(y, x, s, true); }
extern "C" void kc_patchify_bwd(float *dx, const float *dy, const k_patch_shape *s) {
  permute(dx, dy, s, false);
}
extern "C" void kc_unpatchify_fwd(float *y, const float *x, const k_patch_shape *s) {
  permute(y, x, s, false);
}
extern "C" void kc_unpatchify_bwd(float *dx, const float *dy, const k_patch_shape *s) {
  permute(dx, dy, s, true);
}
