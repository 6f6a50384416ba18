/* Group norm and the channel-first layer norm (kernels/norm.h) on the GPU.
 *
 * Group norm: a group of C/G channels of one sample is contiguous, so it is a
 * row norm over (B·G) rows of C/G·P values: one block per row, two passes in
 * double with block reductions (fixed order), the output rounded as the CPU
 * does ((x - (float)mean)·(float)rstd).
 * layernorm_channels: one thread per (sample, position), looping over the
 * channels at stride P (coalesced across threads), sums in double, the
 * UNBIASED variance (divided by C - 1) as torch.var_mean. */
#include "../norm.h"
#include "common.cuh"
#include "kernels_cuda.h"

enum { GN_THREADS = 256, LNC_THREADS = 128 };

__global__ static void gn_fwd(float *y, float *rstd, const float *x, int64_t n) {
  __shared__ double shared[GN_THREADS / 32];
  const float *xr = x + blockIdx.x * n;
  float *yr = y + blockIdx.x * n;
  double s = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += xr[i];
  const double mean = kc_block_sum(s, shared) / (double)n;
  double ss = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    double d = xr[i] - mean;
    ss += d * d;
  }
  const double r = 1.0 / sqrt(kc_block_sum(ss, shared) / (double)n + K_NORM_EPS);
  const float fm = (float)mean, fr = (float)r;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) yr[i] = (xr[i] - fm) * fr;
  if (rstd && threadIdx.x == 0) rstd[blockIdx.x] = fr;
}

__global__ static void gn_bwd(float *dx, const float *dy, const float *y, const float *rstd, int64_t n) {
  __shared__ double shared[GN_THREADS / 32];
  const float *dyr = dy + blockIdx.x * n, *yr = y + blockIdx.x * n;
  float *dxr = dx + blockIdx.x * n;
  double sdy = 0, sdyy = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    sdy += dyr[i];
    sdyy += (double)dyr[i] * yr[i];
  }
  sdy = kc_block_sum(sdy, shared);
  sdyy = kc_block_sum(sdyy, shared);
  const float mdy = (float)(sdy / (double)n), k = (float)(sdyy / (double)n), r = rstd[blockIdx.x];
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) dxr[i] = r * (dyr[i] - mdy - yr[i] * k);
}

static void check_groups(int64_t channels, int64_t groups) {
  if (groups < 1 || channels % groups != 0)
    lola_die(1, "groupnorm: %lld channels do not split into %lld groups", (long long)channels,
             (long long)groups);
}

extern "C" void kc_groupnorm_fwd(float *y, float *rstd, const float *x, int64_t batch, int64_t channels,
                                 int64_t groups, int64_t positions) {
  check_groups(channels, groups);
  const int64_t rows = batch * groups, n = channels / groups * positions;
  if (rows == 0) return;
  gn_fwd<<<(unsigned)rows, GN_THREADS, 0, kc_stream()>>>(y, rstd, x, n);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_groupnorm_bwd(float *dx, const float *dy, const float *y, const float *rstd, int64_t batch,
                                 int64_t channels, int64_t groups, int64_t positions) {
  check_groups(channels, groups);
  const int64_t rows = batch * groups, n = channels / groups * positions;
  if (rows == 0) return;
  gn_bwd<<<(unsigned)rows, GN_THREADS, 0, kc_stream()>>>(dx, dy, y, rstd, n);
  KC_LAUNCH_CHECK();
}

/* One thread per (b, p) over batch·positions; channel c of it at offset c·P. */
__global__ static void lnc_fwd(float *y, float *rstd, const float *x, int64_t batch, int64_t channels,
                               int64_t positions) {
  const double nv = (double)(channels - 1); /* torch.var_mean's default correction */
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < batch * positions;
       e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t b = e / positions, p = e % positions, off = b * channels * positions + p;
    const float *xc = x + off;
    float *yc = y + off;
    double mean = 0, ss = 0;
    for (int64_t c = 0; c < channels; c++) mean += xc[c * positions];
    mean /= (double)channels;
    for (int64_t c = 0; c < channels; c++) {
      double d = xc[c * positions] - mean;
      ss += d * d;
    }
    const float fm = (float)mean, fr = (float)(1.0 / sqrt(ss / nv + K_NORM_EPS));
    if (rstd) rstd[e] = fr;
    for (int64_t c = 0; c < channels; c++) yc[c * positions] = (xc[c * positions] - fm) * fr;
  }
}

__global__ static void lnc_bwd(float *dx, const float *dy, const float *y, const float *rstd, int64_t batch,
                               int64_t channels, int64_t positions) {
  const double nv = (double)(channels - 1);
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < batch * positions;
       e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t b = e / positions, p = e % positions, off = b * channels * positions + p;
    const float *dyc = dy + off, *yc = y + off;
    float *dxc = dx + off;
    double sdy = 0, sdyy = 0;
    for (int64_t c = 0; c < channels; c++) {
      sdy += dyc[c * positions];
      sdyy += (double)dyc[c * positions] * yc[c * positions];
    }
    const float mdy = (float)(sdy / (double)channels), k = (float)(sdyy / nv), r = rstd[e];
    for (int64_t c = 0; c < channels; c++)
      dxc[c * positions] = r * (dyc[c * positions] - mdy - yc[c * positions] * k);
  }
}

extern "C" void kc_layernorm_channels_fwd(float *y, float *rstd, const float *x, int64_t batch,
                                          int64_t channels, int64_t positions) {
  if (batch * positions == 0) return;
  lnc_fwd<<<kc_blocks(batch * positions, LNC_THREADS), LNC_THREADS, 0, kc_stream()>>>(y, rstd, x, batch,
                                                                                      channels, positions);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_layernorm_channels_bwd(float *dx, const float *dy, const float *y, const float *rstd,
                                          int64_t batch, int64_t channels, int64_t positions) {
  if (batch * positions == 0) return;
  lnc_bwd<<<kc_blocks(batch * positions, LNC_THREADS), LNC_THREADS, 0, kc_stream()>>>(dx, dy, y, rstd, batch,
                                                                                      channels, positions);
  KC_LAUNCH_CHECK();
}
