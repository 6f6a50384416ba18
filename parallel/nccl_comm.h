/* The NCCL communicator of the CUDA backend: one per process over
 * MPI_COMM_WORLD, bootstrapped through MPI (rank 0's unique id broadcast),
 * created on first use, on the GPU this rank drives (parallel/device.h).
 * On the emulated device (run.device = "emulated") the same calls run as
 * blocking MPI stand-ins with NCCL's semantics on the host arrays, so the
 * device-side callers are exercised without a GPU. */
#ifndef LOLA_NCCL_COMM_H
#define LOLA_NCCL_COMM_H

#include <stdint.h>

/* buf[0..n) <- mean over ranks (ncclAvg), device memory, on the communication
 * stream after every kernel queued so far, so the backward goes on meanwhile;
 * nccl_join makes later kernels wait for it. */
void nccl_allreduce_mean_async(float *buf, int64_t n);
/* buf[lo[r], lo[r] + n[r]) from rank r to every rank, for each rank r (an
 * all-gather of unequal shares, as grouped in-place broadcasts), on the
 * communication stream after every kernel queued so far. */
void nccl_allgatherv_async(float *buf, const int64_t *lo, const int64_t *n);
/* For k < count: buf[lo[k], lo[k] + n[k]) <- its mean over ranks, on rank
 * root[k] only (grouped ncclReduce with ncclAvg; elsewhere the values stay
 * as they were), on the communication stream after the kernels queued so far. */
void nccl_reduce_mean_async(float *buf, const int64_t *lo, const int64_t *n, const int *root, int count);
/* *v (one double, device memory) <- its sum over ranks, the same way. */
void nccl_allreduce_sum_double_async(double *v);
void nccl_join(void);
/* Destroy the communicator (before MPI_Finalize); nothing when none was made. */
void nccl_finalize(void);

#endif
