/* The forward of a linear layer with a bias as one cuBLASLt matmul whose
 * epilogue adds the bias (CUBLASLT_EPILOGUE_BIAS): the separate bias kernel
 * read and wrote the whole output once more (1.3 GB per call for vit_large's
 * 40960 × 4096 FFN activations). One plan per shape and precision, made on
 * first use: descriptors and the algorithm cuBLASLt's heuristic ranks first.
 * A shape the library has no algorithm for, or a call it refuses, returns
 * false and the caller takes the GEMM and the bias kernel (linear.cu).
 *
 * Column-major view, as linear.cu: yᵀ (out × rows, ld out) = op(W) · xᵀ with
 * W stored (out, in) row-major, i.e. the (in × out) matrix transposed. The
 * bias (length out, the rows of yᵀ) is added down every column. */
#include <cublasLt.h>
#include <stdint.h>

#include "common.cuh"
#include "kernels_cuda.h"
#include "linear_lt.cuh"

/* Plans are made for pointers aligned to LT_ALIGN bytes (the engine's arenas
 * give 64); a call with a less aligned one takes the fallback. */
enum { LT_PLANS = 64, LT_ALIGN = 16 };
static const size_t LT_WORKSPACE = (size_t)32 << 20;

typedef struct {
  bool used, usable;
  int64_t rows, in, out;
  cublasComputeType_t compute;
  cublasLtMatmulDesc_t op;
  cublasLtMatrixLayout_t a, b, c;
  cublasLtMatmulAlgo_t algo;
} lt_plan;

static cublasLtHandle_t lt;
static void *workspace;
static lt_plan plans[LT_PLANS];
static int next_slot;

static bool ok(cublasStatus_t st) { return st == CUBLAS_STATUS_SUCCESS; }

static void destroy(lt_plan *p) {
  if (p->op) cublasLtMatmulDescDestroy(p->op);
  if (p->a) cublasLtMatrixLayoutDestroy(p->a);
  if (p->b) cublasLtMatrixLayoutDestroy(p->b);
  if (p->c) cublasLtMatrixLayoutDestroy(p->c);
  *p = lt_plan{};
}

/* Descriptors and the first ranked algorithm; usable false when any step fails. */
static void make(lt_plan *p) {
  const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
  const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
  const cudaDataType_t f32 = CUDA_R_32F;
  const size_t ws = LT_WORKSPACE;
  const uint32_t align = LT_ALIGN; /* what every call's pointers are checked to have */
  cublasLtMatmulPreference_t pref = NULL;
  cublasLtMatmulHeuristicResult_t result = {};
  int found = 0;
  p->usable =
      ok(cublasLtMatmulDescCreate(&p->op, p->compute, f32)) &&
      ok(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta)) &&
      ok(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb)) &&
      ok(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue)) &&
      ok(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &f32, sizeof f32)) &&
      ok(cublasLtMatrixLayoutCreate(&p->a, f32, (uint64_t)p->in, (uint64_t)p->out, p->in)) &&
      ok(cublasLtMatrixLayoutCreate(&p->b, f32, (uint64_t)p->in, (uint64_t)p->rows, p->in)) &&
      ok(cublasLtMatrixLayoutCreate(&p->c, f32, (uint64_t)p->out, (uint64_t)p->rows, p->out)) &&
      ok(cublasLtMatmulPreferenceCreate(&pref)) &&
      ok(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws,
                                              sizeof ws)) &&
      ok(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &align,
                                              sizeof align)) &&
      ok(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &align,
                                              sizeof align)) &&
      ok(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &align,
                                              sizeof align)) &&
      ok(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &align,
                                              sizeof align)) &&
      ok(cublasLtMatmulAlgoGetHeuristic(lt, p->op, p->a, p->b, p->c, p->c, pref, 1, &result, &found)) &&
      found > 0 && ok(result.state);
  if (pref) cublasLtMatmulPreferenceDestroy(pref);
  if (p->usable) p->algo = result.algo;
}

static lt_plan *plan_for(int64_t rows, int64_t in, int64_t out) {
  const cublasComputeType_t compute = kc_compute_type();
  for (lt_plan &p : plans)
    if (p.used && p.rows == rows && p.in == in && p.out == out && p.compute == compute) return &p;
  lt_plan *p = &plans[next_slot];
  next_slot = (next_slot + 1) % LT_PLANS;
  destroy(p);
  p->used = true;
  p->rows = rows, p->in = in, p->out = out, p->compute = compute;
  make(p);
  return p;
}

bool kc_linear_fwd_lt(float *y, const float *x, const float *w, const float *b, int64_t rows, int64_t in,
                      int64_t out) {
  static bool unavailable;
  if (unavailable) return false;
  if (!lt) {
    if (cudaMalloc(&workspace, LT_WORKSPACE) != cudaSuccess || !ok(cublasLtCreate(&lt))) {
      cudaGetLastError(); /* not sticky: the fallback runs */
      unavailable = true;
      return false;
    }
  }
  const uintptr_t any = (uintptr_t)y | (uintptr_t)x | (uintptr_t)w | (uintptr_t)b;
  if (any % LT_ALIGN != 0) return false;
  lt_plan *p = plan_for(rows, in, out);
  if (!p->usable) return false;
  const float alpha = 1.0f, beta = 0.0f;
  if (!ok(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &b, sizeof b)) ||
      !ok(cublasLtMatmul(lt, p->op, &alpha, w, p->a, x, p->b, &beta, y, p->c, y, p->c, &p->algo, workspace,
                         LT_WORKSPACE, kc_stream()))) {
    p->usable = false; /* this shape takes the GEMM and the bias kernel from now on */
    return false;
  }
  return true;
}
