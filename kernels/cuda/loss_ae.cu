/* The autoencoder's VRMSE and similarity losses (kernels/loss.h) on the GPU.
 * Per-row terms are reduced by one block each in double (fixed order), the
 * terms summed by one block in a fixed tree, and the one value copied back
 * (the only host synchronisation). The terms live in a device buffer kept
 * between calls, grown (reallocated) only when a larger batch first needs it. */
#include <math.h>

#include "../loss.h"
#include "common.cuh"
#include "kernels_cuda.h"

enum { LOSS_THREADS = 256 };

/* At least n doubles of device scratch. */
static double *scratch(int64_t n) {
  static double *buf;
  static int64_t cap;
  if (n > cap) {
    if (buf) CUDA_CHECK(cudaFree(buf));
    CUDA_CHECK(cudaMalloc(&buf, sizeof(double) * (size_t)n));
    cap = n;
  }
  return buf;
}

/* out[0] = Σ terms[0..n) / div: one block, per-thread strided shares, fixed tree. */
__global__ static void sum_terms(double *out, const double *terms, int64_t n, double div) {
  __shared__ double shared[LOSS_THREADS / 32];
  double v = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) v += terms[i];
  v = kc_block_sum(v, shared);
  if (threadIdx.x == 0) out[0] = v / div;
}

/* Sums terms[0..n) / div on the device and returns it (host synchronisation). */
static double finish(double *terms, int64_t n, double div) {
  sum_terms<<<1, LOSS_THREADS, 0, kc_stream()>>>(terms + n, terms, n, div);
  KC_LAUNCH_CHECK();
  double v = 0;
  CUDA_CHECK(cudaMemcpyAsync(&v, terms + n, sizeof v, cudaMemcpyDeviceToHost, kc_stream()));
  CUDA_CHECK(cudaStreamSynchronize(kc_stream()));
  return v;
}

/* ---- VRMSE ---- */

/* Mean squared error and unbiased target variance of row blockIdx.x (every thread gets them). */
__device__ static void row_error_and_variance(const float *p, const float *t, int64_t S, double *shared,
                                              double *mse, double *var) {
  double mean = 0, err = 0;
  for (int64_t s = threadIdx.x; s < S; s += blockDim.x) {
    mean += t[s];
    double d = (double)t[s] - p[s];
    err += d * d;
  }
  mean = kc_block_sum(mean, shared) / (double)S;
  err = kc_block_sum(err, shared);
  double ss = 0;
  for (int64_t s = threadIdx.x; s < S; s += blockDim.x) ss += ((double)t[s] - mean) * ((double)t[s] - mean);
  ss = kc_block_sum(ss, shared);
  *mse = err / (double)S;
  *var = ss / (double)(S - 1);
}

__global__ static void vrmse_terms(double *term, const float *pred, const float *target, int64_t S) {
  __shared__ double shared[LOSS_THREADS / 32];
  double mse, var;
  row_error_and_variance(pred + blockIdx.x * S, target + blockIdx.x * S, S, shared, &mse, &var);
  if (threadIdx.x == 0) term[blockIdx.x] = sqrt(mse / (var + 1e-2));
}

__global__ static void vrmse_grad(float *dpred, const float *pred, const float *target, int64_t S,
                                  double scale) {
  __shared__ double shared[LOSS_THREADS / 32];
  const float *p = pred + blockIdx.x * S, *t = target + blockIdx.x * S;
  double mse, var;
  row_error_and_variance(p, t, S, shared, &mse, &var);
  double v = var + 1e-2, root = sqrt(mse / v);
  double a = root > 0.0 ? scale / ((double)S * v * root) : 0.0;
  for (int64_t s = threadIdx.x; s < S; s += blockDim.x)
    dpred[blockIdx.x * S + s] = (float)(a * ((double)p[s] - t[s]));
}

static void require_spatial(int64_t S) {
  if (S < K_VRMSE_MIN_SPATIAL)
    lola_die(1, "VRMSE needs at least %d positions per channel (got %lld)", K_VRMSE_MIN_SPATIAL,
             (long long)S);
}

extern "C" double kc_vrmse_fwd(const float *pred, const float *target, int64_t B, int64_t C, int64_t S) {
  require_spatial(S);
  const int64_t rows = B * C;
  double *terms = scratch(rows + 1);
  if (rows > 0) {
    vrmse_terms<<<(unsigned)rows, LOSS_THREADS, 0, kc_stream()>>>(terms, pred, target, S);
    KC_LAUNCH_CHECK();
  }
  return finish(terms, rows, (double)rows);
}

extern "C" void kc_vrmse_bwd(float *dpred, const float *pred, const float *target, int64_t B, int64_t C,
                             int64_t S, double dloss) {
  require_spatial(S);
  const int64_t rows = B * C;
  if (rows == 0) return;
  vrmse_grad<<<(unsigned)rows, LOSS_THREADS, 0, kc_stream()>>>(dpred, pred, target, S, dloss / (double)rows);
  KC_LAUNCH_CHECK();
}

/* ---- similarity ---- */

__device__ static double clamped_norm(const float *z, int64_t D, double *shared) {
  double s = 0;
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) s += (double)z[d] * z[d];
  return fmax(sqrt(kc_block_sum(s, shared)), 1e-8);
}

/* row[i] = Σ_{j > i} cos(z_i, z_j), in j order. */
__global__ static void similarity_rows(double *row, const float *z, int64_t B, int64_t D) {
  __shared__ double shared[LOSS_THREADS / 32];
  const int64_t i = blockIdx.x;
  const float *zi = z + i * D;
  const double ni = clamped_norm(zi, D, shared);
  double sum = 0;
  for (int64_t j = i + 1; j < B; j++) {
    const float *zj = z + j * D;
    double dot = 0;
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) dot += (double)zi[d] * zj[d];
    dot = kc_block_sum(dot, shared);
    sum += dot / (ni * clamped_norm(zj, D, shared));
  }
  if (threadIdx.x == 0) row[i] = sum;
}

/* dz_i = u_i = z_i / n_i (clamped). */
__global__ static void similarity_unit(float *dz, const float *z, int64_t D) {
  __shared__ double shared[LOSS_THREADS / 32];
  const float *zi = z + blockIdx.x * D;
  const double ni = clamped_norm(zi, D, shared);
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) dz[blockIdx.x * D + d] = (float)(zi[d] / ni);
}

/* g_j = scale·(Σ_i u_i - u_j), per coordinate d (one thread each). */
__global__ static void similarity_pairs(float *dz, int64_t B, int64_t D, double scale) {
  for (int64_t d = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; d < D;
       d += (int64_t)gridDim.x * blockDim.x) {
    double sum = 0;
    for (int64_t j = 0; j < B; j++) sum += dz[j * D + d];
    for (int64_t j = 0; j < B; j++) dz[j * D + d] = (float)(scale * (sum - dz[j * D + d]));
  }
}

/* dz_i = (g_i - u_i (u_i·g_i)) / n_i, or g_i / 1e-8 where the norm is clamped. */
__global__ static void similarity_project(float *dz, const float *z, int64_t D) {
  __shared__ double shared[LOSS_THREADS / 32];
  const float *zi = z + blockIdx.x * D;
  float *gi = dz + blockIdx.x * D;
  double s2 = 0;
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) s2 += (double)zi[d] * zi[d];
  const double n = sqrt(kc_block_sum(s2, shared));
  if (n <= 1e-8) {
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) gi[d] = (float)(gi[d] / 1e-8);
    return;
  }
  double ug = 0;
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) ug += zi[d] / n * gi[d];
  ug = kc_block_sum(ug, shared);
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) gi[d] = (float)((gi[d] - zi[d] / n * ug) / n);
}

static void require_pairs(int64_t B) {
  if (B < 2) lola_die(1, "the similarity loss needs at least 2 samples per batch (got %lld)", (long long)B);
}

extern "C" double kc_similarity_fwd(const float *z, int64_t B, int64_t D) {
  require_pairs(B);
  double *rows = scratch(B + 1);
  similarity_rows<<<(unsigned)B, LOSS_THREADS, 0, kc_stream()>>>(rows, z, B, D);
  KC_LAUNCH_CHECK();
  return finish(rows, B, (double)(B * (B - 1) / 2));
}

extern "C" void kc_similarity_bwd(float *dz, const float *z, int64_t B, int64_t D, double dloss) {
  require_pairs(B);
  if (D == 0) return;
  similarity_unit<<<(unsigned)B, LOSS_THREADS, 0, kc_stream()>>>(dz, z, D);
  KC_LAUNCH_CHECK();
  similarity_pairs<<<kc_blocks(D, LOSS_THREADS), LOSS_THREADS, 0, kc_stream()>>>(
      dz, B, D, dloss / (double)(B * (B - 1) / 2));
  KC_LAUNCH_CHECK();
  similarity_project<<<(unsigned)B, LOSS_THREADS, 0, kc_stream()>>>(dz, z, D);
  KC_LAUNCH_CHECK();
}
