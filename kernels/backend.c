/* Backend selection, device memory and the workspace queries (kernels/backend.h). */
#include "backend.h"

#include <stdlib.h>
#include <string.h>

#include "../src/error.h"
#include "attention.h"
#include "conv.h"
#include "cpu/kernels_cpu.h"
#ifdef LOLA_CUDA
#include "cuda/cuda_device.h"
#include "cuda/kernels_cuda.h"
#endif

/* The emulated backend's shift: bit 62 set makes an x86-64 / AArch64 user
 * address non-canonical, so a host access faults. A multiple of every
 * alignment, so device-side pointer arithmetic and alignment checks hold. */
#define EMULATED_SHIFT ((uintptr_t)1 << 62)

static k_backend_kind active = K_BACKEND_CPU;

k_backend_kind k_backend(void) { return active; }

const char *k_backend_name(k_backend_kind kind) {
  switch (kind) {
    case K_BACKEND_CPU:
      return "cpu";
    case K_BACKEND_CUDA:
      return "cuda";
    case K_BACKEND_EMULATED:
      return "emulated";
  }
  return "?";
}

bool k_backend_on_device(void) { return active != K_BACKEND_CPU; }

void k_backend_set(k_backend_kind kind) {
  if (kind == K_BACKEND_CUDA) {
#ifdef LOLA_CUDA
    kc_init();
#else
    lola_die(LOLA_EXIT_RUNTIME, "the CUDA backend was requested but this build has no CUDA (make CUDA=1)");
#endif
  }
  active = kind;
}

void *k_backend_host_address(const void *p) {
  if (active != K_BACKEND_EMULATED || !p) return (void *)p;
  return (void *)((uintptr_t)p - EMULATED_SHIFT);
}

static void *device_address(void *host) { return (void *)((uintptr_t)host + EMULATED_SHIFT); }

_Noreturn void k_backend_missing(const char *op) {
  lola_die(LOLA_EXIT_RUNTIME, "%s has no implementation on the %s backend yet", op, k_backend_name(active));
}

void *k_device_alloc(size_t bytes, const char *what) {
#ifdef LOLA_CUDA
  if (active == K_BACKEND_CUDA) {
    void *p = kc_try_malloc(bytes);
    if (!p)
      lola_die(LOLA_EXIT_RUNTIME,
               "out of GPU memory reserving %.3g GiB for %s (%.3g GiB free on the device); use a smaller "
               "batch (train.batch_size, train.accumulation) or more ranks",
               (double)bytes / (1 << 30), what, (double)cuda_device_free_bytes() / (1 << 30));
    kc_memset0(p, bytes ? bytes : 1);
    return p;
  }
#endif
  void *p = NULL;
  if (posix_memalign(&p, 64, bytes ? bytes : 1) != 0)
    lola_die(LOLA_EXIT_RUNTIME, "out of memory reserving %zu bytes of %s memory for %s", bytes,
             k_backend_name(active), what);
  memset(p, 0, bytes);
  return active == K_BACKEND_EMULATED ? device_address(p) : p;
}

void k_device_free(void *p) {
  if (!p) return;
#ifdef LOLA_CUDA
  if (active == K_BACKEND_CUDA) {
    kc_free(p);
    return;
  }
#endif
  free(k_backend_host_address(p));
}

void k_upload(void *device_dst, const void *host_src, size_t bytes) {
#ifdef LOLA_CUDA
  if (active == K_BACKEND_CUDA) {
    kc_upload(device_dst, host_src, bytes);
    return;
  }
#endif
  if (bytes) memcpy(k_backend_host_address(device_dst), host_src, bytes);
}

void k_download(void *host_dst, const void *device_src, size_t bytes) {
#ifdef LOLA_CUDA
  if (active == K_BACKEND_CUDA) {
    kc_download(host_dst, device_src, bytes);
    return;
  }
#endif
  if (bytes) memcpy(host_dst, k_backend_host_address(device_src), bytes);
}

void *k_host_alloc(size_t bytes, const char *what) {
#ifdef LOLA_CUDA
  if (active == K_BACKEND_CUDA) return kc_host_alloc(bytes ? bytes : 1);
#endif
  void *p = lola_calloc(1, bytes ? bytes : 1, what);
  return p;
}

void k_host_free(void *p) {
  if (!p) return;
#ifdef LOLA_CUDA
  if (active == K_BACKEND_CUDA) {
    kc_host_free(p);
    return;
  }
#endif
  free(p);
}

void k_set_gemm_precision(k_gemm_precision p) {
#ifdef LOLA_CUDA
  kc_set_precision(p == K_GEMM_FP32 ? KC_FP32 : p == K_GEMM_TF32 ? KC_TF32 : KC_BF16);
#else
  (void)p;
#endif
}

int k_gemm_precision_from_name(const char *name) {
  if (!strcmp(name, "fp32")) return K_GEMM_FP32;
  if (!strcmp(name, "tf32")) return K_GEMM_TF32;
  if (!strcmp(name, "bf16")) return K_GEMM_BF16;
  return -1;
}

bool k_set_conv_engine(const char *name) {
  int e = !strcmp(name, "auto") ? 0 : !strcmp(name, "cudnn") ? 1 : !strcmp(name, "im2col") ? 2 : -1;
  if (e < 0) return false;
#ifdef LOLA_CUDA
  kc_set_conv_engine(e == 0 ? KC_CONV_AUTO : e == 1 ? KC_CONV_CUDNN : KC_CONV_IM2COL);
#endif
  return true;
}

bool k_conv_cudnn_loads(void) {
#ifdef LOLA_CUDA
  return kc_cudnn_loads();
#else
  return false;
#endif
}

const char *k_conv_engine_status(void) {
#ifdef LOLA_CUDA
  return kc_cudnn_status();
#else
  return NULL;
#endif
}

void k_sync(void) {
#ifdef LOLA_CUDA
  if (active == K_BACKEND_CUDA) kc_sync();
#endif
}

/* ---- workspace queries: each backend sizes its own scratch ---- */

int64_t k_attention_workspace_floats(int64_t tokens, int64_t head_dim) {
  if (active == K_BACKEND_CUDA) return 0; /* the fused GPU kernels keep their tiles on chip */
  return kcpu_attention_workspace_floats(tokens, head_dim);
}

int64_t k_conv_fwd_workspace_floats(const k_conv_shape *s) {
#ifdef LOLA_CUDA
  if (active == K_BACKEND_CUDA) return kc_conv_fwd_workspace_floats(s);
#endif
  return kcpu_conv_fwd_workspace_floats(s);
}

int64_t k_conv_bwd_workspace_floats(const k_conv_shape *s) {
#ifdef LOLA_CUDA
  if (active == K_BACKEND_CUDA) return kc_conv_bwd_workspace_floats(s);
#endif
  return kcpu_conv_bwd_workspace_floats(s);
}
