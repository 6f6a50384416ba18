/* Where the kernels run, chosen once at start-up, and the memory they run on.
 *
 * Every k_<op> of kernels/kernels.h dispatches (kernels/dispatch.c) to the
 * backend set here:
 *   cpu       the OpenMP + OpenBLAS kernels of kernels/cpu/ on host memory;
 *   cuda      the kernels of kernels/cuda/ on the current GPU's memory (a CUDA
 *             build with a visible device);
 *   emulated  the CPU kernels on "device" memory the host cannot touch: device
 *             allocations are host memory handed out at shifted, non-canonical
 *             addresses, which the dispatch layer shifts back before a kernel
 *             runs. Any host code that reads or writes a device array faults
 *             at once, so a model or a training step can be proven to keep
 *             the device discipline (arrays on the device touched only through
 *             kernels, k_upload and k_download) without a GPU.
 * The CPU backend's device memory is plain host memory. */
#ifndef LOLA_BACKEND_H
#define LOLA_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { K_BACKEND_CPU, K_BACKEND_CUDA, K_BACKEND_EMULATED } k_backend_kind;

/* Switch the backend; nothing allocated on the previous backend may be used
 * afterwards. K_BACKEND_CUDA needs a CUDA build and a selected device (dies
 * otherwise). */
void k_backend_set(k_backend_kind kind);
k_backend_kind k_backend(void);
const char *k_backend_name(k_backend_kind kind);
/* True when arrays live apart from the host (cuda, emulated). */
bool k_backend_on_device(void);

/* Device memory of the active backend, zeroed; dies naming `what` when it cannot. */
void *k_device_alloc(size_t bytes, const char *what);
void k_device_free(void *p);
/* Host <-> device copies (plain copies on the CPU backend), in order with the
 * kernels. The download returns with the data in place. The upload may return
 * before the copy lands: an ordinary host buffer may be reused at once (the
 * driver stages it), a k_host_alloc buffer only once the queue has passed the
 * copy (after a later k_download, a kernel that returns a value, or k_sync). */
void k_upload(void *device_dst, const void *host_src, size_t bytes);
void k_download(void *host_dst, const void *device_src, size_t bytes);
/* Wait for every queued kernel (timing, before a host reads results). */
void k_sync(void);
/* Host buffers that feed uploads: page-locked on the CUDA backend (the
 * transfer is a DMA that does not stage through a bounce buffer), plain
 * memory otherwise. Zeroed. */
void *k_host_alloc(size_t bytes, const char *what);
void k_host_free(void *p);

/* Matrix products on the GPU: fp32, TF32 or bf16 tensor cores with fp32
 * accumulation (storage stays fp32). The CPU computes in fp32 whatever is set. */
typedef enum { K_GEMM_FP32, K_GEMM_TF32, K_GEMM_BF16 } k_gemm_precision;
void k_set_gemm_precision(k_gemm_precision p);
/* "fp32", "tf32", "bf16"; -1 when unknown. */
int k_gemm_precision_from_name(const char *name);

/* Convolutions on the GPU: "auto" (cuDNN when its library loads and takes
 * the shape, else im2col + cuBLAS), "cudnn" (the same, but a missing library
 * is an error) or "im2col". False for an unknown name. Set it before sizing
 * convolution workspaces. The CPU has its own convolutions whatever is set. */
bool k_set_conv_engine(const char *name);
/* What convolutions on the GPU run with ("cuDNN 9.19.0", or why im2col);
 * NULL in a build without CUDA. Loads cuDNN on a CUDA backend. */
const char *k_conv_engine_status(void);
/* Whether convolutions on the GPU can take cuDNN (false in a build without CUDA). */
bool k_conv_cudnn_loads(void);

/* For the dispatch layer: the host address behind a device address of the
 * emulated backend (unchanged on the others). */
void *k_backend_host_address(const void *p);
/* An op without an implementation on the active backend: dies naming it. */
_Noreturn void k_backend_missing(const char *op);

#endif
