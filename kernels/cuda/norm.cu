/* Layer and RMS norms over the last dim: one warp per row (rows up to 4096
 * values) or one block per row, reductions in double (two passes, as the CPU
 * and torch.var_mean). */
#include "../norm.h"
#include "common.cuh"
#include "kernels_cuda.h"

enum { NORM_THREADS = 256 };

__global__ static void rows_fwd(float *y, float *rstd, const float *x, int64_t dim, int centre) {
  __shared__ double shared[NORM_THREADS / 32];
  const float *xr = x + blockIdx.x * dim;
  float *yr = y + blockIdx.x * dim;
  double s = 0;
  if (centre)
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) s += xr[i];
  double mean = centre ? kc_block_sum(s, shared) / (double)dim : 0.0;
  double ss = 0;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
    double d = xr[i] - mean;
    ss += d * d;
  }
  /* rounded as the CPU does: float mean and reciprocal, float products */
  const double r = 1.0 / sqrt(kc_block_sum(ss, shared) / (double)dim + K_NORM_EPS);
  const float fm = (float)mean, fr = (float)r;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) yr[i] = __fmul_rn(__fsub_rn(xr[i], fm), fr);
  if (rstd && threadIdx.x == 0) rstd[blockIdx.x] = fr;
}

__global__ static void rows_bwd(float *dx, const float *dy, const float *y, const float *rstd, int64_t dim,
                                int centre) {
  __shared__ double shared[NORM_THREADS / 32];
  const float *dyr = dy + blockIdx.x * dim, *yr = y + blockIdx.x * dim;
  float *dxr = dx + blockIdx.x * dim;
  double sdy = 0, sdyy = 0;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
    sdy += dyr[i];
    sdyy += (double)dyr[i] * yr[i];
  }
  sdy = kc_block_sum(sdy, shared);
  sdyy = kc_block_sum(sdyy, shared);
  float mdy = centre ? (float)(sdy / (double)dim) : 0.0f, k = (float)(sdyy / (double)dim),
        r = rstd[blockIdx.x];
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) dxr[i] = r * (dyr[i] - mdy - yr[i] * k);
}

/* Rows of up to WARP_ROW_MAX values (the QK norm's 128 per head, the ViT's
 * 1024 channels) take one warp each, 8 rows per block: a block per row of
 * 128 left half its threads idle and paid two block barriers per 512 bytes.
 * Sums in double over a fixed xor tree; the same roundings as rows_fwd. */
enum { WARP_ROW_MAX = 4096, ROWS_PER_BLOCK = NORM_THREADS / 32 };

__device__ static inline double warp_sum(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__global__ static void warp_rows_fwd(float *y, float *rstd, const float *x, int64_t rows, int64_t dim,
                                     int centre) {
  const int lane = threadIdx.x & 31;
  const int64_t row = blockIdx.x * (int64_t)ROWS_PER_BLOCK + (threadIdx.x >> 5);
  if (row >= rows) return; /* the whole warp: row is the same for its lanes */
  const float *xr = x + row * dim;
  float *yr = y + row * dim;
  double s = 0;
  if (centre)
    for (int64_t i = lane; i < dim; i += 32) s += xr[i];
  const double mean = centre ? warp_sum(s) / (double)dim : 0.0;
  double ss = 0;
  for (int64_t i = lane; i < dim; i += 32) {
    double d = xr[i] - mean;
    ss += d * d;
  }
  const double r = 1.0 / sqrt(warp_sum(ss) / (double)dim + K_NORM_EPS);
  const float fm = (float)mean, fr = (float)r;
  for (int64_t i = lane; i < dim; i += 32) yr[i] = __fmul_rn(__fsub_rn(xr[i], fm), fr);
  if (rstd && lane == 0) rstd[row] = fr;
}

__global__ static void warp_rows_bwd(float *dx, const float *dy, const float *y, const float *rstd,
                                     int64_t rows, int64_t dim, int centre) {
  const int lane = threadIdx.x & 31;
  const int64_t row = blockIdx.x * (int64_t)ROWS_PER_BLOCK + (threadIdx.x >> 5);
  if (row >= rows) return;
  const float *dyr = dy + row * dim, *yr = y + row * dim;
  float *dxr = dx + row * dim;
  double sdy = 0, sdyy = 0;
  for (int64_t i = lane; i < dim; i += 32) {
    sdy += dyr[i];
    sdyy += (double)dyr[i] * yr[i];
  }
  sdy = warp_sum(sdy);
  sdyy = warp_sum(sdyy);
  float mdy = centre ? (float)(sdy / (double)dim) : 0.0f, k = (float)(sdyy / (double)dim), r = rstd[row];
  for (int64_t i = lane; i < dim; i += 32) dxr[i] = r * (dyr[i] - mdy - yr[i] * k);
}

static unsigned row_blocks(int64_t rows) { return (unsigned)((rows + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK); }

static void launch_fwd(float *y, float *rstd, const float *x, int64_t rows, int64_t dim, int centre) {
  if (rows == 0) return;
  if (dim <= WARP_ROW_MAX)
    warp_rows_fwd<<<row_blocks(rows), NORM_THREADS, 0, kc_stream()>>>(y, rstd, x, rows, dim, centre);
  else
    rows_fwd<<<(unsigned)rows, NORM_THREADS, 0, kc_stream()>>>(y, rstd, x, dim, centre);
  KC_LAUNCH_CHECK();
}

static void launch_bwd(float *dx, const float *dy, const float *y, const float *rstd, int64_t rows,
                       int64_t dim, int centre) {
  if (rows == 0) return;
  if (dim <= WARP_ROW_MAX)
    warp_rows_bwd<<<row_blocks(rows), NORM_THREADS, 0, kc_stream()>>>(dx, dy, y, rstd, rows, dim, centre);
  else
    rows_bwd<<<(unsigned)rows, NORM_THREADS, 0, kc_stream()>>>(dx, dy, y, rstd, dim, centre);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_layernorm_fwd(float *y, float *rstd, const float *x, int64_t rows, int64_t dim) {
  launch_fwd(y, rstd, x, rows, dim, 1);
}
extern "C" void kc_layernorm_bwd(float *dx, const float *dy, const float *y, const float *rstd, int64_t rows,
                                 int64_t dim) {
  launch_bwd(dx, dy, y, rstd, rows, dim, 1);
}
extern "C" void kc_rmsnorm_fwd(float *y, float *rstd, const float *x, int64_t rows, int64_t dim) {
  launch_fwd(y, rstd, x, rows, dim, 0);
}
extern "C" void kc_rmsnorm_bwd(float *dx, const float *dy, const float *y, const float *rstd, int64_t rows,
                               int64_t dim) {
  launch_bwd(dx, dy, y, rstd, rows, dim, 0);
}
