/* The CUDA runtime calls lola makes, on the CPU: device memory is host memory
 * (filled with NaN bytes when allocated, so reads before writes show; each
 * allocation ends at an inaccessible page and is unmapped when freed, so an
 * access past its end or after cudaFree stops the program), every stream
 * runs in order at once, events read the clock. One emulated sm_90 device;
 * LOLA_EMU_DEVICES sets how many (0: no device). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <map>

#include "cuemu.h"

namespace cuemu {

static cudaError_t last_error = cudaSuccess;
/* A device allocation: `bytes` (a multiple of 256) end where an
 * inaccessible page begins; the mapping has one such page at each end. */
struct allocation {
  size_t bytes;
  char *map;
  size_t map_bytes;
};
static std::map<const char *, allocation> allocations;
/* The mappings freed last, to name an access to one. */
enum { FREED_KEPT = 256 };
static allocation freed[FREED_KEPT];
static unsigned freed_count;
static std::map<const void *, int> max_dynamic_smem; /* per kernel, as cudaFuncSetAttribute set it */
static size_t allocated;
static int current_device;

/* What the launch checks use: the limits of an H100 (sm_90). */
enum : size_t { DEFAULT_DYNAMIC_SMEM = 48 << 10, MAX_DYNAMIC_SMEM = 227 << 10 };
static const size_t DEVICE_BYTES = (size_t)16 << 30;

bool describe_device_address(const void *address, char *out, size_t n) {
  const char *a = (const char *)address;
  auto it = allocations.upper_bound(a); /* the first allocation after a */
  if (it != allocations.end() && a >= it->second.map && a < it->first) {
    snprintf(out, n, "%p is %zu bytes before a device allocation of %zu bytes at %p", address,
             (size_t)(it->first - a), it->second.bytes, (const void *)it->first);
    return true;
  }
  if (it != allocations.begin()) {
    --it;
    const char *end = it->first + it->second.bytes;
    if (a >= end && a < it->second.map + it->second.map_bytes) {
      snprintf(out, n, "%p is %zu bytes past the end of a device allocation of %zu bytes at %p", address,
               (size_t)(a - end), it->second.bytes, (const void *)it->first);
      return true;
    }
  }
  for (unsigned k = 0; k < FREED_KEPT && k < freed_count; k++) {
    const allocation &f = freed[k];
    if (a >= f.map && a < f.map + f.map_bytes) {
      snprintf(out, n, "%p is in a device allocation of %zu bytes freed by cudaFree", address, f.bytes);
      return true;
    }
  }
  return false;
}

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

enum : size_t { PAGE = 4096 };

cudaError_t cudaMalloc(void **p, size_t bytes) {
  catch_faults();
  const size_t rounded = bytes ? (bytes + 255) / 256 * 256 : 256, body = (rounded + PAGE - 1) / PAGE * PAGE;
  if (allocated + rounded > DEVICE_BYTES) return fail_with(cudaErrorMemoryAllocation);
  char *map = (char *)mmap(NULL, body + 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED) return fail_with(cudaErrorMemoryAllocation);
  mprotect(map, PAGE, PROT_NONE);
  mprotect(map + PAGE + body, PAGE, PROT_NONE);
  char *at = map + PAGE + body - rounded; /* 256-byte aligned, ending at the guard page */
  memset(at, 0xff, rounded);              /* NaNs until written */
  allocations[at] = allocation{rounded, map, body + 2 * PAGE};
  allocated += rounded;
  *p = at;
  return cudaSuccess;
}
cudaError_t cudaFree(void *p) {
  if (!p) return cudaSuccess;
  auto it = allocations.find((const char *)p);
  if (it == allocations.end()) return fail_with(cudaErrorInvalidDevicePointer);
  allocated -= it->second.bytes;
  munmap(it->second.map, it->second.map_bytes);
  freed[freed_count++ % FREED_KEPT] = it->second;
  allocations.erase(it);
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
