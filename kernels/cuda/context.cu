/* The process's CUDA context for the kernels: one stream, one cuBLAS handle. */
#include "common.cuh"
#include "kernels_cuda.h"

static cudaStream_t stream;
static cublasHandle_t handle;
static kc_precision precision = KC_BF16;

extern "C" void kc_init(void) {
  if (handle) return;
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  CUBLAS_CHECK(cublasCreate(&handle));
  CUBLAS_CHECK(cublasSetStream(handle, stream));
}

cudaStream_t kc_stream(void) { return stream; }
cublasHandle_t kc_cublas(void) { return handle; }

extern "C" void kc_set_precision(kc_precision p) { precision = p; }
extern "C" kc_precision kc_get_precision(void) { return precision; }
extern "C" void kc_sync(void) { CUDA_CHECK(cudaStreamSynchronize(stream)); }

extern "C" void *kc_malloc(size_t bytes) {
  void *p = NULL;
  CUDA_CHECK(cudaMalloc(&p, bytes ? bytes : 1));
  return p;
}
extern "C" void kc_free(void *p) { CUDA_CHECK(cudaFree(p)); }
extern "C" void kc_upload(void *dst, const void *src, size_t bytes) {
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
}
extern "C" void kc_download(void *dst, const void *src, size_t bytes) {
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
}
extern "C" void kc_memset0(void *p, size_t bytes) { CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, stream)); }
