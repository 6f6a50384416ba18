/* The device side of the CUDA emulator: what the kernels of kernels/cuda use from
 * CUDA C++, for running them on the CPU as plain C++ (g++ -include cuemu.h,
 * after translate.py has rewritten the <<<...>>> launches).
 *
 * Every CUDA thread of a block is a fiber (fiber.cpp). Blocks run one after
 * another; inside one, the fibers run in thread order, each until it reaches
 * a barrier (__syncthreads, __syncwarp, a shuffle, a vote) or ends. So a
 * missing barrier shows as a read of data not written yet, a barrier some
 * threads never reach stops the program with the kernel's name, and shared
 * and device memory start as NaN bytes: code that reads them before writing
 * them gets NaNs, not zeros, in every block. The tensor-core fragments of
 * <mma.h> hold whole tiles in every lane (the real layout is unspecified,
 * and the kernels do not look inside them), and check the alignment rules of
 * the real ones. */
#ifndef LOLA_CUEMU_H
#define LOLA_CUEMU_H

#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <tuple>
#include <type_traits>
#include <utility>

/* Device-code keywords: a __shared__ variable is a static one, which is
 * per-block storage when blocks run one at a time. */
#undef __shared__
#define __shared__ static
#define __launch_bounds__(...)

namespace cuemu {

enum fiber_state { FIBER_READY, FIBER_BLOCK_WAIT, FIBER_WARP_WAIT, FIBER_DONE };
enum warp_op { WARP_SYNC, WARP_SHUFFLE, WARP_OR };

/* What a warp meeting reads of every lane comes first. */
struct fiber {
  fiber_state state;
  unsigned wait_mask;     /* the lanes a warp barrier waits for */
  warp_op op;             /* what it waits at: __syncwarp, a shuffle, a vote */
  int src;                /* a shuffle's source thread (linear index), -1: own value */
  int linear, lane, warp; /* x + y·bx + z·bx·by, its lane and warp */
  uint64_t offer;         /* what this lane offers there */
  uint64_t result;        /* what it gets, set when the barrier is released */
  void *sp;               /* saved stack pointer while switched out */
  uint3 tid;              /* threadIdx */
  uint64_t block_slot[2]; /* what this thread offers at __syncthreads_or, alternately, */
  int64_t block_call[2];  /* at which of its calls */
  int64_t block_calls;    /* calls of __syncthreads_or so far */
};

extern fiber *current;
extern uint3 block_idx;
extern dim3 block_dim, grid_dim;

/* Wait until every live thread of the block is here / every lane of mask. */
void sync_block();
void sync_warp(unsigned mask);
/* Offer v, wait for the lanes of mask, return what thread `src` offered
 * (own value when src is -1). Reading a lane that returned, is not in the
 * mask or does not exist (a partial warp) stops the program, even where the
 * value would go unused: on a GPU it is undefined. Each lane's
 * result is taken when the barrier is released, while every lane's offer
 * is still the one of this call. */
uint64_t warp_exchange(unsigned mask, uint64_t v, int src);
/* Offer pred, wait for the lanes of mask, return the or over them. */
uint64_t warp_or(unsigned mask, uint64_t pred);
/* Offer pred at __syncthreads, return the or over the block's live threads. */
uint64_t block_or(uint64_t pred);
/* A kernel's use the emulator refuses (a misaligned fragment, ...): stops with the kernel's name. */
[[noreturn]] void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

typedef void (*thunk_fn)(void *);
/* Run grid × block threads of one kernel; thunk(ctx) is one thread's call. */
void run_kernel(const char *name, const void *fn, dim3 grid, dim3 block, size_t dynamic_smem, thunk_fn thunk,
                void *ctx);
/* Launch checks (runtime.cpp): cudaSuccess or the error a GPU would give. */
cudaError_t launch_error(const void *fn, dim3 grid, dim3 block, size_t dynamic_smem);
void set_last_error(cudaError_t e);
/* Says what an address that faulted is, when it is near or in device
 * memory (runtime.cpp): before or past an allocation, or freed. */
bool describe_device_address(const void *address, char *out, size_t n);
/* Installs the handler that names such faults (fiber.cpp); once. */
void catch_faults();
/* The dynamic shared memory of the running block (extern __shared__). */
void *dynamic_smem();
/* Called by every thread after each static __shared__ declaration
 * (translate.py adds the call): the first thread of a block to get there
 * fills the variable with NaN bytes, as the dynamic memory is filled. */
void fresh_shared(void *p, size_t bytes);

template <class F>
void invoke(void *ctx) {
  (*static_cast<F *>(ctx))();
}

/* K<<<grid, block, smem, stream>>>(args) becomes launch("K", K, grid, block, smem, stream)(args):
 * the arguments are converted to the parameter types once, as a launch does,
 * and every thread gets its own copy of the parameters. */
template <class... P>
struct launcher {
  const char *name;
  void (*fn)(P...);
  dim3 grid, block;
  size_t smem;
  template <class... A>
  void operator()(A &&...a) const {
    static_assert(sizeof...(A) == sizeof...(P), "kernel launched with the wrong number of arguments");
    std::tuple<std::decay_t<P>...> args(static_cast<std::decay_t<P>>(std::forward<A>(a))...);
    auto call = [&]() { std::apply(fn, args); };
    run_kernel(name, reinterpret_cast<const void *>(fn), grid, block, smem, &invoke<decltype(call)>, &call);
  }
};

template <class... P>
launcher<P...> launch(const char *name, void (*fn)(P...), dim3 grid, dim3 block, size_t smem = 0,
                      cudaStream_t stream = 0) {
  (void)stream; /* everything runs in order, at once */
  return launcher<P...>{name, fn, grid, block, smem};
}

/* A launch of a kernel template whose arguments are deduced from the call:
 * launch_deduced("K", grid, block, smem, stream)([](auto... a) { K(a...); }, args). */
struct deduced_launcher {
  const char *name;
  dim3 grid, block;
  size_t smem;
  template <class Body, class... A>
  void operator()(Body body, A &&...a) const {
    std::tuple<std::decay_t<A>...> args(std::forward<A>(a)...);
    auto call = [&]() { std::apply(body, args); };
    run_kernel(name, nullptr, grid, block, smem, &invoke<decltype(call)>, &call);
  }
};
static inline deduced_launcher launch_deduced(const char *name, dim3 grid, dim3 block, size_t smem = 0,
                                              cudaStream_t stream = 0) {
  (void)stream;
  return deduced_launcher{name, grid, block, smem};
}

template <class T>
uint64_t to_bits(T v) {
  static_assert(sizeof(T) <= 8, "shuffles move at most 8 bytes");
  uint64_t b = 0;
  memcpy(&b, &v, sizeof v);
  return b;
}
template <class T>
T from_bits(uint64_t b) {
  T v;
  memcpy(&v, &b, sizeof v);
  return v;
}

}  // namespace cuemu

/* cuda_runtime.h's overload for kernel pointers exists for nvcc only. */
template <class... P>
static inline cudaError_t cudaFuncSetAttribute(void (*fn)(P...), cudaFuncAttribute a, int v) {
  return cudaFuncSetAttribute(reinterpret_cast<const void *>(fn), a, v);
}

#define threadIdx (cuemu::current->tid)
#define blockIdx (cuemu::block_idx)
#define blockDim (cuemu::block_dim)
#define gridDim (cuemu::grid_dim)

static inline void __syncthreads() { cuemu::sync_block(); }
static inline void __syncwarp(unsigned mask = 0xffffffffu) { cuemu::sync_warp(mask); }

static inline int __syncthreads_or(int pred) { return cuemu::block_or(pred != 0) != 0; }

template <class T>
static inline T cuemu_shuffle_from(unsigned mask, T v, int src) {
  return cuemu::from_bits<T>(cuemu::warp_exchange(mask, cuemu::to_bits(v), src));
}

/* Groups of `width` lanes may read earlier groups; a read from a later
 * group returns the lane's own value. */
template <class T>
static inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
  int lane = cuemu::current->lane, src = lane ^ lane_mask;
  if ((src & ~(width - 1)) > (lane & ~(width - 1)) || src > 31) src = lane;
  return cuemu_shuffle_from(mask, v, cuemu::current->warp * 32 + src);
}
template <class T>
static inline T __shfl_sync(unsigned mask, T v, int src_lane, int width = 32) {
  int lane = cuemu::current->lane, src = (lane & ~(width - 1)) + (src_lane & (width - 1));
  return cuemu_shuffle_from(mask, v, cuemu::current->warp * 32 + src);
}
template <class T>
static inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  int lane = cuemu::current->lane, src = lane + (int)delta;
  if ((src & ~(width - 1)) != (lane & ~(width - 1))) src = lane;
  return cuemu_shuffle_from(mask, v, cuemu::current->warp * 32 + src);
}

static inline int __any_sync(unsigned mask, int pred) { return cuemu::warp_or(mask, pred != 0) != 0; }

/* Rounded arithmetic: the host's, compiled without contraction (-ffp-contract=off). */
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline float __fsqrt_rn(float a) { return sqrtf(a); }
static inline double __dadd_rn(double a, double b) { return a + b; }
static inline double __dsub_rn(double a, double b) { return a - b; }
static inline double __dmul_rn(double a, double b) { return a * b; }
static inline double __ddiv_rn(double a, double b) { return a / b; }
static inline float rsqrtf(float a) { return 1.0f / sqrtf(a); }

/* Tensor-core fragments (<mma.h>), whole tiles per lane. */
namespace nvcuda {
namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

template <class Use, int M, int N, int K, class T, class Layout = void>
struct fragment {
  static constexpr int rows = std::is_same<Use, matrix_b>::value ? K : M;
  static constexpr int cols = std::is_same<Use, matrix_a>::value ? K : N;
  enum { num_elements = rows * cols };
  T x[num_elements]; /* row-major tile */
};

/* The rules of the real loads and stores: a 256-bit aligned pointer and a
 * leading dimension that is a multiple of 16 bytes. */
template <class T>
static inline void check_tile_access(const T *p, unsigned ldm, const char *what) {
  if ((uintptr_t)p % 32 != 0) cuemu::fail("%s: pointer %p is not 256-bit aligned", what, (const void *)p);
  if (ldm * sizeof(T) % 16 != 0)
    cuemu::fail("%s: leading dimension %u is not a multiple of 16 bytes", what, ldm);
}

template <class F, class T>
static inline void tile_load(F &f, const T *p, unsigned ldm, bool col_major) {
  for (int r = 0; r < F::rows; r++)
    for (int c = 0; c < F::cols; c++) f.x[r * F::cols + c] = col_major ? p[c * ldm + r] : p[r * ldm + c];
}

template <class Use, int M, int N, int K, class T, class L>
static inline void load_matrix_sync(fragment<Use, M, N, K, T, L> &f, const T *p, unsigned ldm) {
  static_assert(!std::is_same<Use, accumulator>::value, "an accumulator load names its layout");
  check_tile_access(p, ldm, "wmma::load_matrix_sync");
  tile_load(f, p, ldm, std::is_same<L, col_major>::value);
}
template <int M, int N, int K, class T>
static inline void load_matrix_sync(fragment<accumulator, M, N, K, T> &f, const T *p, unsigned ldm,
                                    layout_t layout) {
  check_tile_access(p, ldm, "wmma::load_matrix_sync");
  tile_load(f, p, ldm, layout == mem_col_major);
}
template <int M, int N, int K, class T>
static inline void store_matrix_sync(T *p, const fragment<accumulator, M, N, K, T> &f, unsigned ldm,
                                     layout_t layout) {
  check_tile_access(p, ldm, "wmma::store_matrix_sync");
  /* Each lane writes its share of the tile, as on a GPU: a lane that reads
   * the tile back before a __syncwarp finds what other lanes have not written. */
  for (int i = cuemu::current->lane; i < M * N; i += 32) {
    const int r = i / N, c = i % N;
    (layout == mem_col_major ? p[c * ldm + r] : p[r * ldm + c]) = f.x[i];
  }
}
template <class Use, int M, int N, int K, class T, class L, class V>
static inline void fill_fragment(fragment<Use, M, N, K, T, L> &f, const V &v) {
  for (int i = 0; i < f.num_elements; i++) f.x[i] = (T)v;
}
static inline float element_value(float v) { return v; }
static inline float element_value(__nv_bfloat16 v) { return __bfloat162float(v); }
/* d = a·b + c, products exact in fp32 and summed in fp32 in k order. */
template <int M, int N, int K, class TA, class LA, class LB>
static inline void mma_sync(fragment<accumulator, M, N, K, float> &d,
                            const fragment<matrix_a, M, N, K, TA, LA> &a,
                            const fragment<matrix_b, M, N, K, TA, LB> &b,
                            const fragment<accumulator, M, N, K, float> &c) {
  float out[M * N];
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      float s = c.x[i * N + j];
      for (int k = 0; k < K; k++) s += element_value(a.x[i * K + k]) * element_value(b.x[k * N + j]);
      out[i * N + j] = s;
    }
  memcpy(d.x, out, sizeof out);
}
}  // namespace wmma
}  // namespace nvcuda

#endif
