/* Gradient averaging overlapped with the backward pass (data parallelism).
 *
 * While a registry listens (grad_sync_listen), every run of gradients the
 * model declares final (params_grads_final: a ViT block's, as soon as its
 * backward is done) starts its reduction at once in the background: a
 * non-blocking MPI call on host memory, progressed at each later
 * announcement, or NCCL on the communication stream after the kernels queued
 * so far (on the emulated device, NCCL's MPI stand-in: parallel/nccl_comm.h). grad_sync_finish reduces the
 * runs nobody announced and waits for all. Runs are split into buckets of at most GRAD_SYNC_BUCKET floats.
 *
 * Unsharded, every gradient ends as its mean over ranks (an all-reduce: the
 * values of one blocking MPI_Allreduce, up to the library's reduction order).
 * With the moments sharded (ZeRO-1, params->sharded) only the owner of each
 * float needs its mean: each bucket is reduced to the ranks whose shares it
 * spans (MPI_Ireduce, or grouped ncclReduce), half the traffic of an
 * all-reduce; a rank's gradients outside its share are left unaveraged, and
 * grad_sync_guard takes the norm of the whole over the shares. */
#ifndef LOLA_GRAD_SYNC_H
#define LOLA_GRAD_SYNC_H

#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>

#include "../kernels/optim.h"
#include "../src/tensor.h"

enum { GRAD_SYNC_BUCKET = 4 << 20, GRAD_SYNC_MAX = 4096 };

typedef struct {
  param_registry *params;
  int64_t (*span)[2]; /* every bucket reduced this step: offset, count (any order) */
  int started, span_capacity;
  /* Outstanding non-blocking MPI calls, one per bucket, or per (bucket, owner)
   * when sharded; a bucket that finds them all taken is reduced at once. */
  MPI_Request req[GRAD_SYNC_MAX];
  int requests;
  int request_limit;             /* at most this many outstanding (0: GRAD_SYNC_MAX) */
  int64_t *piece_lo, *piece_len; /* a bucket's pieces by owner (one per rank at most) */
  int *piece_root;
} grad_sync;

/* Listen to `params` for the backward pass about to run (the last
 * micro-batch of a step). Nothing happens on one rank. */
void grad_sync_listen(grad_sync *g, param_registry *params);
/* Stop listening; reduce what was not started; wait; scale to the mean. */
void grad_sync_finish(grad_sync *g, param_registry *params);
/* After grad_sync_finish: the optimiser's guard (k_step_guard) over the mean
 * gradient of every parameter, from the shares when sharded: each rank sums
 * the squares of its own share and the sums are added over the ranks on the
 * device, without a host wait on the GPU. */
void grad_sync_guard(const param_registry *params, k_step_state *state);
/* The span and piece arrays (the struct itself is the caller's). */
void grad_sync_free(grad_sync *g);

#endif
