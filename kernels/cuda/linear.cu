/* Linear layers through cuBLAS. Row-major (rows, in) · (out, in)ᵀ is, in
 * cuBLAS's column-major view, yᵀ = W·xᵀ with W seen as the (in, out) matrix Wᵀ. */
#include "column_sums.cuh"
#include "common.cuh"
#include "kernels_cuda.h"
#include "linear_lt.cuh"

/* C (m×n) = op(A)·op(B)·alpha + beta·C, all column-major fp32. */
static void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                 const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
  const float alpha = 1.0f;
  CUBLAS_CHECK(cublasGemmEx(kc_cublas(), ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                            (int)m, (int)n, (int)k, &alpha, a, CUDA_R_32F, (int)lda, b, CUDA_R_32F, (int)ldb,
                            &beta, c, CUDA_R_32F, (int)ldc, kc_compute_type(), CUBLAS_GEMM_DEFAULT));
}

__global__ static void add_bias(float *y, const float *b, int64_t rows, int64_t out) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < rows * out;
       i += (int64_t)gridDim.x * blockDim.x)
    y[i] += b[i % out];
}

/* dy[r, o], for db[o] += Σ_rows dy[r, o] (column_sums.cuh: deterministic). */
struct bias_term {
  const float *dy;
  int64_t out;
  __device__ double2 operator()(int64_t, int64_t r, int64_t o) const {
    return make_double2(dy[r * out + o], 0.0);
  }
};

extern "C" void kc_linear_fwd(float *y, const float *x, const float *w, const float *b, int64_t rows,
                              int64_t in, int64_t out) {
  if (rows == 0 || out == 0) return;
  if (b && in > 0 && kc_linear_fwd_lt(y, x, w, b, rows, in, out))
    return; /* the bias in the GEMM's epilogue */
  if (in > 0)
    gemm(true, false, out, rows, in, w, in, x, in, 0.0f, y, out);
  else /* an empty product: the bias alone (cuBLAS refuses leading dimensions of 0) */
    CUDA_CHECK(cudaMemsetAsync(y, 0, sizeof(float) * (size_t)(rows * out), kc_stream()));
  if (b) {
    add_bias<<<kc_blocks(rows * out, 256), 256, 0, kc_stream()>>>(y, b, rows, out);
    KC_LAUNCH_CHECK();
  }
}

extern "C" void kc_linear_bwd(float *dx, float *dw, float *db, const float *dy, const float *x,
                              const float *w, int64_t rows, int64_t in, int64_t out) {
  if (dx && rows > 0 && in > 0) {
    if (out > 0)
      gemm(false, false, in, rows, out, w, in, dy, out, 0.0f, dx, in);
    else
      CUDA_CHECK(cudaMemsetAsync(dx, 0, sizeof(float) * (size_t)(rows * in), kc_stream()));
  }
  if (rows == 0) return;
  if (dw && in > 0 && out > 0) gemm(false, true, in, out, rows, x, in, dy, out, 1.0f, dw, in);
  if (db && out > 0) kc_column_sums(db, NULL, 0, 1, rows, out, bias_term{dy, out});
}
