/* Convolution through cuDNN (the legacy convolution API, loaded at run time:
 * cudnn_api.cuh). One plan per shape and precision, made on first use and
 * kept: the descriptors and, per direction, the fastest algorithm cuDNN's
 * heuristics rank first among those that
 *   - fit the scratch budget the caller's workspace reserves,
 *   - are deterministic (backward data and filter: the same inputs give the
 *     same gradients bit for bit, run after run),
 *   - compute in the precision asked for: fp32 runs FMA kernels of the
 *     GEMM family only (no FFT or Winograd, whose rounding is looser), tf32
 *     lets fp32 data use TF32 tensor cores, and bf16 is PyTorch autocast's
 *     convolution: x, w and dy are rounded to bf16, the tensor-core kernels
 *     accumulate in fp32, and y, dx and each dw contribution come out in bf16
 *     (cuDNN's bf16 configuration has outputs of the inputs' type), then are
 *     widened to fp32 storage (dw accumulated there).
 * A shape none of whose algorithms qualifies in some direction goes the
 * im2col way (conv.cu), as do circular padding, tensors beyond cuDNN's
 * 32-bit element counts, and a shape cuDNN refuses at run time (said once).
 *
 * Parameter gradients accumulate as everywhere in the engine: dw += in fp32
 * (cuDNN's beta = 1, or the bf16 result added in fp32); db is conv.cu's. */
#include <stdio.h>

#include "common.cuh"
#include "conv_geom.cuh"
#include "kernels_cuda.h"

static kc_conv_engine engine = KC_CONV_AUTO;

extern "C" void kc_set_conv_engine(kc_conv_engine e) { engine = e; }

#ifdef LOLA_CUDNN
#include <cuda_bf16.h>

#include "cudnn_api.cuh"

/* Plans for this many shapes × precisions (a model has a few dozen); past
 * that the oldest is replaced, and made again if needed. */
enum { PLAN_CACHE = 512, ALIGN_FLOATS = 64 };

typedef struct {
  bool used, usable; /* usable: cuDNN runs this shape (it has not refused it) */
  cgeom g;
  kc_precision precision;
  int64_t budget; /* floats of cuDNN scratch the algorithms may use */
  cudnnTensorDescriptor_t x, y;
  cudnnFilterDescriptor_t w;
  cudnnConvolutionDescriptor_t conv;
  cudnnConvolutionFwdAlgo_t fwd;
  cudnnConvolutionBwdDataAlgo_t bwd_data;
  cudnnConvolutionBwdFilterAlgo_t bwd_filter;
  cudnnMathType_t fwd_math, data_math, filter_math;
} plan;

static plan plans[PLAN_CACHE];
static int next_slot; /* round-robin replacement once the cache is full */

static bool same_geom(const cgeom *a, const cgeom *b) {
  if (a->batch != b->batch || a->cin != b->cin || a->cout != b->cout || a->circular != b->circular)
    return false;
  for (int d = 0; d < 3; d++)
    if (a->in[d] != b->in[d] || a->kernel[d] != b->kernel[d] || a->stride[d] != b->stride[d] ||
        a->pad[d] != b->pad[d])
      return false;
  return true;
}

/* Whether a ranked algorithm computes in precision p (the call then runs
 * with the ranking's own math type). */
static bool math_fits(cudnnMathType_t m, kc_precision p) {
  if (m == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) return false; /* would round fp32 data to fp16 */
  return p != KC_FP32 || m == CUDNN_FMA_MATH;
}

/* Strict fp32 keeps to the GEMM-family algorithms (FFT and Winograd round
 * more loosely than a direct sum). */
static bool strict(cudnnConvolutionFwdAlgo_t a) {
  return a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM ||
         a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM || a == CUDNN_CONVOLUTION_FWD_ALGO_GEMM ||
         a == CUDNN_CONVOLUTION_FWD_ALGO_DIRECT;
}
static bool strict(cudnnConvolutionBwdDataAlgo_t a) {
  return a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 || a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
}
static bool strict(cudnnConvolutionBwdFilterAlgo_t a) {
  return a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0 || a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1 ||
         a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3;
}

static void destroy(const cudnn_api *a, plan *pl) {
  pl->used = false;
  if (pl->x) a->destroy_tensor(pl->x);
  if (pl->y) a->destroy_tensor(pl->y);
  if (pl->w) a->destroy_filter(pl->w);
  if (pl->conv) a->destroy_conv(pl->conv);
}

/* Descriptors of g in precision p: 4-D tensors (2 spatial dims) unless the
 * outermost spatial dim is real, then 5-D. */
static void describe(const cudnn_api *a, plan *pl) {
  const cgeom *g = &pl->g;
  const int sp = g->in[0] == 1 && g->kernel[0] == 1 && g->pad[0] == 0 && g->stride[0] == 1 ? 2 : 3,
            d0 = 3 - sp;
  const cudnnDataType_t type = pl->precision == KC_BF16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
  int xd[5], yd[5], wd[5], xs[5], ys[5], pad[3], stride[3], dil[3];
  xd[0] = yd[0] = (int)g->batch;
  xd[1] = wd[1] = (int)g->cin;
  yd[1] = wd[0] = (int)g->cout;
  for (int i = 0; i < sp; i++) {
    xd[2 + i] = g->in[d0 + i];
    yd[2 + i] = g->out[d0 + i];
    wd[2 + i] = g->kernel[d0 + i];
    pad[i] = g->pad[d0 + i];
    stride[i] = g->stride[d0 + i];
    dil[i] = 1;
  }
  xs[sp + 1] = ys[sp + 1] = 1; /* packed, channel-first */
  for (int i = sp; i >= 0; i--) {
    xs[i] = xs[i + 1] * xd[i + 1];
    ys[i] = ys[i + 1] * yd[i + 1];
  }
  const cudnnMathType_t ask = pl->precision == KC_FP32   ? CUDNN_FMA_MATH
                              : pl->precision == KC_TF32 ? CUDNN_DEFAULT_MATH
                                                         : CUDNN_TENSOR_OP_MATH;
  const cudnnStatus_t ok =
      CUDNN_STATUS_SUCCESS; /* a failed create leaves its handle NULL: destroy skips it */
  pl->usable = a->create_tensor(&pl->x) == ok && a->create_tensor(&pl->y) == ok &&
               a->create_filter(&pl->w) == ok && a->create_conv(&pl->conv) == ok &&
               a->set_tensor(pl->x, type, sp + 2, xd, xs) == ok &&
               a->set_tensor(pl->y, type, sp + 2, yd, ys) == ok &&
               a->set_filter(pl->w, type, CUDNN_TENSOR_NCHW, sp + 2, wd) == ok &&
               a->set_conv(pl->conv, sp, pad, stride, dil, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT) == ok &&
               a->set_math(pl->conv, ask) == ok;
}

/* The first ranked algorithm that qualifies (see the top of the file), or false. */
template <typename Perf, typename Algo>
static bool pick(const Perf *perf, int n, const plan *pl, bool need_determinism, Algo *algo,
                 cudnnMathType_t *math) {
  const size_t bytes = (size_t)pl->budget * sizeof(float);
  for (int i = 0; i < n; i++) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > bytes) continue;
    if (need_determinism && perf[i].determinism != CUDNN_DETERMINISTIC) continue;
    if (!math_fits(perf[i].mathType, pl->precision)) continue;
    if (pl->precision == KC_FP32 && !strict(perf[i].algo)) continue;
    *algo = perf[i].algo;
    *math = perf[i].mathType;
    return true;
  }
  return false;
}

/* A ranking cuDNN cannot give (a library that loads but does not run here)
 * leaves the shape to im2col rather than stopping the run. */
static void rank_algorithms(const cudnn_api *a, plan *pl) {
  if (!pl->usable) return;
  int n = 0;
  cudnnConvolutionFwdAlgoPerf_t f[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
  cudnnConvolutionBwdDataAlgoPerf_t d[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
  cudnnConvolutionBwdFilterAlgoPerf_t w[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
  pl->usable = a->fwd_algos(a->handle, pl->x, pl->w, pl->conv, pl->y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n,
                            f) == CUDNN_STATUS_SUCCESS &&
               pick(f, n, pl, false, &pl->fwd, &pl->fwd_math) &&
               a->bwd_data_algos(a->handle, pl->w, pl->y, pl->conv, pl->x,
                                 CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, d) == CUDNN_STATUS_SUCCESS &&
               pick(d, n, pl, true, &pl->bwd_data, &pl->data_math) &&
               a->bwd_filter_algos(a->handle, pl->x, pl->y, pl->conv, pl->w,
                                   CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, w) == CUDNN_STATUS_SUCCESS &&
               pick(w, n, pl, true, &pl->bwd_filter, &pl->filter_math);
}

static plan *plan_for(const cudnn_api *a, const cgeom *g, int64_t budget) {
  const kc_precision p = kc_get_precision();
  for (plan &pl : plans)
    if (pl.used && pl.precision == p && pl.budget == budget && same_geom(&pl.g, g)) return &pl;
  plan *pl = &plans[next_slot];
  next_slot = (next_slot + 1) % PLAN_CACHE;
  if (pl->used) destroy(a, pl);
  *pl = plan{};
  pl->used = true;
  pl->g = *g;
  pl->precision = p;
  pl->budget = budget;
  describe(a, pl);
  rank_algorithms(a, pl);
  return pl;
}

static bool fits_int32(const cgeom *g) {
  return g->batch * g->cin * g->vin <= INT32_MAX && g->batch * g->cout * g->vout <= INT32_MAX &&
         g->cout * g->ck <= INT32_MAX && g->batch <= INT32_MAX;
}

/* Floats of a bf16 copy of n values, rounded up so the next region stays aligned. */
static int64_t half_floats(int64_t n) {
  int64_t f = (n + 1) / 2;
  return (f + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
}

bool conv_cudnn_takes(const cgeom *g, int64_t budget) {
  if (engine == KC_CONV_IM2COL || g->circular || g->batch == 0 || !fits_int32(g)) return false;
  const cudnn_api *a = cudnn_get();
  if (!a) {
    if (engine == KC_CONV_CUDNN) lola_die(1, "conv: run.conv = \"cudnn\", but %s", kc_cudnn_status());
    return false;
  }
  const plan *pl = plan_for(a, g, budget);
  if (!pl->usable && engine == KC_CONV_CUDNN)
    lola_die(1,
             "conv: run.conv = \"cudnn\", but cuDNN has no deterministic algorithm in this precision within "
             "%lld MB of scratch for a %lld x %lld -> %lld channel convolution of %d x %d x %d",
             (long long)(budget * 4 >> 20), (long long)g->batch, (long long)g->cin, (long long)g->cout,
             g->in[0], g->in[1], g->in[2]);
  return pl->usable;
}

int64_t conv_cudnn_workspace_floats(const cgeom *g, bool backward, int64_t budget) {
  int64_t copies = 0;
  if (kc_get_precision() == KC_BF16) {
    const int64_t nx = g->batch * g->cin * g->vin, ny = g->batch * g->cout * g->vout, nw = g->cout * g->ck;
    copies = half_floats(nx) + half_floats(ny) + half_floats(nw) * (backward ? 2 : 1);
  }
  return copies + budget;
}

__global__ static void to_bf16(__nv_bfloat16 *out, const float *in, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    out[i] = __float2bfloat16_rn(in[i]);
}
/* out = in (+ b per channel when b is given) */
__global__ static void from_bf16(float *out, const __nv_bfloat16 *in, const float *b, int64_t n, int64_t cout,
                                 int64_t vout) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    out[i] = __bfloat162float(in[i]) + (b ? b[(i / vout) % cout] : 0.0f);
}
__global__ static void add_from_bf16(float *out, const __nv_bfloat16 *in, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    out[i] += __bfloat162float(in[i]);
}

enum { CONVERT_THREADS = 256 };

static __nv_bfloat16 *bf16_copy(float **at, const float *src, int64_t n) {
  __nv_bfloat16 *dst = (__nv_bfloat16 *)*at;
  *at += half_floats(n);
  if (src) {
    to_bf16<<<kc_blocks(n, CONVERT_THREADS), CONVERT_THREADS, 0, kc_stream()>>>(dst, src, n);
    KC_LAUNCH_CHECK();
  }
  return dst;
}

/* A call cuDNN refuses (a library that loads but cannot run the plan here):
 * fatal under run.conv = "cudnn"; otherwise said once, and the shape goes the
 * im2col way from then on (the workspace, sized for cuDNN, covers im2col's). */
static bool ran(const cudnn_api *a, plan *pl, cudnnStatus_t st, const char *call) {
  if (st == CUDNN_STATUS_SUCCESS) return true;
  if (engine == KC_CONV_CUDNN) cudnn_check(st, call);
  fprintf(stderr,
          "lola: conv: %s refused a %lld x %lld -> %lld channel convolution of %d x %d x %d (%s); that shape "
          "takes im2col from now on\n",
          call, (long long)pl->g.batch, (long long)pl->g.cin, (long long)pl->g.cout, pl->g.in[0], pl->g.in[1],
          pl->g.in[2], a->error_string(st));
  pl->usable = false;
  return false;
}

bool conv_cudnn_fwd(float *y, const float *x, const float *w, const float *b, const cgeom *g, float *work,
                    int64_t budget) {
  const cudnn_api *a = cudnn_get();
  if (!a) return false;
  plan *pl = plan_for(a, g, budget);
  if (!pl->usable) return false;
  const float one = 1.0f, zero = 0.0f;
  const size_t ws = (size_t)budget * sizeof(float);
  const int64_t nx = g->batch * g->cin * g->vin, ny = g->batch * g->cout * g->vout, nw = g->cout * g->ck;
  if (!ran(a, pl, a->set_math(pl->conv, pl->fwd_math), "cudnnSetConvolutionMathType")) return false;
  if (pl->precision != KC_BF16) {
    if (!ran(a, pl, a->fwd(a->handle, &one, pl->x, x, pl->w, w, pl->conv, pl->fwd, work, ws, &zero, pl->y, y),
             "cudnnConvolutionForward"))
      return false;
    if (b) kc_conv_add_bias(y, b, g);
    return true;
  }
  float *at = work;
  const __nv_bfloat16 *xb = bf16_copy(&at, x, nx), *wb = bf16_copy(&at, w, nw);
  __nv_bfloat16 *yb = bf16_copy(&at, NULL, ny);
  if (!ran(a, pl, a->fwd(a->handle, &one, pl->x, xb, pl->w, wb, pl->conv, pl->fwd, at, ws, &zero, pl->y, yb),
           "cudnnConvolutionForward"))
    return false;
  from_bf16<<<kc_blocks(ny, CONVERT_THREADS), CONVERT_THREADS, 0, kc_stream()>>>(y, yb, b, ny, g->cout,
                                                                                 g->vout);
  KC_LAUNCH_CHECK();
  return true;
}

void conv_cudnn_bwd(float **dx, float **dw, const float *dy, const float *x, const float *w, const cgeom *g,
                    float *work, int64_t budget) {
  const cudnn_api *a = cudnn_get();
  if (!a) return;
  plan *pl = plan_for(a, g, budget);
  if (!pl->usable) return;
  const float one = 1.0f, zero = 0.0f;
  const size_t ws = (size_t)budget * sizeof(float);
  const int64_t nx = g->batch * g->cin * g->vin, ny = g->batch * g->cout * g->vout, nw = g->cout * g->ck;
  if (pl->precision != KC_BF16) {
    if (*dw && ran(a, pl, a->set_math(pl->conv, pl->filter_math), "cudnnSetConvolutionMathType") &&
        ran(a, pl,
            a->bwd_filter(a->handle, &one, pl->x, x, pl->y, dy, pl->conv, pl->bwd_filter, work, ws, &one,
                          pl->w, *dw),
            "cudnnConvolutionBackwardFilter"))
      *dw = NULL;
    if (*dx && pl->usable &&
        ran(a, pl, a->set_math(pl->conv, pl->data_math), "cudnnSetConvolutionMathType") &&
        ran(a, pl,
            a->bwd_data(a->handle, &one, pl->w, w, pl->y, dy, pl->conv, pl->bwd_data, work, ws, &zero, pl->x,
                        *dx),
            "cudnnConvolutionBackwardData"))
      *dx = NULL;
    return;
  }
  /* bf16: [x, then dx][dy][w][dw][cuDNN scratch]; dw first, so x's copy can take dx. */
  float *at = work;
  __nv_bfloat16 *xb = bf16_copy(&at, *dw ? x : NULL, nx);
  const __nv_bfloat16 *dyb = bf16_copy(&at, dy, ny), *wb = bf16_copy(&at, *dx ? w : NULL, nw);
  __nv_bfloat16 *dwb = bf16_copy(&at, NULL, nw);
  if (*dw && ran(a, pl, a->set_math(pl->conv, pl->filter_math), "cudnnSetConvolutionMathType") &&
      ran(a, pl,
          a->bwd_filter(a->handle, &one, pl->x, xb, pl->y, dyb, pl->conv, pl->bwd_filter, at, ws, &zero,
                        pl->w, dwb),
          "cudnnConvolutionBackwardFilter")) {
    add_from_bf16<<<kc_blocks(nw, CONVERT_THREADS), CONVERT_THREADS, 0, kc_stream()>>>(*dw, dwb, nw);
    KC_LAUNCH_CHECK();
    *dw = NULL;
  }
  if (*dx && pl->usable && ran(a, pl, a->set_math(pl->conv, pl->data_math), "cudnnSetConvolutionMathType") &&
      ran(a, pl,
          a->bwd_data(a->handle, &one, pl->w, wb, pl->y, dyb, pl->conv, pl->bwd_data, at, ws, &zero, pl->x,
                      xb),
          "cudnnConvolutionBackwardData")) {
    from_bf16<<<kc_blocks(nx, CONVERT_THREADS), CONVERT_THREADS, 0, kc_stream()>>>(*dx, xb, NULL, nx, 1, 1);
    KC_LAUNCH_CHECK();
    *dx = NULL;
  }
}

#else /* built without cuDNN's headers: every shape goes the im2col way */
bool conv_cudnn_takes(const cgeom *, int64_t) {
  if (engine == KC_CONV_CUDNN) lola_die(1, "conv: run.conv = \"cudnn\", but %s", kc_cudnn_status());
  return false;
}
int64_t conv_cudnn_workspace_floats(const cgeom *, bool, int64_t) { return 0; }
bool conv_cudnn_fwd(float *, const float *, const float *, const float *, const cgeom *, float *, int64_t) {
  return false;
}
void conv_cudnn_bwd(float **, float **, const float *, const float *, const float *, const cgeom *, float *,
                    int64_t) {}
#endif
