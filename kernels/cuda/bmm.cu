/* Batched matrix products (kernels/linear.h) through cublasGemmStridedBatchedEx,
 * in the precision of kc_get_precision (fp32 storage either way). */
#include "common.cuh"
#include "kernels_cuda.h"

static cublasComputeType_t compute_type(void) {
  switch (kc_get_precision()) {
    case KC_TF32:
      return CUBLAS_COMPUTE_32F_FAST_TF32;
    case KC_BF16:
      return CUBLAS_COMPUTE_32F_FAST_16BF; /* bf16 products, fp32 accumulation */
    default:
      return CUBLAS_COMPUTE_32F;
  }
}

/* Row-major C[i] (m×n) = op(A[i])·op(B[i]) for i < count, A[i] at a + i·sa and
 * so on; in cuBLAS's column-major view C[i]ᵀ = op(B[i])ᵀ·op(A[i])ᵀ. */
static void rm_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                    int64_t sa, const float *b, int64_t ldb, int64_t sb, float *c, int64_t ldc, int64_t sc,
                    int64_t count) {
  if (m == 0 || n == 0 || count == 0) return;
  if (k == 0) { /* an empty sum: C = 0 */
    CUDA_CHECK(cudaMemsetAsync(c, 0, (size_t)(count * m * n) * sizeof(float), kc_stream()));
    return;
  }
  const float alpha = 1.0f, beta = 0.0f;
  CUBLAS_CHECK(cublasGemmStridedBatchedEx(
      kc_cublas(), tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, (int)n, (int)m, (int)k,
      &alpha, b, CUDA_R_32F, (int)(ldb > 0 ? ldb : 1), (long long)sb, a, CUDA_R_32F, (int)(lda > 0 ? lda : 1),
      (long long)sa, &beta, c, CUDA_R_32F, (int)ldc, (long long)sc, (int)count, compute_type(),
      CUBLAS_GEMM_DEFAULT));
}

extern "C" void kc_bmm_fwd(float *c, const float *a, const float *b, int64_t batch, int64_t m, int64_t n,
                           int64_t k, bool ta, bool tb) {
  rm_gemm(ta, tb, m, n, k, a, ta ? m : k, m * k, b, tb ? k : n, k * n, c, n, m * n, batch);
}

/* With A = op(a), B = op(b), C = A·B: dA = dC·Bᵀ and dB = Aᵀ·dC; an operand
 * stored transposed gets its gradient stored transposed (as kernels/cpu/linear.c). */
extern "C" void kc_bmm_bwd(float *da, float *db, const float *dc, const float *a, const float *b,
                           int64_t batch, int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  const int64_t lda = ta ? m : k, ldb = tb ? k : n;
  if (da) {
    if (!ta) /* da (m, k) = dC (m, n) · Bᵀ */
      rm_gemm(false, !tb, m, k, n, dc, n, m * n, b, ldb, k * n, da, lda, m * k, batch);
    else /* da (k, m) = B (k, n) · dCᵀ */
      rm_gemm(tb, true, k, m, n, b, ldb, k * n, dc, n, m * n, da, lda, m * k, batch);
  }
  if (db) {
    if (!tb) /* db (k, n) = Aᵀ (k, m) · dC (m, n) */
      rm_gemm(!ta, false, k, n, m, a, lda, m * k, dc, n, m * n, db, ldb, k * n, batch);
    else /* db (n, k) = dCᵀ (n, m) · A (m, k) */
      rm_gemm(true, ta, n, k, m, dc, n, m * n, a, lda, m * k, db, ldb, k * n, batch);
  }
}
