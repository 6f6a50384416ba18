/* ZeRO-1 sharding of the optimiser state (as llm.c does it): rank r of R
 * keeps the AdamW moments of one contiguous share of the flat parameter
 * array and updates only those weights; the weights are then all-gathered,
 * so every rank starts the next step with all of them. A rank then holds
 * 2 + 2/R floats per weight instead of 4 (weights, gradients, moments).
 * Gradients are then reduced to their owners only (parallel/grad_sync.h), so
 * a step moves as many bytes as the all-reduce of an unsharded run: a reduce
 * and an all-gather instead of an all-reduce.
 *
 * Shares are whole multiples of SHARD_ALIGN floats (the registry pads each
 * parameter to that), as equal as that allows; the last ones may be empty. */
#ifndef LOLA_SHARD_H
#define LOLA_SHARD_H

#include <stdint.h>

enum { SHARD_ALIGN = 16 };

/* [*lo, *hi): the share of `rank` among `ranks` of `total` floats. */
void shard_bounds(int64_t total, int ranks, int rank, int64_t *lo, int64_t *hi);

/* The rank whose share holds element `index` (0 <= index < total). */
int shard_owner(int64_t total, int ranks, int64_t index);

/* Collective: every rank's share of values[0, total) (in the kernels'
 * memory) to every rank. On the CUDA backend the copies run on the
 * communication stream after the kernels queued so far, and later kernels
 * wait for them. */
void shard_allgather(float *values, int64_t total);

/* Collective: every rank's share of host[0, total) (host memory) into rank
 * 0's array; the other ranks' arrays are left as they are. */
void shard_gather_to_root(float *host, int64_t total);

#endif
