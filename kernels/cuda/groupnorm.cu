/* Group norm and the channel-first layer norm (kernels/norm.h) on the GPU.
 *
 * Group norm: a group of C/G channels of one sample is contiguous, so it is a
 * row norm over (B·G) rows of C/G·P values: one block per row, two passes in
 * double with block reductions (fixed order), the output rounded as the CPU
 * does ((x - (float)mean)·(float)rstd).
 * layernorm_channels: 32 (sample, position) pairs a block, each summed over
 * the channels (stride P, coalesced across pairs) by 8 lanes in double (32 up
 * to 1024 positions), the UNBIASED variance (divided by C - 1) as
 * torch.var_mean. */
#include "../norm.h"
#include "common.cuh"
#include "kernels_cuda.h"

enum { GN_THREADS = 256 };

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

/* A block holds 32 (sample, position) pairs e = b·P + p (adjacent p: adjacent
 * memory) × L lanes; lane l of a pair sums its channels c ≡ l (mod L), and
 * the lanes' sums meet in lane order (deterministic). One thread per pair
 * looping over every channel gave 4 blocks at the DCAE's 8² level. */
enum { LNC_PAIRS = 32, LNC_MAX_LANES = 32, LNC_FEW_POSITIONS = 1024 };

/* Σ over the block's lanes of v, for pair tx; every lane gets it. */
__device__ static double lanes_total(double v, double (*red)[LNC_PAIRS]) {
  red[threadIdx.y][threadIdx.x] = v;
  __syncthreads();
  double t = 0;
  for (int l = 0; l < (int)blockDim.y; l++) t += red[l][threadIdx.x];
  __syncthreads(); /* red is reused by the next call */
  return t;
}

__global__ static void __launch_bounds__(LNC_PAIRS *LNC_MAX_LANES)
    lnc_fwd(float *y, float *rstd, const float *x, int64_t batch, int64_t channels, int64_t positions) {
  __shared__ double red[LNC_MAX_LANES][LNC_PAIRS];
  const double nv = (double)(channels - 1); /* torch.var_mean's default correction */
  const int64_t e = blockIdx.x * (int64_t)LNC_PAIRS + threadIdx.x, lanes = blockDim.y;
  const bool on = e < batch * positions;
  const int64_t off = on ? (e / positions) * channels * positions + e % positions : 0;
  const float *xc = x + off;
  double s = 0;
  if (on)
    for (int64_t c = threadIdx.y; c < channels; c += lanes) s += xc[c * positions];
  const double mean = lanes_total(s, red) / (double)channels;
  double ss = 0;
  if (on)
    for (int64_t c = threadIdx.y; c < channels; c += lanes) {
      double d = xc[c * positions] - mean;
      ss += d * d;
    }
  const double total = lanes_total(ss, red);
  if (!on) return;
  const float fm = (float)mean, fr = (float)(1.0 / sqrt(total / nv + K_NORM_EPS));
  if (rstd && threadIdx.y == 0) rstd[e] = fr;
  float *yc = y + off;
  for (int64_t c = threadIdx.y; c < channels; c += lanes) yc[c * positions] = (xc[c * positions] - fm) * fr;
}

__global__ static void __launch_bounds__(LNC_PAIRS *LNC_MAX_LANES)
    lnc_bwd(float *dx, const float *dy, const float *y, const float *rstd, int64_t batch, int64_t channels,
            int64_t positions) {
  __shared__ double red[LNC_MAX_LANES][LNC_PAIRS];
  const double nv = (double)(channels - 1);
  const int64_t e = blockIdx.x * (int64_t)LNC_PAIRS + threadIdx.x, lanes = blockDim.y;
  const bool on = e < batch * positions;
  const int64_t off = on ? (e / positions) * channels * positions + e % positions : 0;
  const float *dyc = dy + off, *yc = y + off;
  double sdy = 0, sdyy = 0;
  if (on)
    for (int64_t c = threadIdx.y; c < channels; c += lanes) {
      sdy += dyc[c * positions];
      sdyy += (double)dyc[c * positions] * yc[c * positions];
    }
  sdy = lanes_total(sdy, red);
  sdyy = lanes_total(sdyy, red);
  if (!on) return;
  const float mdy = (float)(sdy / (double)channels), k = (float)(sdyy / nv), r = rstd[e];
  float *dxc = dx + off;
  for (int64_t c = threadIdx.y; c < channels; c += lanes)
    dxc[c * positions] = r * (dyc[c * positions] - mdy - yc[c * positions] * k);
}

/* 32 lanes at low resolution (many channels, few positions), 8 otherwise:
 * chosen from the positions, not the batch, so a position's sums are added
 * in the same order whatever the batch size. */
static dim3 lnc_block(int64_t positions) {
  return dim3(LNC_PAIRS, positions <= LNC_FEW_POSITIONS ? LNC_MAX_LANES : 8);
}
static unsigned lnc_grid(int64_t pairs) { return (unsigned)((pairs + LNC_PAIRS - 1) / LNC_PAIRS); }

extern "C" void kc_layernorm_channels_fwd(float *y, float *rstd, const float *x, int64_t batch,
                                          int64_t channels, int64_t positions) {
  if (batch * positions == 0) return;
  lnc_fwd<<<lnc_grid(batch * positions), lnc_block(positions), 0, kc_stream()>>>(y, rstd, x, batch, channels,
                                                                                 positions);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_layernorm_channels_bwd(float *dx, const float *dy, const float *y, const float *rstd,
                                          int64_t batch, int64_t channels, int64_t positions) {
  if (batch * positions == 0) return;
  lnc_bwd<<<lnc_grid(batch * positions), lnc_block(positions), 0, kc_stream()>>>(dx, dy, y, rstd, batch,
                                                                                 channels, positions);
  KC_LAUNCH_CHECK();
}
