/* Batched matrix products (kernels/linear.h) through cublasGemmStridedBatchedEx,
 * in the precision of kc_get_precision (fp32 storage either way). */
#include "common.cuh"
#include "kernels_cuda.h"

extern "C" void kc_bmm_fwd(float *c, const float *a, const float *b, int64_t batch, int64_t m, int64_t n,
                           int64_t k, bool ta, bool tb) {
  kc_rm_gemm(ta, tb, m, n, k, a, ta ? m : k, m * k, b, tb ? k : n, k * n, 0.0f, c, n, m * n, batch);
}

/* With A = op(a), B = op(b), C = A·B: dA = dC·Bᵀ and dB = Aᵀ·dC; an operand
 * stored transposed gets its gradient stored transposed (as kernels/cpu/linear.c). */
extern "C" void kc_bmm_bwd(float *da, float *db, const float *dc, const float *a, const float *b,
                           int64_t batch, int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  const int64_t lda = ta ? m : k, ldb = tb ? k : n;
  if (da) {
    if (!ta) /* da (m, k) = dC (m, n) · Bᵀ */
      kc_rm_gemm(false, !tb, m, k, n, dc, n, m * n, b, ldb, k * n, 0.0f, da, lda, m * k, batch);
    else /* da (k, m) = B (k, n) · dCᵀ */
      kc_rm_gemm(tb, true, k, m, n, b, ldb, k * n, dc, n, m * n, 0.0f, da, lda, m * k, batch);
  }
  if (db) {
    if (!tb) /* db (k, n) = Aᵀ (k, m) · dC (m, n) */
      kc_rm_gemm(!ta, false, k, n, m, a, lda, m * k, dc, n, m * n, 0.0f, db, ldb, k * n, batch);
    else /* db (n, k) = dCᵀ (n, m) · A (m, k) */
      kc_rm_gemm(true, ta, n, k, m, dc, n, m * n, a, lda, m * k, 0.0f, db, ldb, k * n, batch);
  }
}
