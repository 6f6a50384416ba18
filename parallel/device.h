/* Which compute device each rank uses: the GPU picked by node-local rank in a
 * CUDA build with visible devices, the CPU otherwise. */
#ifndef LOLA_DEVICE_H
#define LOLA_DEVICE_H

#include <stdbool.h>
#include <stddef.h>

/* Collective-free; call once after comm_init. Returns true when a GPU was
 * selected. The GPU is made current only by device_activate, so that runs on
 * the CPU create no CUDA context. */
bool device_select(void);
bool device_is_gpu(void);
/* Make the selected GPU current (once, before the first CUDA call of a stage
 * that runs there); false when it cannot be used (busy in exclusive mode,
 * lost). */
bool device_activate(void);
/* Collective over the node-local ranks: dies (exit 2) when two ranks of a
 * node that `use_gpu` drive the same physical GPU (NCCL needs one GPU per
 * rank), naming them and the GPU. Nothing happens on one rank. */
void device_check_exclusive(bool use_gpu);
/* This rank's device in words (GPU name and memory, or CPU model and cores). */
void device_describe(char *buf, size_t n);
/* CUDA/NCCL versions, or "built without CUDA". */
void device_versions(char *buf, size_t n);
/* The CPU model from /proc/cpuinfo, or "unknown CPU". */
void cpu_model(char *buf, size_t n);

#endif
