/* The cuBLAS and cuBLASLt calls lola makes, on the CPU: column-major GEMMs
 * whose operands are rounded as the compute type says (TF32: 10-bit
 * mantissas, FAST_16BF: bf16) and whose products are summed in fp32 in k
 * order, as a tensor core's accumulator does; cuBLASLt's plans with the bias
 * epilogue. Arguments the libraries reject are rejected here too. */
#include <cublasLt.h>
#include <cublas_v2.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <vector>

#include "cuemu.h"

namespace {

/* Round to nearest even, keeping `bits` of the 23 mantissa bits. */
float round_mantissa(float v, int bits) {
  if (!isfinite(v)) return v;
  uint32_t u;
  memcpy(&u, &v, 4);
  const int drop = 23 - bits;
  const uint32_t half = 1u << (drop - 1), low = u & ((1u << drop) - 1);
  u &= ~((1u << drop) - 1);
  if (low > half || (low == half && (u >> drop & 1u))) u += 1u << drop;
  memcpy(&v, &u, 4);
  return v;
}

float load(const void *p, cudaDataType t, size_t i) {
  return t == CUDA_R_16BF ? __bfloat162float(((const __nv_bfloat16 *)p)[i]) : ((const float *)p)[i];
}

bool supported_type(cudaDataType t) { return t == CUDA_R_32F || t == CUDA_R_16BF; }
bool supported_compute(cublasComputeType_t c) {
  return c == CUBLAS_COMPUTE_32F || c == CUBLAS_COMPUTE_32F_FAST_TF32 || c == CUBLAS_COMPUTE_32F_FAST_16BF ||
         c == CUBLAS_COMPUTE_32F_PEDANTIC;
}

/* op(X) (rows × cols) copied dense row-major, rounded for the compute type. */
std::vector<float> operand(const void *x, cudaDataType t, bool trans, int64_t rows, int64_t cols, int64_t ld,
                           cublasComputeType_t compute) {
  std::vector<float> out((size_t)(rows * cols));
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++) {
      float v = load(x, t, (size_t)(trans ? c + r * ld : r + c * ld));
      if (compute == CUBLAS_COMPUTE_32F_FAST_TF32) v = round_mantissa(v, 10);
      if (compute == CUBLAS_COMPUTE_32F_FAST_16BF) v = round_mantissa(v, 7);
      out[(size_t)(r * cols + c)] = v;
    }
  return out;
}

/* C (m × n, ld ldc) = alpha·op(A)·op(B) + beta·C [+ bias down the columns]. */
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const void *a, cudaDataType at,
          int64_t lda, const void *b, cudaDataType bt, int64_t ldb, float beta, const void *cin, void *c,
          cudaDataType ct, int64_t ldc, cublasComputeType_t compute, const float *bias) {
  std::vector<float> A = operand(a, at, ta, m, k, lda, compute), B = operand(b, bt, tb, k, n, ldb, compute);
  std::vector<float> acc((size_t)m);
  for (int64_t j = 0; j < n; j++) {
    std::fill(acc.begin(), acc.end(), 0.0f);
    for (int64_t p = 0; p < k; p++) {
      const float bv = B[(size_t)(p * n + j)];
      for (int64_t i = 0; i < m; i++) acc[(size_t)i] += A[(size_t)(i * k + p)] * bv;
    }
    for (int64_t i = 0; i < m; i++) {
      float v = alpha * acc[(size_t)i];
      if (beta != 0.0f) v += beta * load(cin, ct, (size_t)(i + j * ldc));
      if (bias) v += bias[i];
      if (ct == CUDA_R_16BF)
        ((__nv_bfloat16 *)c)[i + j * ldc] = __float2bfloat16_rn(v);
      else
        ((float *)c)[i + j * ldc] = v;
    }
  }
}

bool valid_lds(bool ta, bool tb, int m, int n, int k, int lda, int ldb, int ldc) {
  return m >= 0 && n >= 0 && k >= 0 && lda >= (ta ? (k > 1 ? k : 1) : (m > 1 ? m : 1)) &&
         ldb >= (tb ? (n > 1 ? n : 1) : (k > 1 ? k : 1)) && ldc >= (m > 1 ? m : 1);
}

struct lt_desc {
  cublasComputeType_t compute;
  cublasOperation_t ta = CUBLAS_OP_N, tb = CUBLAS_OP_N;
  cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
  const float *bias = nullptr;
};
struct lt_layout {
  cudaDataType type;
  uint64_t rows, cols;
  int64_t ld;
};

template <class T>
bool set_value(T &dst, const void *buf, size_t bytes) {
  if (!buf || bytes != sizeof(T)) return false;
  memcpy(&dst, buf, sizeof(T));
  return true;
}

}  // namespace

struct cublasContext {
  cudaStream_t stream;
};
struct cublasLtContext {
  int unused;
};

extern "C" {

cublasStatus_t cublasCreate_v2(cublasHandle_t *h) {
  *h = new cublasContext{};
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream_v2(cublasHandle_t h, cudaStream_t s) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  h->stream = s;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t h, cublasOperation_t transa,
                                          cublasOperation_t transb, int m, int n, int k, const void *alpha,
                                          const void *A, cudaDataType at, int lda, long long sa,
                                          const void *B, cudaDataType bt, int ldb, long long sb,
                                          const void *beta, void *C, cudaDataType ct, int ldc, long long sc,
                                          int count, cublasComputeType_t compute, cublasGemmAlgo_t) {
  const bool ta = transa != CUBLAS_OP_N, tb = transb != CUBLAS_OP_N;
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!valid_lds(ta, tb, m, n, k, lda, ldb, ldc) || count < 0) return CUBLAS_STATUS_INVALID_VALUE;
  if (!supported_type(at) || !supported_type(bt) || !supported_type(ct) || !supported_compute(compute))
    return CUBLAS_STATUS_NOT_SUPPORTED;
  const size_t ea = at == CUDA_R_16BF ? 2 : 4, eb = bt == CUDA_R_16BF ? 2 : 4, ec = ct == CUDA_R_16BF ? 2 : 4;
  const float al = *(const float *)alpha, be = *(const float *)beta;
  for (int i = 0; i < count; i++) {
    char *c = (char *)C + (size_t)(i * sc) * ec;
    gemm(ta, tb, m, n, k, al, (const char *)A + (size_t)(i * sa) * ea, at, lda,
         (const char *)B + (size_t)(i * sb) * eb, bt, ldb, be, c, c, ct, ldc, compute, nullptr);
  }
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t transa, cublasOperation_t transb, int m,
                            int n, int k, const void *alpha, const void *A, cudaDataType at, int lda,
                            const void *B, cudaDataType bt, int ldb, const void *beta, void *C,
                            cudaDataType ct, int ldc, cublasComputeType_t compute, cublasGemmAlgo_t algo) {
  return cublasGemmStridedBatchedEx(h, transa, transb, m, n, k, alpha, A, at, lda, 0, B, bt, ldb, 0, beta, C,
                                    ct, ldc, 0, 1, compute, algo);
}

cublasStatus_t cublasLtCreate(cublasLtHandle_t *h) {
  *h = new cublasLtContext{};
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *d, cublasComputeType_t compute,
                                        cudaDataType_t scale) {
  if (scale != CUDA_R_32F || !supported_compute(compute)) return CUBLAS_STATUS_NOT_SUPPORTED;
  lt_desc *p = new lt_desc{};
  p->compute = compute;
  *d = reinterpret_cast<cublasLtMatmulDesc_t>(p);
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t d) {
  delete reinterpret_cast<lt_desc *>(d);
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t attr,
                                              const void *buf, size_t bytes) {
  lt_desc *p = reinterpret_cast<lt_desc *>(d);
  bool ok;
  switch (attr) {
    case CUBLASLT_MATMUL_DESC_TRANSA:
      ok = set_value(p->ta, buf, bytes);
      break;
    case CUBLASLT_MATMUL_DESC_TRANSB:
      ok = set_value(p->tb, buf, bytes);
      break;
    case CUBLASLT_MATMUL_DESC_EPILOGUE:
      ok = set_value(p->epilogue, buf, bytes);
      break;
    case CUBLASLT_MATMUL_DESC_BIAS_POINTER:
      ok = set_value(p->bias, buf, bytes);
      break;
    case CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE: {
      cudaDataType t;
      ok = set_value(t, buf, bytes) && t == CUDA_R_32F;
      break;
    }
    default:
      return CUBLAS_STATUS_NOT_SUPPORTED;
  }
  return ok ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *l, cudaDataType type, uint64_t rows,
                                          uint64_t cols, int64_t ld) {
  if (!supported_type(type)) return CUBLAS_STATUS_NOT_SUPPORTED;
  if (ld < (int64_t)(rows > 1 ? rows : 1)) return CUBLAS_STATUS_INVALID_VALUE;
  *l = reinterpret_cast<cublasLtMatrixLayout_t>(new lt_layout{type, rows, cols, ld});
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t l) {
  delete reinterpret_cast<lt_layout *>(l);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *p) {
  *p = reinterpret_cast<cublasLtMatmulPreference_t>(new cublasLtMatmulPreferenceOpaque_t{});
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t p) {
  delete reinterpret_cast<cublasLtMatmulPreferenceOpaque_t *>(p);
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t,
                                                    cublasLtMatmulPreferenceAttributes_t, const void *buf,
                                                    size_t) {
  return buf ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
}

/* The shapes of a D = op(A)·op(B) + C plan, as cuBLASLt checks them. */
static bool lt_shapes_agree(const lt_desc *d, const lt_layout *a, const lt_layout *b, const lt_layout *c) {
  const uint64_t m = d->ta == CUBLAS_OP_N ? a->rows : a->cols, ka = d->ta == CUBLAS_OP_N ? a->cols : a->rows;
  const uint64_t kb = d->tb == CUBLAS_OP_N ? b->rows : b->cols, n = d->tb == CUBLAS_OP_N ? b->cols : b->rows;
  return ka == kb && c->rows == m && c->cols == n;
}

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t h, cublasLtMatmulDesc_t op,
                                              cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                                              cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t,
                                              cublasLtMatmulPreference_t, int requested,
                                              cublasLtMatmulHeuristicResult_t results[], int *found) {
  if (!h || requested <= 0) return CUBLAS_STATUS_INVALID_VALUE;
  const lt_desc *d = reinterpret_cast<const lt_desc *>(op);
  *found = 0;
  if (d->epilogue != CUBLASLT_EPILOGUE_DEFAULT && d->epilogue != CUBLASLT_EPILOGUE_BIAS)
    return CUBLAS_STATUS_NOT_SUPPORTED;
  if (!lt_shapes_agree(d, reinterpret_cast<const lt_layout *>(a), reinterpret_cast<const lt_layout *>(b),
                       reinterpret_cast<const lt_layout *>(c)))
    return CUBLAS_STATUS_INVALID_VALUE;
  results[0] = cublasLtMatmulHeuristicResult_t{};
  results[0].state = CUBLAS_STATUS_SUCCESS;
  results[0].wavesCount = 1.0f;
  *found = 1;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t h, cublasLtMatmulDesc_t op, const void *alpha, const void *A,
                              cublasLtMatrixLayout_t adesc, const void *B, cublasLtMatrixLayout_t bdesc,
                              const void *beta, const void *C, cublasLtMatrixLayout_t cdesc, void *D,
                              cublasLtMatrixLayout_t ddesc, const cublasLtMatmulAlgo_t *, void *, size_t,
                              cudaStream_t) {
  const lt_desc *d = reinterpret_cast<const lt_desc *>(op);
  const lt_layout *a = reinterpret_cast<const lt_layout *>(adesc),
                  *b = reinterpret_cast<const lt_layout *>(bdesc);
  const lt_layout *c = reinterpret_cast<const lt_layout *>(cdesc),
                  *dl = reinterpret_cast<const lt_layout *>(ddesc);
  if (!h || !lt_shapes_agree(d, a, b, c) || c->rows != dl->rows || c->cols != dl->cols || c->type != dl->type)
    return CUBLAS_STATUS_INVALID_VALUE;
  if (d->epilogue == CUBLASLT_EPILOGUE_BIAS && !d->bias) return CUBLAS_STATUS_INVALID_VALUE;
  if (d->epilogue != CUBLASLT_EPILOGUE_DEFAULT && d->epilogue != CUBLASLT_EPILOGUE_BIAS)
    return CUBLAS_STATUS_NOT_SUPPORTED;
  if (C != D && *(const float *)beta != 0.0f) { /* D = … + beta·C: copy C to D first */
    const size_t e = c->type == CUDA_R_16BF ? 2 : 4;
    for (uint64_t j = 0; j < c->cols; j++)
      memcpy((char *)D + j * (uint64_t)dl->ld * e, (const char *)C + j * (uint64_t)c->ld * e, c->rows * e);
  }
  const bool ta = d->ta != CUBLAS_OP_N, tb = d->tb != CUBLAS_OP_N;
  const int64_t k = (int64_t)(ta ? a->rows : a->cols);
  gemm(ta, tb, (int64_t)c->rows, (int64_t)c->cols, k, *(const float *)alpha, A, a->type, a->ld, B, b->type,
       b->ld, *(const float *)beta, D, D, dl->type, dl->ld, d->compute,
       d->epilogue == CUBLASLT_EPILOGUE_BIAS ? d->bias : nullptr);
  return CUBLAS_STATUS_SUCCESS;
}

}  // extern "C"
