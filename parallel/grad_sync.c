#include "grad_sync.h"

#include <stdlib.h>

#include "../kernels/backend.h"
#include "../kernels/vector.h"
#include "../src/error.h"
#include "comm.h"
#include "nccl_comm.h"

static void check(int rc, const char *what) {
  if (rc != MPI_SUCCESS) lola_die(LOLA_EXIT_RUNTIME, "gradient %s failed (MPI error %d)", what, rc);
}

/* Reduce grads[lo, lo + count) now (out of request slots). */
static void reduce_now(const grad_sync *g, int64_t lo, int64_t count) {
  for (int64_t off = lo; off < lo + count; off += GRAD_SYNC_BUCKET) {
    int64_t n = lo + count - off < GRAD_SYNC_BUCKET ? lo + count - off : GRAD_SYNC_BUCKET;
    if (k_backend() == K_BACKEND_CUDA) {
      nccl_allreduce_mean_async(g->params->grads + off, n);
    } else {
      float *host = k_backend_host_address(g->params->grads);
      check(MPI_Allreduce(MPI_IN_PLACE, host + off, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD),
            "all-reduce");
    }
  }
}

/* Start the all-reduce of grads[lo, lo + count), bucket by bucket. */
static void start(grad_sync *g, int64_t lo, int64_t count) {
  for (int64_t off = lo; off < lo + count; off += GRAD_SYNC_BUCKET) {
    int64_t n = lo + count - off < GRAD_SYNC_BUCKET ? lo + count - off : GRAD_SYNC_BUCKET;
    if (g->started == GRAD_SYNC_MAX) {
      reduce_now(g, off, lo + count - off);
      return;
    }
    int i = g->started++;
    g->span[i][0] = off;
    g->span[i][1] = n;
    g->req[i] = MPI_REQUEST_NULL;
    if (k_backend() == K_BACKEND_CUDA) {
      nccl_allreduce_mean_async(g->params->grads + off, n);
    } else { /* host memory, or the memory behind the emulated device's addresses */
      float *host = k_backend_host_address(g->params->grads);
      check(MPI_Iallreduce(MPI_IN_PLACE, host + off, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &g->req[i]),
            "all-reduce start");
    }
  }
  if (k_backend() != K_BACKEND_CUDA) { /* let the library move the earlier buckets along */
    int done;
    check(MPI_Testall(g->started, g->req, &done, MPI_STATUSES_IGNORE), "all-reduce progress");
  }
}

static void on_final(void *user, int64_t offset, int64_t count) { start(user, offset, count); }

void grad_sync_listen(grad_sync *g, param_registry *params) {
  g->params = params;
  g->started = 0;
  if (comm_size() == 1) return;
  params->grads_final = on_final;
  params->grads_final_user = g;
}

static int by_offset(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

void grad_sync_finish(grad_sync *g, param_registry *params) {
  params->grads_final = NULL;
  params->grads_final_user = NULL;
  if (comm_size() == 1) return;
  g->params = params; /* started is 0 when nothing was announced: all of it now */
  /* The gaps between the buckets started, in offset order, then the wait. */
  int n = g->started; /* the buckets started below come after these: sorting leaves them alone */
  qsort(g->span, (size_t)n, sizeof g->span[0], by_offset);
  int64_t at = 0;
  for (int i = 0; i <= n; i++) {
    int64_t next = i < n ? g->span[i][0] : params->total;
    if (next > at) start(g, at, next - at);
    if (i < n) at = g->span[i][0] + g->span[i][1];
  }
  if (k_backend() == K_BACKEND_CUDA) {
    nccl_join(); /* NCCL averaged (ncclAvg) */
  } else {
    check(MPI_Waitall(g->started, g->req, MPI_STATUSES_IGNORE), "all-reduce wait");
    k_scal(params->grads, 1.0f / (float)comm_size(), params->total);
  }
  g->started = 0;
}
