/* Averaging across ranks in one blocking call, in buckets so the MPI library
 * pipelines large messages; on the CUDA backend the buffer is device memory
 * and NCCL averages it. (The training loop overlaps its gradient all-reduce
 * with the backward instead: parallel/grad_sync.h.) */
#ifndef LOLA_ALLREDUCE_H
#define LOLA_ALLREDUCE_H

#include <stdint.h>

/* buf[0..n) <- mean over ranks of buf[0..n), in place. */
void allreduce_mean(float *buf, int64_t n);
/* Sums of a few doubles (losses, counts) over ranks, in place. */
void allreduce_sum_doubles(double *v, int n);

#endif
