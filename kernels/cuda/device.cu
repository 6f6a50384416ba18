#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <nccl.h>
#include <stdio.h>
#include <stdlib.h>

#include "cuda_device.h"
#include "kernels_cuda.h"

extern "C" int cuda_device_count(void) {
  int n = 0;
  cudaError_t rc = cudaGetDeviceCount(&n);
  if (rc != cudaSuccess) {
    cudaGetLastError();              /* no driver or no device: clear the sticky error */
    if (getenv("LOLA_GPU_REQUIRED")) /* a GPU check: say why none is usable */
      fprintf(stderr, "CUDA: no usable device: %s\n", cudaGetErrorString(rc));
    return 0;
  }
  return n;
}

extern "C" int cuda_select_device(int device) { return cudaSetDevice(device) == cudaSuccess ? 0 : 1; }

extern "C" size_t cuda_device_free_bytes(void) {
  size_t free_bytes = 0, total = 0;
  if (cudaMemGetInfo(&free_bytes, &total) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return free_bytes;
}

extern "C" int cuda_device_pci_id(int device, char *buf, int n) {
  if (cudaDeviceGetPCIBusId(buf, n, device) != cudaSuccess) {
    cudaGetLastError();
    return 1;
  }
  return 0;
}

extern "C" void cuda_device_describe(int device, char *buf, size_t n) {
  cudaDeviceProp p;
  if (cudaGetDeviceProperties(&p, device) != cudaSuccess) {
    cudaGetLastError(); /* not left for the next launch check to blame on a kernel */
    snprintf(buf, n, "CUDA device %d (properties unavailable)", device);
    return;
  }
  snprintf(buf, n, "GPU %d: %s, %.1f GiB, sm_%d%d, PCI %04x:%02x:%02x", device, p.name,
           (double)p.totalGlobalMem / (1024.0 * 1024.0 * 1024.0), p.major, p.minor, p.pciDomainID, p.pciBusID,
           p.pciDeviceID);
}

extern "C" void cuda_versions(char *buf, size_t n) {
  int runtime = 0, driver = 0, nccl = 0;
  cudaRuntimeGetVersion(&runtime);
  if (cudaDriverGetVersion(&driver) != cudaSuccess) {
    cudaGetLastError();
    driver = 0;
  }
  ncclGetVersion(&nccl);
  int used = snprintf(buf, n, "CUDA runtime %d.%d", runtime / 1000, (runtime % 1000) / 10);
  if (driver && used > 0 && (size_t)used < n)
    used += snprintf(buf + used, n - (size_t)used, ", driver %d.%d", driver / 1000, (driver % 1000) / 10);
  if (used > 0 && (size_t)used < n)
    snprintf(buf + used, n - (size_t)used, ", cuBLAS %d.%d.%d, NCCL %d.%d.%d, %s", CUBLAS_VER_MAJOR,
             CUBLAS_VER_MINOR, CUBLAS_VER_PATCH, nccl / 10000, (nccl % 10000) / 100, nccl % 100,
             kc_cudnn_status());
}
