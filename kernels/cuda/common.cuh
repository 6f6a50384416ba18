/* Shared by the .cu files: error checks, the stream, launch sizes. */
#ifndef LOLA_CUDA_COMMON_CUH
#define LOLA_CUDA_COMMON_CUH

#include <cublas_v2.h>
#include <cuda_runtime.h>

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

static inline unsigned kc_blocks(long long n, int threads) {
  long long b = (n + threads - 1) / threads;
  return (unsigned)(b < 1 ? 1 : (b > 65535LL * 32 ? 65535LL * 32 : b));
}

#endif
