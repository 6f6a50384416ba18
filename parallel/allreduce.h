/* Gradient averaging across ranks: one call per optimiser step, in buckets so
 * the MPI library pipelines large messages. (The CUDA build averages device
 * buffers with NCCL instead; same call, same semantics.) */
#ifndef LOLA_ALLREDUCE_H
#define LOLA_ALLREDUCE_H

#include <stdint.h>

/* buf[0..n) <- mean over ranks of buf[0..n), in place. */
void allreduce_mean(float *buf, int64_t n);
/* Sums of a few doubles (losses, counts) over ranks, in place. */
void allreduce_sum_doubles(double *v, int n);

#endif
