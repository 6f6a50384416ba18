/* Shared by the .cu files: error checks, the stream, launch sizes. */
#ifndef LOLA_CUDA_COMMON_CUH
#define LOLA_CUDA_COMMON_CUH

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdint.h>

extern "C" void lola_die(int code, const char *fmt, ...);

#define CUDA_CHECK(call)                                                                    \
  do {                                                                                      \
    cudaError_t err_ = (call);                                                              \
    if (err_ != cudaSuccess)                                                                \
      lola_die(1, "CUDA error %s at %s:%d: %s", cudaGetErrorName(err_), __FILE__, __LINE__, \
               cudaGetErrorString(err_));                                                   \
  } while (0)

#define CUBLAS_CHECK(call)                                                                                   \
  do {                                                                                                       \
    cublasStatus_t st_ = (call);                                                                             \
    if (st_ != CUBLAS_STATUS_SUCCESS) lola_die(1, "cuBLAS error %d at %s:%d", (int)st_, __FILE__, __LINE__); \
  } while (0)

#define KC_LAUNCH_CHECK() CUDA_CHECK(cudaGetLastError())

cudaStream_t kc_stream(void);
cublasHandle_t kc_cublas(void);

/* The cuBLAS compute type of kc_get_precision: fp32, TF32, or bf16 products
 * with fp32 accumulation (storage is fp32 either way). */
cublasComputeType_t kc_compute_type(void);

/* Row-major C[i] (m×n) = op(A[i])·op(B[i]) + beta·C[i] for i < count (beta 0
 * or 1), leading dims and strides in floats (a stride may be 0: the same
 * matrix for all); ta / tb: A[i] stored (k, m) / B[i] stored (n, k). k = 0 is
 * an empty sum. In cuBLAS's column-major view C[i]ᵀ = op(B[i])ᵀ·op(A[i])ᵀ. */
void kc_rm_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, int64_t sa,
                const float *b, int64_t ldb, int64_t sb, float beta, float *c, int64_t ldc, int64_t sc,
                int64_t count);

/* Sum of v over the block, in the order of the warps (deterministic); every
 * thread gets the total. blockDim.x a multiple of 32; `shared` holds one
 * double per warp and may be reused by the next call. */
__device__ static inline double kc_block_sum(double v, double *shared) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads(); /* shared is reused between calls */
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  double t = 0;
  for (int w = 0; w < (int)(blockDim.x >> 5); w++) t += shared[w];
  return t;
}

static inline unsigned kc_blocks(long long n, int threads) {
  long long b = (n + threads - 1) / threads;
  return (unsigned)(b < 1 ? 1 : (b > 65535LL * 32 ? 65535LL * 32 : b));
}

#endif
