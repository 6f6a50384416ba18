/* The GEMM plumbing the linear, batched-product and convolution kernels share. */
#include "common.cuh"
#include "kernels_cuda.h"

cublasComputeType_t kc_compute_type(void) {
  switch (kc_get_precision()) {
    case KC_TF32:
      return CUBLAS_COMPUTE_32F_FAST_TF32;
    case KC_BF16:
      return CUBLAS_COMPUTE_32F_FAST_16BF; /* bf16 products, fp32 accumulation */
    default:
      return CUBLAS_COMPUTE_32F;
  }
}

void kc_rm_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, int64_t sa,
                const float *b, int64_t ldb, int64_t sb, float beta, float *c, int64_t ldc, int64_t sc,
                int64_t count) {
  if (m == 0 || n == 0 || count == 0) return;
  if (k == 0) { /* an empty sum: C = beta·C */
    if (beta == 0.0f) CUDA_CHECK(cudaMemsetAsync(c, 0, (size_t)(count * m * n) * sizeof(float), kc_stream()));
    return;
  }
  const float alpha = 1.0f;
  CUBLAS_CHECK(cublasGemmStridedBatchedEx(
      kc_cublas(), tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, (int)n, (int)m, (int)k,
      &alpha, b, CUDA_R_32F, (int)(ldb > 0 ? ldb : 1), (long long)sb, a, CUDA_R_32F, (int)(lda > 0 ? lda : 1),
      (long long)sa, &beta, c, CUDA_R_32F, (int)ldc, (long long)sc, (int)count, kc_compute_type(),
      CUBLAS_GEMM_DEFAULT));
}
