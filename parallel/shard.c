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

int shard_owner(int64_t total, int ranks, int64_t index) {
  int64_t units = (total + SHARD_ALIGN - 1) / SHARD_ALIGN, per = (units + ranks - 1) / ranks;
  return (int)(index / (per * SHARD_ALIGN));
}

/* Every rank's share of `total` floats, in floats (lo, n) and in units of
 * SHARD_ALIGN floats (an MPI datatype of that many, so that int counts reach
 * 32 Gi floats); made once per total and rank count, not every step. */
typedef struct {
  int64_t total;
  int ranks;
  int64_t *lo, *n;
  int *counts, *displs;
  MPI_Datatype unit;
} share_layout;

static const share_layout *shares(int64_t total) {
  static share_layout L = {.total = -1};
  int R = comm_size();
  if (L.total == total && L.ranks == R) return &L;
  if (total % SHARD_ALIGN != 0)
    lola_die(LOLA_EXIT_RUNTIME, "shard: %lld floats is not a multiple of %d", (long long)total, SHARD_ALIGN);
  if (L.total >= 0) {
    free(L.lo), free(L.n), free(L.counts), free(L.displs);
    MPI_Type_free(&L.unit);
  }
  L.total = total;
  L.ranks = R;
  L.lo = lola_malloc(sizeof(int64_t) * (size_t)R, "shard bounds");
  L.n = lola_malloc(sizeof(int64_t) * (size_t)R, "shard sizes");
  L.counts = lola_malloc(sizeof(int) * (size_t)R, "shard counts");
  L.displs = lola_malloc(sizeof(int) * (size_t)R, "shard displacements");
  for (int r = 0; r < R; r++) {
    int64_t hi;
    shard_bounds(total, R, r, &L.lo[r], &hi);
    L.n[r] = hi - L.lo[r];
    L.counts[r] = (int)(L.n[r] / SHARD_ALIGN);
    L.displs[r] = (int)(L.lo[r] / SHARD_ALIGN);
  }
  MPI_Type_contiguous(SHARD_ALIGN, MPI_FLOAT, &L.unit);
  MPI_Type_commit(&L.unit);
  return &L;
}

static void check(int rc, const char *what) {
  if (rc != MPI_SUCCESS) lola_die(LOLA_EXIT_RUNTIME, "weight %s failed (MPI error %d)", what, rc);
}

void shard_allgather(float *values, int64_t total) {
  if (comm_size() == 1) return;
  const share_layout *L = shares(total);
  if (k_backend_on_device()) {
    nccl_allgatherv_async(values, L->lo, L->n);
    nccl_join();
    return;
  }
  check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, values, L->counts, L->displs, L->unit,
                       MPI_COMM_WORLD),
        "all-gather"); /* the CPU backend: host memory */
}

void shard_gather_to_root(float *host, int64_t total) {
  int rank = comm_rank();
  if (comm_size() == 1) return;
  const share_layout *L = shares(total);
  if (rank == 0)
    check(MPI_Gatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, host, L->counts, L->displs, L->unit, 0,
                      MPI_COMM_WORLD),
          "gather");
  else
    check(MPI_Gatherv(host + L->lo[rank], L->counts[rank], L->unit, NULL, NULL, NULL, L->unit, 0,
                      MPI_COMM_WORLD),
          "gather");
}
