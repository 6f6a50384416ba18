/* Flat-array operations of kernels/vector.h and the mean absolute error of
 * kernels/loss.h. Sums over the batch run in double, one thread per output in
 * a fixed order; the values returned to the host (weighted SSE, MAE) are
 * reduced on the device over a grid that depends only on n, in a fixed tree,
 * and one double is copied back. */
#include "../vector.h"
#include "common.cuh"
#include "kernels_cuda.h"

#define GRID_STRIDE(i, n)                                                   \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); \
       i += (int64_t)gridDim.x * blockDim.x)

enum { THREADS = 256, RED_BLOCKS = 256, RED_THREADS = 256 };

/* ---- pointwise ---- */

__global__ static void fill_k(float *y, float value, int64_t n) {
  GRID_STRIDE(i, n) { y[i] = value; }
}
__global__ static void add_k(float *y, const float *x, int64_t n) {
  GRID_STRIDE(i, n) { y[i] += x[i]; }
}
__global__ static void scal_k(float *y, float a, int64_t n) {
  GRID_STRIDE(i, n) { y[i] *= a; }
}
__global__ static void mul_k(float *y, const float *x, const float *z, int64_t n) {
  GRID_STRIDE(i, n) { y[i] = x[i] * z[i]; }
}
/* The difference first, as the CPU: a[b]·(x − z). */
__global__ static void diff_rows_k(float *y, const float *a, const float *x, const float *z, int64_t total,
                                   int64_t n) {
  GRID_STRIDE(i, total) { y[i] = a[i / n] * (x[i] - z[i]); }
}
__global__ static void add_row_k(float *y, const float *x, const float *row, int64_t total, int64_t n) {
  GRID_STRIDE(i, total) { y[i] = x[i] + row[i % n]; }
}
/* One thread per column: the batch summed in order, in double. */
__global__ static void sum_rows_k(float *y, const float *x, int64_t batch, int64_t n) {
  GRID_STRIDE(i, n) {
    double s = 0;
    for (int64_t b = 0; b < batch; b++) s += x[b * n + i];
    y[i] = (float)s;
  }
}
__global__ static void axpby_rows_k(float *y, const float *a, const float *x, const float *c, const float *z,
                                    int64_t total, int64_t n) {
  GRID_STRIDE(i, total) {
    int64_t b = i / n;
    y[i] = c && z ? a[b] * x[i] + c[b] * z[i] : a[b] * x[i];
  }
}
__global__ static void select_k(float *y, const float *mask, const float *a, const float *b, int64_t n) {
  GRID_STRIDE(i, n) { y[i] = mask[i] != 0 ? (a ? a[i] : 0.0f) : (b ? b[i] : 0.0f); }
}

extern "C" void kc_fill(float *y, float value, int64_t n) {
  if (n <= 0) return;
  if (value == 0.0f) { /* as the CPU: -0 too becomes +0 */
    CUDA_CHECK(cudaMemsetAsync(y, 0, (size_t)n * sizeof *y, kc_stream()));
    return;
  }
  fill_k<<<kc_blocks(n, THREADS), THREADS, 0, kc_stream()>>>(y, value, n);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_copy(float *y, const float *x, int64_t n) {
  if (n <= 0 || y == x) return;
  CUDA_CHECK(cudaMemcpyAsync(y, x, (size_t)n * sizeof *y, cudaMemcpyDeviceToDevice, kc_stream()));
}

extern "C" void kc_add(float *y, const float *x, int64_t n) {
  if (n <= 0) return;
  add_k<<<kc_blocks(n, THREADS), THREADS, 0, kc_stream()>>>(y, x, n);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_scal(float *y, float a, int64_t n) {
  if (n <= 0) return;
  scal_k<<<kc_blocks(n, THREADS), THREADS, 0, kc_stream()>>>(y, a, n);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_mul(float *y, const float *x, const float *z, int64_t n) {
  if (n <= 0) return;
  mul_k<<<kc_blocks(n, THREADS), THREADS, 0, kc_stream()>>>(y, x, z, n);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_diff_rows(float *y, const float *a, const float *x, const float *z, int64_t batch,
                             int64_t n) {
  if (batch <= 0 || n <= 0) return;
  diff_rows_k<<<kc_blocks(batch * n, THREADS), THREADS, 0, kc_stream()>>>(y, a, x, z, batch * n, n);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_add_row(float *y, const float *x, const float *row, int64_t batch, int64_t n) {
  if (batch <= 0 || n <= 0) return;
  add_row_k<<<kc_blocks(batch * n, THREADS), THREADS, 0, kc_stream()>>>(y, x, row, batch * n, n);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_sum_rows(float *y, const float *x, int64_t batch, int64_t n) {
  if (n <= 0) return;
  sum_rows_k<<<kc_blocks(n, THREADS), THREADS, 0, kc_stream()>>>(y, x, batch, n);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_axpby_rows(float *y, const float *a, const float *x, const float *c, const float *z,
                              int64_t batch, int64_t n) {
  if (batch <= 0 || n <= 0) return;
  axpby_rows_k<<<kc_blocks(batch * n, THREADS), THREADS, 0, kc_stream()>>>(y, a, x, c, z, batch * n, n);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_select(float *y, const float *mask, const float *a, const float *b, int64_t n) {
  if (n <= 0) return;
  select_k<<<kc_blocks(n, THREADS), THREADS, 0, kc_stream()>>>(y, mask, a, b, n);
  KC_LAUNCH_CHECK();
}

/* ---- reductions to one value ---- */

/* A fixed tree over RED_THREADS doubles in shared memory; the sum lands in s[0]. */
__device__ static void tree_sum(double *s) {
  for (int w = RED_THREADS / 2; w > 0; w >>= 1) {
    if ((int)threadIdx.x < w) s[threadIdx.x] += s[threadIdx.x + w];
    __syncthreads();
  }
}

/* part[block] = Σ f(i) over the block's grid-stride share, in double. */
template <typename F>
__global__ static void partial_sums(double *part, int64_t n, F f) {
  __shared__ double s[RED_THREADS];
  double v = 0;
  GRID_STRIDE(i, n) { v += f(i); }
  s[threadIdx.x] = v;
  __syncthreads();
  tree_sum(s);
  if (threadIdx.x == 0) part[blockIdx.x] = s[0];
}

/* out[0] = Σ part[0 .. blocks), one block. */
__global__ static void final_sum(double *out, const double *part, int blocks) {
  __shared__ double s[RED_THREADS];
  double v = 0;
  for (int b = threadIdx.x; b < blocks; b += RED_THREADS) v += part[b];
  s[threadIdx.x] = v;
  __syncthreads();
  tree_sum(s);
  if (threadIdx.x == 0) out[0] = s[0];
}

/* Σ_{i<n} f(i) on the device; the grid depends only on n, so the result is deterministic. */
template <typename F>
static double device_sum(int64_t n, F f) {
  static double *scratch; /* RED_BLOCKS partial sums, then the total; allocated once */
  if (n <= 0) return 0.0;
  if (!scratch) CUDA_CHECK(cudaMalloc(&scratch, sizeof(double) * (RED_BLOCKS + 1)));
  unsigned blocks = kc_blocks(n, RED_THREADS);
  if (blocks > RED_BLOCKS) blocks = RED_BLOCKS;
  partial_sums<<<blocks, RED_THREADS, 0, kc_stream()>>>(scratch, n, f);
  KC_LAUNCH_CHECK();
  final_sum<<<1, RED_THREADS, 0, kc_stream()>>>(scratch + RED_BLOCKS, scratch, (int)blocks);
  KC_LAUNCH_CHECK();
  double total = 0;
  CUDA_CHECK(
      cudaMemcpyAsync(&total, scratch + RED_BLOCKS, sizeof total, cudaMemcpyDeviceToHost, kc_stream()));
  CUDA_CHECK(cudaStreamSynchronize(kc_stream()));
  return total;
}

struct weighted_square_error {
  const float *p, *t, *w;
  int64_t n;
  __device__ double operator()(int64_t i) const {
    double e = (double)p[i] - t[i];
    return e * e * (double)w[i / n];
  }
};
struct abs_error {
  const float *p, *t;
  __device__ double operator()(int64_t i) const { return fabs((double)p[i] - t[i]); }
};

extern "C" double kc_weighted_sse(const float *p, const float *t, const float *w, int64_t batch, int64_t n) {
  if (batch <= 0 || n <= 0) return 0.0;
  return device_sum(batch * n, weighted_square_error{p, t, w, n});
}

extern "C" double kc_mae_fwd(const float *pred, const float *target, int64_t n) {
  return device_sum(n, abs_error{pred, target}) / (double)n;
}

__global__ static void mae_bwd_k(float *dp, const float *p, const float *t, int64_t n, float a) {
  GRID_STRIDE(i, n) {
    float d = p[i] - t[i];
    dp[i] = d > 0.0f ? a : d < 0.0f ? -a : 0.0f;
  }
}

extern "C" void kc_mae_bwd(float *dpred, const float *pred, const float *target, int64_t n, double dloss) {
  if (n <= 0) return;
  mae_bwd_k<<<kc_blocks(n, THREADS), THREADS, 0, kc_stream()>>>(dpred, pred, target, n,
                                                                (float)(dloss / (double)n));
  KC_LAUNCH_CHECK();
}

/* ---- the local attention mask ---- */

struct window_geom {
  int dims;
  int64_t grid[K_WINDOW_MAX_DIMS];
  int window[K_WINDOW_MAX_DIMS];
};

/* One thread per mask entry (i, j), written contiguously. */
__global__ static void window_mask_k(bool *mask, window_geom g, int64_t L) {
  GRID_STRIDE(ij, L * L) {
    int64_t ri = ij / L, rj = ij % L;
    bool ok = true;
    for (int d = g.dims - 1; d >= 0 && ok; d--) { /* row-major: the last axis varies fastest */
      int64_t delta = ri % g.grid[d] - rj % g.grid[d];
      if (delta < 0) delta = -delta;
      ri /= g.grid[d], rj /= g.grid[d];
      if (g.grid[d] - delta < delta) delta = g.grid[d] - delta;
      ok = g.window[d] <= 0 || delta <= g.window[d] / 2;
    }
    mask[ij] = ok;
  }
}

extern "C" void kc_window_mask(bool *mask, int dims, const int64_t *grid, const int *window) {
  if (dims < 0 || dims > K_WINDOW_MAX_DIMS)
    lola_die(1, "window mask: %d grid dims (at most %d supported)", dims, (int)K_WINDOW_MAX_DIMS);
  window_geom g = {};
  g.dims = dims;
  int64_t L = 1;
  for (int d = 0; d < dims; d++) {
    g.grid[d] = grid[d];
    g.window[d] = window[d];
    L *= grid[d];
  }
  if (L <= 0) return;
  window_mask_k<<<kc_blocks(L * L, THREADS), THREADS, 0, kc_stream()>>>(mask, g, L);
  KC_LAUNCH_CHECK();
}
