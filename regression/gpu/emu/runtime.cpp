/* The CUDA runtime calls lola makes, on the CPU: device memory is host memory
 * (filled with NaN bytes when allocated, so reads before writes show), every
 * stream runs in order at once, events read the clock. One emulated sm_90
 * device; LOLA_EMU_DEVICES sets how many (0: no device). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <map>

#include "cuemu.h"

namespace cuemu {

static cudaError_t last_error = cudaSuccess;
static std::map<const void *, size_t> allocations;
static std::map<const void *, int> max_dynamic_smem; /* per kernel, as cudaFuncSetAttribute set it */
static size_t allocated;
static int current_device;

/* What the launch checks use: the limits of an H100 (sm_90). */
enum : size_t { DEFAULT_DYNAMIC_SMEM = 48 << 10, MAX_DYNAMIC_SMEM = 227 << 10 };
static const size_t DEVICE_BYTES = (size_t)16 << 30;

void set_last_error(cudaError_t e) {
  if (e != cudaSuccess) last_error = e; /* the most recent error, as cudaGetLastError reports */
}

static cudaError_t fail_with(cudaError_t e) {
  set_last_error(e);
  return e;
}

cudaError_t launch_error(const void *fn, dim3 grid, dim3 block, size_t dynamic_smem) {
  const size_t threads = (size_t)block.x * block.y * block.z;
  if (threads == 0 || threads > 1024 || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
      grid.y > 65535 || grid.z > 65535 || grid.x > 2147483647u)
    return cudaErrorInvalidConfiguration;
  auto it = max_dynamic_smem.find(fn);
  const size_t limit = it == max_dynamic_smem.end() ? (size_t)DEFAULT_DYNAMIC_SMEM : (size_t)it->second;
  if (dynamic_smem > limit) return cudaErrorInvalidValue;
  return cudaSuccess;
}

static int device_count() {
  const char *e = getenv("LOLA_EMU_DEVICES");
  return e ? atoi(e) : 1;
}

}  // namespace cuemu

using namespace cuemu;

extern "C" {

cudaError_t cudaGetLastError(void) {
  cudaError_t e = last_error;
  last_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError(void) { return last_error; }

const char *cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess:
      return "cudaSuccess";
    case cudaErrorInvalidValue:
      return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation:
      return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration:
      return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice:
      return "cudaErrorInvalidDevice";
    case cudaErrorNoDevice:
      return "cudaErrorNoDevice";
    case cudaErrorInvalidDevicePointer:
      return "cudaErrorInvalidDevicePointer";
    default:
      return "cudaErrorUnknown";
  }
}
const char *cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess:
      return "no error";
    case cudaErrorInvalidValue:
      return "invalid argument";
    case cudaErrorMemoryAllocation:
      return "out of memory";
    case cudaErrorInvalidConfiguration:
      return "invalid configuration argument";
    case cudaErrorInvalidDevice:
      return "invalid device ordinal";
    case cudaErrorNoDevice:
      return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevicePointer:
      return "invalid device pointer";
    default:
      return "unknown error";
  }
}

cudaError_t cudaGetDeviceCount(int *count) {
  *count = device_count();
  return *count > 0 ? cudaSuccess : fail_with(cudaErrorNoDevice);
}
cudaError_t cudaSetDevice(int device) {
  if (device < 0 || device >= device_count()) return fail_with(cudaErrorInvalidDevice);
  current_device = device;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int device) {
  if (device < 0 || device >= device_count()) return fail_with(cudaErrorInvalidDevice);
  memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "CUDA emulator (CPU)");
  p->totalGlobalMem = DEVICE_BYTES;
  p->major = 9;
  p->minor = 0;
  p->multiProcessorCount = 132;
  p->warpSize = 32;
  p->maxThreadsPerBlock = 1024;
  p->sharedMemPerBlock = DEFAULT_DYNAMIC_SMEM;
  p->sharedMemPerBlockOptin = MAX_DYNAMIC_SMEM;
  p->pciBusID = device;
  return cudaSuccess;
}
cudaError_t cudaDeviceGetPCIBusId(char *buf, int len, int device) {
  if (device < 0 || device >= device_count()) return fail_with(cudaErrorInvalidDevice);
  snprintf(buf, (size_t)len, "0000:%02x:00.0", device);
  return cudaSuccess;
}
cudaError_t cudaRuntimeGetVersion(int *v) {
  *v = CUDART_VERSION;
  return cudaSuccess;
}
cudaError_t cudaDriverGetVersion(int *v) {
  *v = 0; /* no driver: the description leaves it out */
  return fail_with(cudaErrorNoDevice);
}
cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }

cudaError_t cudaMalloc(void **p, size_t bytes) {
  const size_t rounded = (bytes + 255) / 256 * 256;
  if (allocated + rounded > DEVICE_BYTES) return fail_with(cudaErrorMemoryAllocation);
  *p = aligned_alloc(256, rounded ? rounded : 256);
  if (!*p) return fail_with(cudaErrorMemoryAllocation);
  memset(*p, 0xff, rounded); /* NaNs until written */
  allocations[*p] = rounded;
  allocated += rounded;
  return cudaSuccess;
}
cudaError_t cudaFree(void *p) {
  if (!p) return cudaSuccess;
  auto it = allocations.find(p);
  if (it == allocations.end()) return fail_with(cudaErrorInvalidDevicePointer);
  allocated -= it->second;
  allocations.erase(it);
  free(p);
  return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total) {
  *free_bytes = DEVICE_BYTES - allocated;
  *total = DEVICE_BYTES;
  return cudaSuccess;
}
cudaError_t cudaMallocHost(void **p, size_t bytes) {
  *p = malloc(bytes ? bytes : 1);
  return *p ? cudaSuccess : fail_with(cudaErrorMemoryAllocation);
}
cudaError_t cudaFreeHost(void *p) {
  free(p);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind, cudaStream_t) {
  if (bytes) memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind) {
  if (bytes) memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void *p, int value, size_t bytes, cudaStream_t) {
  if (bytes) memset(p, value, bytes);
  return cudaSuccess;
}

cudaError_t cudaFuncSetAttribute(const void *fn, cudaFuncAttribute attr, int value) {
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize) return cudaSuccess; /* hints: nothing to emulate */
  if (value < 0 || (size_t)value > MAX_DYNAMIC_SMEM) return fail_with(cudaErrorInvalidValue);
  max_dynamic_smem[fn] = value;
  return cudaSuccess;
}

/* Streams and events: everything has happened when it is issued. */
struct CUstream_st {
  int unused;
};
struct CUevent_st {
  double ms;
};

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned) {
  *s = new CUstream_st{};
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t, unsigned) { return cudaSuccess; }
cudaError_t cudaEventCreate(cudaEvent_t *e) {
  *e = new CUevent_st{};
  return cudaSuccess;
}
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned) { return cudaEventCreate(e); }
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  e->ms = (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t stop) {
  *ms = (float)(stop->ms - start->ms);
  return cudaSuccess;
}

}  // extern "C"
