/* Device timing and the machine's GEMM peak, for benchmarks and the GPU check. */
#include <cuda_bf16.h>

#include "common.cuh"
#include "kernels_cuda.h"
#include "timing.h"

static cudaEvent_t start_event, stop_event;

extern "C" void kc_timer_start(void) {
  if (!start_event) {
    CUDA_CHECK(cudaEventCreate(&start_event));
    CUDA_CHECK(cudaEventCreate(&stop_event));
  }
  CUDA_CHECK(cudaEventRecord(start_event, kc_stream()));
}

extern "C" double kc_timer_stop_ms(void) {
  CUDA_CHECK(cudaEventRecord(stop_event, kc_stream()));
  CUDA_CHECK(cudaEventSynchronize(stop_event));
  float ms = 0;
  CUDA_CHECK(cudaEventElapsedTime(&ms, start_event, stop_event));
  return ms;
}

__global__ static void fill_bf16(__nv_bfloat16 *p, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    p[i] = __float2bfloat16((float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f);
}

/* bf16 inputs, fp32 accumulation and output: the tensor-core peak our bf16
 * GEMMs are measured against (n×n×n, mean of `reps` after two warm-ups). */
extern "C" double kc_bf16_gemm_tflops(int64_t n, int reps) {
  __nv_bfloat16 *a, *b;
  float *c;
  CUDA_CHECK(cudaMalloc(&a, sizeof(*a) * (size_t)(n * n)));
  CUDA_CHECK(cudaMalloc(&b, sizeof(*b) * (size_t)(n * n)));
  CUDA_CHECK(cudaMalloc(&c, sizeof(*c) * (size_t)(n * n)));
  fill_bf16<<<1024, 256, 0, kc_stream()>>>(a, n * n);
  fill_bf16<<<1024, 256, 0, kc_stream()>>>(b, n * n);
  const float alpha = 1, beta = 0;
  double ms = 0;
  for (int r = 0; r < reps + 2; r++) {
    if (r == 2) kc_timer_start();
    CUBLAS_CHECK(cublasGemmEx(kc_cublas(), CUBLAS_OP_N, CUBLAS_OP_N, (int)n, (int)n, (int)n, &alpha, a,
                              CUDA_R_16BF, (int)n, b, CUDA_R_16BF, (int)n, &beta, c, CUDA_R_32F, (int)n,
                              CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  }
  ms = kc_timer_stop_ms() / reps;
  CUDA_CHECK(cudaFree(a));
  CUDA_CHECK(cudaFree(b));
  CUDA_CHECK(cudaFree(c));
  return 2.0 * (double)n * n * n / (ms * 1e-3) / 1e12;
}

__global__ static void fill_f32(float *p, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    p[i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
}

/* C (m×n, fp32) = A (m×k) · B (k×n) with bf16 products and fp32 accumulation,
 * from operands stored in bf16 or, as the engine stores activations, in fp32
 * (CUBLAS_COMPUTE_32F_FAST_16BF): what bf16 storage would gain on the GEMMs. */
extern "C" double kc_gemm_storage_tflops(int64_t m, int64_t n, int64_t k, bool bf16_storage, int reps) {
  const size_t elt = bf16_storage ? sizeof(__nv_bfloat16) : sizeof(float);
  void *a, *b;
  float *c;
  CUDA_CHECK(cudaMalloc(&a, elt * (size_t)(m * k)));
  CUDA_CHECK(cudaMalloc(&b, elt * (size_t)(k * n)));
  CUDA_CHECK(cudaMalloc(&c, sizeof(*c) * (size_t)(m * n)));
  if (bf16_storage) {
    fill_bf16<<<1024, 256, 0, kc_stream()>>>((__nv_bfloat16 *)a, m * k);
    fill_bf16<<<1024, 256, 0, kc_stream()>>>((__nv_bfloat16 *)b, k * n);
  } else {
    fill_f32<<<1024, 256, 0, kc_stream()>>>((float *)a, m * k);
    fill_f32<<<1024, 256, 0, kc_stream()>>>((float *)b, k * n);
  }
  KC_LAUNCH_CHECK();
  const float alpha = 1, beta = 0;
  const cudaDataType_t type = bf16_storage ? CUDA_R_16BF : CUDA_R_32F;
  const cublasComputeType_t compute = bf16_storage ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_32F_FAST_16BF;
  for (int r = 0; r < reps + 2; r++) { /* column-major: C^T (n×m) = B^T · A^T */
    if (r == 2) kc_timer_start();
    CUBLAS_CHECK(cublasGemmEx(kc_cublas(), CUBLAS_OP_N, CUBLAS_OP_N, (int)n, (int)m, (int)k, &alpha, b, type,
                              (int)n, a, type, (int)k, &beta, c, CUDA_R_32F, (int)n, compute,
                              CUBLAS_GEMM_DEFAULT));
  }
  double ms = kc_timer_stop_ms() / reps;
  CUDA_CHECK(cudaFree(a));
  CUDA_CHECK(cudaFree(b));
  CUDA_CHECK(cudaFree(c));
  return 2.0 * (double)m * n * k / (ms * 1e-3) / 1e12;
}
