/* The CUDA side of device placement, callable from C. Compiled only in CUDA builds. */
#ifndef LOLA_CUDA_DEVICE_H
#define LOLA_CUDA_DEVICE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Visible devices; 0 when there is no driver or no device (the CPU path is used). */
int cuda_device_count(void);
/* Make `device` current for this process. Returns 0 on success. */
int cuda_select_device(int device);
/* Free memory on the current device in bytes (0 when unknown). */
size_t cuda_device_free_bytes(void);
/* The device's PCI bus id ("0000:1b:00.0"), which names the physical GPU
 * whatever CUDA_VISIBLE_DEVICES renumbers. Returns 0 on success. */
int cuda_device_pci_id(int device, char *buf, int n);
/* "NVIDIA H200, 139.8 GiB, sm_90, PCI 0000:1b:00.0" */
void cuda_device_describe(int device, char *buf, size_t n);
/* "CUDA runtime 13.0, driver 13.0, cuBLAS 13.0.0, NCCL 2.27.3" (driver part absent without one). */
void cuda_versions(char *buf, size_t n);

#ifdef __cplusplus
}
#endif

#endif
