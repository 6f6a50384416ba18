/* Linear layers and batched products on OpenBLAS sgemm. */
#include "../linear.h"
#include "kernels_cpu.h"

#include <cblas.h>
#include <string.h>

enum { BIAS_BLOCK = 64 }; /* columns per thread in the bias gradient */

void kcpu_linear_fwd(float *y, const float *x, const float *w, const float *b, int64_t rows, int64_t in,
                     int64_t out) {
  if (rows == 0 || out == 0) return;
    /* Start from the bias (or zero) and let sgemm accumulate onto it. */
#pragma omp parallel for schedule(static) if (rows * out > 32768)
  for (int64_t r = 0; r < rows; r++) {
    if (b)
      memcpy(y + r * out, b, (size_t)out * sizeof *y);
    else
      memset(y + r * out, 0, (size_t)out * sizeof *y);
  }
  if (in == 0) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)out, (int)in, 1.0f, x, (int)in, w,
              (int)in, 1.0f, y, (int)out);
}

void kcpu_linear_bwd(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                     int64_t rows, int64_t in, int64_t out) {
  if (dx) {
    if (out == 0 || rows == 0)
      memset(dx, 0, (size_t)(rows * in) * sizeof *dx);
    else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)in, (int)out, 1.0f, dy, (int)out,
                  w, (int)in, 0.0f, dx, (int)in);
  }
  if (rows == 0) return;
  if (in > 0)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)out, (int)in, (int)rows, 1.0f, dy, (int)out, x,
                (int)in, 1.0f, dw, (int)in);
  if (db) {
    /* Column sums in double over blocks of columns: rows are read contiguously,
     * each block is summed by one thread in row order, independent of the
     * thread count. */
    int64_t blocks = (out + BIAS_BLOCK - 1) / BIAS_BLOCK;
#pragma omp parallel for schedule(static) if (rows * out > 32768)
    for (int64_t blk = 0; blk < blocks; blk++) {
      int64_t o0 = blk * BIAS_BLOCK, width = out - o0 < BIAS_BLOCK ? out - o0 : BIAS_BLOCK;
      double sum[BIAS_BLOCK] = {0};
      for (int64_t r = 0; r < rows; r++) {
        const float *g = dy + r * out + o0;
        for (int64_t o = 0; o < width; o++) sum[o] += g[o];
      }
      for (int64_t o = 0; o < width; o++) db[o0 + o] += (float)sum[o];
    }
  }
}

void kcpu_bmm_fwd(float *c, const float *a, const float *b, int64_t batch, int64_t m, int64_t n, int64_t k,
                  bool ta, bool tb) {
  for (int64_t i = 0; i < batch; i++) {
    float *ci = c + i * m * n;
    if (k == 0) {
      memset(ci, 0, (size_t)(m * n) * sizeof *c);
      continue;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n,
                (int)k, 1.0f, a + i * m * k, ta ? (int)m : (int)k, b + i * k * n, tb ? (int)k : (int)n, 0.0f,
                ci, (int)n);
  }
}

/* With A = op(a), B = op(b), C = A·B: dA = dC·Bᵀ and dB = Aᵀ·dC; when an operand
 * is stored transposed its gradient is stored transposed too, i.e.
 * da = (dA)ᵀ = B·dCᵀ when ta, and db = (dB)ᵀ = dCᵀ·A when tb. */
void kcpu_bmm_bwd(float *da, float *db, const float *dc, const float *a, const float *b, int64_t batch,
                  int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  for (int64_t i = 0; i < batch; i++) {
    const float *ai = a + i * m * k, *bi = b + i * k * n, *dci = dc + i * m * n;
    int lda = ta ? (int)m : (int)k, ldb = tb ? (int)k : (int)n;
    if (da) {
      float *dai = da + i * m * k;
      if (n == 0)
        memset(dai, 0, (size_t)(m * k) * sizeof *da);
      else if (!ta) /* da (m, k) = dC (m, n) · B^T; B = op(b) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasNoTrans : CblasTrans, (int)m, (int)k, (int)n, 1.0f,
                    dci, (int)n, bi, ldb, 0.0f, dai, lda);
      else /* da (k, m) = B (k, n) · dC^T */
        cblas_sgemm(CblasRowMajor, tb ? CblasTrans : CblasNoTrans, CblasTrans, (int)k, (int)m, (int)n, 1.0f,
                    bi, ldb, dci, (int)n, 0.0f, dai, lda);
    }
    if (db) {
      float *dbi = db + i * k * n;
      if (m == 0)
        memset(dbi, 0, (size_t)(k * n) * sizeof *db);
      else if (!tb) /* db (k, n) = A^T (k, m) · dC (m, n) */
        cblas_sgemm(CblasRowMajor, ta ? CblasNoTrans : CblasTrans, CblasNoTrans, (int)k, (int)n, (int)m, 1.0f,
                    ai, lda, dci, (int)n, 0.0f, dbi, ldb);
      else /* db (n, k) = dC^T (n, m) · A (m, k) */
        cblas_sgemm(CblasRowMajor, CblasTrans, ta ? CblasTrans : CblasNoTrans, (int)n, (int)k, (int)m, 1.0f,
                    dci, (int)n, ai, lda, 0.0f, dbi, ldb);
    }
  }
}
