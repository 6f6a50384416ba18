#include "shard.h"

#include <mpi.h>
#include <stdlib.h>

#include "../kernels/backend.h"
#include "../src/error.h"
#include "comm.h"
#include "nccl_comm.h"

void shard_bounds(int64_t total, int ranks, int rank, int64_t *lo, int64_t *hi) {
  int64_t units = (total + SHARD_ALIGN - 1) / SHARD_ALIGN, per = (units + ranks - 1) / ranks;
  int64_t a = per * rank * SHARD_ALIGN, b = per * (rank + 1) * SHARD_ALIGN;
  *lo = a < total ? a : total;
  *hi = b < total ? b : total;
}

/* Counts and displacements of every share in units of SHARD_ALIGN floats
 * (an MPI datatype of that many), so that int counts reach 32 Gi floats. */
static MPI_Datatype shares(int64_t total, int **counts, int **displs) {
  int R = comm_size();
  if (total % SHARD_ALIGN != 0)
    lola_die(LOLA_EXIT_RUNTIME, "shard: %lld floats is not a multiple of %d", (long long)total, SHARD_ALIGN);
  *counts = lola_malloc(sizeof(int) * (size_t)R, "shard counts");
  *displs = lola_malloc(sizeof(int) * (size_t)R, "shard displacements");
  for (int r = 0; r < R; r++) {
    int64_t lo, hi;
    shard_bounds(total, R, r, &lo, &hi);
    (*counts)[r] = (int)((hi - lo) / SHARD_ALIGN);
    (*displs)[r] = (int)(lo / SHARD_ALIGN);
  }
  MPI_Datatype unit;
  MPI_Type_contiguous(SHARD_ALIGN, MPI_FLOAT, &unit);
  MPI_Type_commit(&unit);
  return unit;
}

static void check(int rc, const char *what) {
  if (rc != MPI_SUCCESS) lola_die(LOLA_EXIT_RUNTIME, "weight %s failed (MPI error %d)", what, rc);
}

void shard_allgather(float *values, int64_t total) {
  int R = comm_size();
  if (R == 1) return;
  if (k_backend() == K_BACKEND_CUDA) {
    int64_t *lo = lola_malloc(sizeof(int64_t) * (size_t)R, "shard bounds"),
            *n = lola_malloc(sizeof(int64_t) * (size_t)R, "shard sizes");
    for (int r = 0; r < R; r++) {
      int64_t hi;
      shard_bounds(total, R, r, &lo[r], &hi);
      n[r] = hi - lo[r];
    }
    nccl_allgatherv_async(values, lo, n);
    nccl_join();
    free(lo), free(n);
    return;
  }
  int *counts, *displs;
  MPI_Datatype unit = shares(total, &counts, &displs);
  float *host = k_backend_host_address(values); /* the emulated device's memory is the host's */
  check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, host, counts, displs, unit, MPI_COMM_WORLD),
        "all-gather");
  MPI_Type_free(&unit);
  free(counts), free(displs);
}

void shard_gather_to_root(float *host, int64_t total) {
  int R = comm_size(), rank = comm_rank();
  if (R == 1) return;
  int *counts, *displs;
  MPI_Datatype unit = shares(total, &counts, &displs);
  if (rank == 0)
    check(MPI_Gatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, host, counts, displs, unit, 0, MPI_COMM_WORLD),
          "gather");
  else
    check(MPI_Gatherv(host + (int64_t)displs[rank] * SHARD_ALIGN, counts[rank], unit, NULL, NULL, NULL, unit,
                      0, MPI_COMM_WORLD),
          "gather");
  MPI_Type_free(&unit);
  free(counts), free(displs);
}
