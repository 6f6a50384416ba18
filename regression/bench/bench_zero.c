/* What ZeRO-1 costs per optimiser step in gradient and weight traffic, on the
 * CPU path (MPI): the gradient exchange, the step guard and the weight
 * all-gather of one step of `floats` weights, for
 *   whole       gradients all-reduced (the unsharded run)
 *   sharded     gradients reduced to their owners, weights all-gathered
 *   sharded+ar  gradients all-reduced whole, weights all-gathered (what a
 *               sharded step did before it reduced to owners)
 * timed apart from the step guard (the gradient norm: over every weight, or
 * over this rank's share and a sum of one double over the ranks). The AdamW
 * update itself is left out (1/ranks of it when sharded). Times are the
 * median of REPS steps, rank 0's.
 *
 *   make CUDA=0 build/bench/bench_zero && mpirun -np 2 build/bench/bench_zero [MFLOATS]  */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../kernels/backend.h"
#include "../../kernels/vector.h"
#include "../../parallel/comm.h"
#include "../../parallel/grad_sync.h"
#include "../../parallel/shard.h"

enum { REPS = 9 };

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *t) {
  qsort(t, REPS, sizeof t[0], by_value);
  return t[REPS / 2];
}

/* Median seconds of one step's exchange (gradients, then weights) and of its
 * guard; mode 0 whole, 1 sharded, 2 sharded with a whole all-reduce. */
static void step_seconds(param_registry *r, k_step_state *state, int mode, double *exchange, double *guard) {
  double te[REPS], tg[REPS];
  grad_sync g = {0};
  for (int k = 0; k < REPS; k++) {
    k_fill(r->grads, 1.0f + (float)comm_rank(), r->total);
    r->sharded = mode == 1;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    grad_sync_listen(&g, r);
    grad_sync_finish(&g, r);
    if (mode) shard_allgather(r->values, r->total);
    MPI_Barrier(MPI_COMM_WORLD);
    double t1 = MPI_Wtime();
    r->sharded = mode != 0;
    grad_sync_guard(r, state);
    MPI_Barrier(MPI_COMM_WORLD);
    te[k] = t1 - t0;
    tg[k] = MPI_Wtime() - t1;
  }
  grad_sync_free(&g);
  *exchange = median(te);
  *guard = median(tg);
}

int main(int argc, char **argv) {
  comm_init(&argc, &argv);
  int64_t floats = (int64_t)((argc > 1 ? atof(argv[1]) : 32.0) * 1048576.0);
  param_registry r;
  params_init(&r, 1);
  params_add(&r, "w", 1, &floats);
  params_finalize(&r);
  int64_t lo, hi;
  shard_bounds(r.total, comm_size(), comm_rank(), &lo, &hi);
  params_shard_moments(&r, lo, hi);
  k_step_state *state = k_device_alloc(sizeof *state, "step state");
  const char *name[3] = {"whole", "sharded", "sharded+ar"};
  double ex[3], gu[3];
  for (int pass = 0; pass < 2; pass++) /* the first pass warms MPI's buffers and the pages up */
    for (int mode = 0; mode < 3; mode++) step_seconds(&r, state, mode, &ex[mode], &gu[mode]);
  if (comm_rank() == 0) {
    printf("bench_zero: %d ranks, %.1f M weights (%.0f MB of gradients), ms per step (x whole)\n", comm_size(),
           (double)r.total / 1048576.0, 4.0 * (double)r.total / 1e6);
    for (int mode = 0; mode < 3; mode++)
      printf("  %-11s exchange %8.2f (%.2fx)   guard %7.2f (%.2fx)\n", name[mode], 1e3 * ex[mode],
             ex[mode] / ex[0], 1e3 * gu[mode], gu[mode] / gu[0]);
  }
  k_device_free(state);
  params_free(&r);
  comm_finalize();
  return 0;
}
