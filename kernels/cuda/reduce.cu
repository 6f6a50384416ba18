/* Reductions to one value (losses, the gradient norm) and the AdamW update.
 * Sums run over a fixed grid in a fixed order, so they are deterministic; the
 * guarded step keeps its norm on the device, so it needs no host wait. */
#include <math.h>

#include "column_sums.cuh"
#include "common.cuh"
#include "kernels_cuda.h"

/* 1024 blocks of partial sums: enough loads in flight to stream 10^8 gradients. */
enum { RED_BLOCKS = 1024, RED_THREADS = 256, ADAMW_BLOCKS = 2048 };

/* part[block] = Σ f(i) over the block's grid-stride share, in double. */
template <typename F>
__global__ static void partial_sums(double *part, int64_t n, F f) {
  __shared__ double s[RED_THREADS];
  double v = 0;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    v += f(i);
  s[threadIdx.x] = v;
  __syncthreads();
  for (int w = RED_THREADS / 2; w > 0; w >>= 1) {
    if ((int)threadIdx.x < w) s[threadIdx.x] += s[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) part[blockIdx.x] = s[0];
}

/* The block sums of the last reduction, in the kernels' memory. */
static double *partials(void) {
  static double *part;
  if (!part) CUDA_CHECK(cudaMalloc(&part, sizeof(double) * RED_BLOCKS));
  return part;
}

/* The column sums' partials (column_sums.cuh): grown when a call needs more,
 * after the stream has finished with the old one (the first steps only). */
double2 *kc_column_scratch(size_t count) {
  static double2 *scratch;
  static size_t capacity;
  if (count > capacity) {
    if (scratch) { /* the kernels queued on the stream may still read it */
      CUDA_CHECK(cudaStreamSynchronize(kc_stream()));
      CUDA_CHECK(cudaFree(scratch));
    }
    CUDA_CHECK(cudaMalloc(&scratch, sizeof(double2) * count));
    capacity = count;
  }
  return scratch;
}

template <typename F>
static double device_sum(int64_t n, F f) {
  double *part = partials();
  partial_sums<<<RED_BLOCKS, RED_THREADS, 0, kc_stream()>>>(part, n, f);
  KC_LAUNCH_CHECK();
  double host[RED_BLOCKS];
  CUDA_CHECK(cudaMemcpyAsync(host, part, sizeof host, cudaMemcpyDeviceToHost, kc_stream()));
  CUDA_CHECK(cudaStreamSynchronize(kc_stream()));
  double total = 0;
  for (int b = 0; b < RED_BLOCKS; b++) total += host[b];
  return total;
}

struct square_of {
  const float *g;
  __device__ double operator()(int64_t i) const { return (double)g[i] * g[i]; }
};
struct squared_error {
  const float *p, *t;
  __device__ double operator()(int64_t i) const {
    double d = (double)p[i] - t[i];
    return d * d;
  }
};

extern "C" double kc_global_norm(const float *g, int64_t n) { return sqrt(device_sum(n, square_of{g})); }

extern "C" double kc_mse_fwd(const float *pred, const float *target, int64_t n) {
  return device_sum(n, squared_error{pred, target}) / (double)n;
}

__global__ static void mse_bwd(float *dp, const float *p, const float *t, int64_t n, float k) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    dp[i] = k * (p[i] - t[i]);
}

extern "C" void kc_mse_bwd(float *dpred, const float *pred, const float *target, int64_t n, double dloss) {
  mse_bwd<<<kc_blocks(n, 256), 256, 0, kc_stream()>>>(dpred, pred, target, n,
                                                      (float)(2.0 * dloss / (double)n));
  KC_LAUNCH_CHECK();
}

/* torch's single-tensor AdamW of g·gscale (see kernels/cpu/optim.c). */
__device__ static inline void adamw_at(int64_t i, float *p, const float *g, float *m, float *v, float decay,
                                       float b1, float b2, float step_size, float bc2_sqrt, float eps,
                                       float gscale) {
  /* _rn intrinsics: no fused multiply-adds, so the update rounds as the CPU's */
  float gi = __fmul_rn(g[i], gscale);
  float mi = __fadd_rn(__fmul_rn(b1, m[i]), __fmul_rn(1.0f - b1, gi));
  float vi = __fadd_rn(__fmul_rn(b2, v[i]), __fmul_rn(__fmul_rn(1.0f - b2, gi), gi));
  m[i] = mi;
  v[i] = vi;
  p[i] = __fsub_rn(__fmul_rn(p[i], decay),
                   __fdiv_rn(__fmul_rn(step_size, mi), __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), bc2_sqrt), eps)));
}

__global__ static void adamw(float *p, const float *g, float *m, float *v, int64_t n, float decay, float b1,
                             float b2, float step_size, float bc2_sqrt, float eps) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    adamw_at(i, p, g, m, v, decay, b1, b2, step_size, bc2_sqrt, eps, 1.0f);
}

extern "C" void kc_adamw_update(float *p, const float *g, float *m, float *v, int64_t n, double lr,
                                double beta1, double beta2, double eps, double weight_decay, int64_t step) {
  adamw<<<kc_blocks(n, 256), 256, 0, kc_stream()>>>(p, g, m, v, n, (float)(1.0 - lr * weight_decay),
                                                    (float)beta1, (float)beta2,
                                                    (float)(lr / (1.0 - pow(beta1, (double)step))),
                                                    (float)sqrt(1.0 - pow(beta2, (double)step)), (float)eps);
  KC_LAUNCH_CHECK();
}

/* The block sums of ||g||² added in the order kc_global_norm adds them. */
__global__ static void add_partials(const double *part, k_step_state *s) {
  double total = 0;
  for (int b = 0; b < RED_BLOCKS; b++) total += part[b];
  s->norm = total;
}

__global__ static void step_guard_finish(k_step_state *s) {
  double norm = sqrt(s->norm);
  s->norm = norm;
  if (isfinite(norm)) {
    s->norm_sum += norm;
    s->steps += 1;
  } else {
    s->skipped += 1;
  }
}

extern "C" void kc_step_guard_sum(const float *g, int64_t n, k_step_state *s) {
  double *part = partials();
  partial_sums<<<RED_BLOCKS, RED_THREADS, 0, kc_stream()>>>(part, n, square_of{g});
  KC_LAUNCH_CHECK();
  add_partials<<<1, 1, 0, kc_stream()>>>(part, s);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_step_guard_finish(k_step_state *s) {
  step_guard_finish<<<1, 1, 0, kc_stream()>>>(s);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_step_guard(const float *g, int64_t n, k_step_state *s) {
  kc_step_guard_sum(g, n, s);
  kc_step_guard_finish(s);
}

/* Thread 0 of each block turns the guard's state into the update's factors. */
__global__ static void adamw_guarded(float *p, const float *g, float *m, float *v, int64_t n,
                                     const k_step_state *s, double lr, double beta1, double beta2, float eps,
                                     double weight_decay, double grad_clip) {
  __shared__ float f[4]; /* gscale, step_size, bc2_sqrt, skip */
  if (threadIdx.x == 0) {
    double norm = s->norm, step = s->steps;
    f[3] = isfinite(norm) ? 0.0f : 1.0f;
    f[0] = 1.0f;
    if (grad_clip > 0) {
      double coef = grad_clip / (norm + 1e-6);
      if (coef < 1.0) f[0] = (float)coef;
    }
    f[1] = (float)(lr / (1.0 - pow(beta1, step)));
    f[2] = (float)sqrt(1.0 - pow(beta2, step));
  }
  __syncthreads();
  if (f[3] != 0.0f) return;
  const float decay = (float)(1.0 - lr * weight_decay), gscale = f[0], step_size = f[1], bc2_sqrt = f[2];
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    adamw_at(i, p, g, m, v, decay, (float)beta1, (float)beta2, step_size, bc2_sqrt, eps, gscale);
}

extern "C" void kc_adamw_guarded(float *p, const float *g, float *m, float *v, int64_t n,
                                 const k_step_state *s, double lr, double beta1, double beta2, double eps,
                                 double weight_decay, double grad_clip) {
  /* A bounded grid: each block's thread 0 works out the factors (double pow)
   * before its threads start, so blocks loop over many elements each. */
  unsigned blocks = kc_blocks(n, 256);
  if (blocks > ADAMW_BLOCKS) blocks = ADAMW_BLOCKS;
  adamw_guarded<<<blocks, 256, 0, kc_stream()>>>(p, g, m, v, n, s, lr, beta1, beta2, (float)eps, weight_decay,
                                                 grad_clip);
  KC_LAUNCH_CHECK();
}
