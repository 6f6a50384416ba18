/* Gradient averaging overlapped with the backward pass (data parallelism).
 *
 * While a registry listens (grad_sync_listen), every run of gradients the
 * model declares final (params_grads_final: a ViT block's, as soon as its
 * backward is done) starts its all-reduce at once in the background: a
 * non-blocking MPI_Iallreduce on host memory, progressed at each later
 * announcement, or NCCL on the communication stream after the kernels queued
 * so far. grad_sync_finish reduces the runs nobody announced, waits for all and
 * leaves the mean over ranks in every gradient: the values of one blocking
 * all-reduce, up to the MPI library's reduction order. Runs are split into
 * buckets of at most GRAD_SYNC_BUCKET floats. */
#ifndef LOLA_GRAD_SYNC_H
#define LOLA_GRAD_SYNC_H

#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>

#include "../src/tensor.h"

enum { GRAD_SYNC_BUCKET = 4 << 20, GRAD_SYNC_MAX = 4096 };

typedef struct {
  param_registry *params;
  int64_t span[GRAD_SYNC_MAX][2]; /* buckets started: offset, count (any order) */
  MPI_Request req[GRAD_SYNC_MAX];
  int started;
} grad_sync;

/* Listen to `params` for the backward pass about to run (the last
 * micro-batch of a step). Nothing happens on one rank. */
void grad_sync_listen(grad_sync *g, param_registry *params);
/* Stop listening; all-reduce what was not started; wait; scale to the mean. */
void grad_sync_finish(grad_sync *g, param_registry *params);

#endif
