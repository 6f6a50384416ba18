#include "grad_sync.h"

#include <stdlib.h>

#include "../kernels/backend.h"
#include "../kernels/vector.h"
#include "../src/error.h"
#include "comm.h"
#include "nccl_comm.h"
#include "shard.h"

static void check(int rc, const char *what) {
  if (rc != MPI_SUCCESS) lola_die(LOLA_EXIT_RUNTIME, "gradient %s failed (MPI error %d)", what, rc);
}

/* The owners' pieces of grads[off, off + n) when sharded: piece k is
 * [lo[k], lo[k] + len[k]) of rank root[k]. Returns the count (the whole
 * bucket to every rank, count 1 with root -1, when not sharded). */
static int pieces(const param_registry *p, int64_t off, int64_t n, int64_t *lo, int64_t *len, int *root) {
  if (!p->sharded) {
    lo[0] = off, len[0] = n, root[0] = -1;
    return 1;
  }
  int R = comm_size(), count = 0;
  for (int r = shard_owner(p->total, R, off); r <= shard_owner(p->total, R, off + n - 1); r++) {
    int64_t a, b;
    shard_bounds(p->total, R, r, &a, &b);
    a = a > off ? a : off;
    b = b < off + n ? b : off + n;
    if (b > a) lo[count] = a, len[count] = b - a, root[count++] = r;
  }
  return count;
}

/* Reduce grads[off, off + n), one bucket: started in the background, or
 * blocking when the request slots are used up (`now`). */
static void reduce_bucket(grad_sync *g, int64_t off, int64_t n, bool now) {
  param_registry *p = g->params;
  if (!g->piece_root) {
    size_t R = (size_t)comm_size();
    g->piece_lo = lola_malloc(sizeof(int64_t) * R, "gradient pieces");
    g->piece_len = lola_malloc(sizeof(int64_t) * R, "gradient pieces");
    g->piece_root = lola_malloc(sizeof(int) * R, "gradient pieces");
  }
  int64_t *lo = g->piece_lo, *len = g->piece_len;
  int *root = g->piece_root;
  int count = pieces(p, off, n, lo, len, root);
  if (k_backend_on_device()) { /* averaged by NCCL (ncclAvg), or its MPI stand-in on the emulated device */
    if (p->sharded)
      nccl_reduce_mean_async(p->grads, lo, len, root, count);
    else
      nccl_allreduce_mean_async(p->grads + off, n);
    return;
  }
  float *host = p->grads; /* the CPU backend: host memory */
  int me = comm_rank();
  for (int k = 0; k < count; k++) {
    float *at = host + lo[k];
    void *send = root[k] == me ? MPI_IN_PLACE : at;
    if (now && root[k] < 0)
      check(MPI_Allreduce(MPI_IN_PLACE, at, (int)len[k], MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "all-reduce");
    else if (now)
      check(MPI_Reduce(send, at, (int)len[k], MPI_FLOAT, MPI_SUM, root[k], MPI_COMM_WORLD), "reduce");
    else if (root[k] < 0)
      check(MPI_Iallreduce(MPI_IN_PLACE, at, (int)len[k], MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                           &g->req[g->requests++]),
            "all-reduce start");
    else
      check(MPI_Ireduce(send, at, (int)len[k], MPI_FLOAT, MPI_SUM, root[k], MPI_COMM_WORLD,
                        &g->req[g->requests++]),
            "reduce start");
  }
}

/* Start the reduction of grads[lo, lo + count), bucket by bucket. Every
 * bucket is recorded, reduced at once or not, so that grad_sync_finish
 * reduces only what nobody did. */
static void start(grad_sync *g, int64_t lo, int64_t count) {
  const int most = g->params->sharded ? comm_size() : 1; /* requests one bucket may take */
  for (int64_t off = lo; off < lo + count; off += GRAD_SYNC_BUCKET) {
    int64_t n = lo + count - off < GRAD_SYNC_BUCKET ? lo + count - off : GRAD_SYNC_BUCKET;
    if (g->started == g->span_capacity) {
      g->span_capacity = g->span_capacity ? 2 * g->span_capacity : 256;
      g->span = lola_realloc(g->span, sizeof g->span[0] * (size_t)g->span_capacity, "gradient buckets");
    }
    g->span[g->started][0] = off;
    g->span[g->started][1] = n;
    g->started++;
    const int limit =
        g->request_limit > 0 && g->request_limit < GRAD_SYNC_MAX ? g->request_limit : GRAD_SYNC_MAX;
    reduce_bucket(g, off, n, g->requests + most > limit);
  }
  if (!k_backend_on_device()) { /* let the library move the earlier buckets along */
    int done;
    check(MPI_Testall(g->requests, g->req, &done, MPI_STATUSES_IGNORE), "gradient progress");
  }
}

static void on_final(void *user, int64_t offset, int64_t count) { start(user, offset, count); }

void grad_sync_listen(grad_sync *g, param_registry *params) {
  g->params = params;
  g->started = 0;
  g->requests = 0;
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
  if (n > 1) qsort(g->span, (size_t)n, sizeof g->span[0], by_offset);
  int64_t at = 0;
  for (int i = 0; i <= n; i++) {
    int64_t next = i < n ? g->span[i][0] : params->total;
    if (next > at) start(g, at, next - at);
    if (i < n) at = g->span[i][0] + g->span[i][1];
  }
  if (k_backend_on_device()) {
    nccl_join(); /* NCCL averaged (ncclAvg) */
  } else {
    check(MPI_Waitall(g->requests, g->req, MPI_STATUSES_IGNORE), "gradient wait");
    int64_t lo = params->sharded ? params->shard_lo : 0,
            hi = params->sharded ? params->shard_hi : params->total;
    k_scal(params->grads + lo, 1.0f / (float)comm_size(), hi - lo);
  }
  g->started = 0;
  g->requests = 0;
}

void grad_sync_guard(const param_registry *params, k_step_state *state) {
  if (!params->sharded || comm_size() == 1) {
    k_step_guard(params->grads, params->total, state);
    return;
  }
  k_step_guard_sum(params->grads + params->shard_lo, params->shard_hi - params->shard_lo, state);
  if (k_backend_on_device()) {
    nccl_allreduce_sum_double_async(&state->norm);
    nccl_join();
  } else {
    check(MPI_Allreduce(MPI_IN_PLACE, &state->norm, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "norm sum");
  }
  k_step_guard_finish(state);
}

void grad_sync_free(grad_sync *g) {
  free(g->span), free(g->piece_lo), free(g->piece_len), free(g->piece_root);
  g->span = NULL;
  g->span_capacity = 0;
  g->piece_lo = g->piece_len = NULL;
  g->piece_root = NULL;
}
