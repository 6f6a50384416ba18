/* The process's CUDA context for the kernels: one stream, one cuBLAS handle. */
#include <string.h>

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
extern "C" void *kc_try_malloc(size_t bytes) {
  void *p = NULL;
  cudaError_t rc = cudaMalloc(&p, bytes ? bytes : 1);
  if (rc == cudaErrorMemoryAllocation) {
    cudaGetLastError(); /* not sticky: the caller reports it */
    return NULL;
  }
  CUDA_CHECK(rc);
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
extern "C" void *kc_host_alloc(size_t bytes) {
  void *p = NULL;
  CUDA_CHECK(cudaMallocHost(&p, bytes));
  memset(p, 0, bytes);
  return p;
}
extern "C" void kc_host_free(void *p) { CUDA_CHECK(cudaFreeHost(p)); }

/* The communication stream: all-reduces of finished gradients run there while
 * the kernels' stream goes on with the backward; events order the two. */
static cudaStream_t comm;
static cudaEvent_t compute_done, comm_done;

extern "C" void *kc_comm_stream_handle(void) {
  if (!comm) {
    CUDA_CHECK(cudaStreamCreateWithFlags(&comm, cudaStreamNonBlocking));
    CUDA_CHECK(cudaEventCreateWithFlags(&compute_done, cudaEventDisableTiming));
    CUDA_CHECK(cudaEventCreateWithFlags(&comm_done, cudaEventDisableTiming));
  }
  return (void *)comm;
}
extern "C" void kc_comm_wait_compute(void) {
  kc_comm_stream_handle();
  CUDA_CHECK(cudaEventRecord(compute_done, stream));
  CUDA_CHECK(cudaStreamWaitEvent(comm, compute_done, 0));
}
extern "C" void kc_compute_wait_comm(void) {
  if (!comm) return;
  CUDA_CHECK(cudaEventRecord(comm_done, comm));
  CUDA_CHECK(cudaStreamWaitEvent(stream, comm_done, 0));
}
