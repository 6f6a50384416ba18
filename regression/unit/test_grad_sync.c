/* Gradient averaging overlapped with the backward (parallel/grad_sync.h): runs
 * announced in any order (a block's, several buckets long, adjacent, or none
 * at all) and the gaps between them end as the exact mean over ranks, on host
 * memory and behind the emulated device's addresses. Sharded (ZeRO-1), each
 * rank's own share ends as the mean, and the step guard's norm is that of the
 * whole mean gradient; a non-finite value in one rank's share makes every
 * rank skip. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/backend.h"
#include "../../parallel/comm.h"
#include "../../parallel/grad_sync.h"
#include "../../parallel/shard.h"
#include "harness.h"

/* rank r's gradient i: small integers, so the sum over ranks is exact in float */
static float grad_of(int rank, int64_t i) { return (float)((i * 7 + rank * 13) % 29) - 14.0f; }

static void check_mean_limited(k_backend_kind kind, bool announce, bool sharded, int request_limit) {
  k_backend_set(kind);
  param_registry r;
  params_init(&r, 8);
  const int64_t sizes[] = {1000, (int64_t)GRAD_SYNC_BUCKET + 777, 5, 40000, 3};
  for (int i = 0; i < 5; i++) {
    char name[16];
    snprintf(name, sizeof name, "p%d", i);
    params_add(&r, name, 1, &sizes[i]);
  }
  params_finalize(&r);
  params_to_device(&r);
  int rank = comm_rank(), size = comm_size();
  int64_t own_lo = 0, own_hi = r.total;
  if (sharded) {
    shard_bounds(r.total, size, rank, &own_lo, &own_hi);
    params_shard_moments(&r, own_lo, own_hi);
  }
  float *h = malloc((size_t)r.total * sizeof(float));
  for (int64_t i = 0; i < r.total; i++) h[i] = 0; /* the padding between parameters stays 0 */
  for (int e = 0; e < r.count; e++)
    for (int64_t i = r.entries[e].offset; i < r.entries[e].offset + r.entries[e].numel; i++)
      h[i] = grad_of(rank, i);
  k_upload(r.grads, h, (size_t)r.total * sizeof(float));
  grad_sync *g = calloc(1, sizeof *g);
  g->request_limit = request_limit;
  grad_sync_listen(g, &r);
  if (announce) { /* as a backward would: later parameters first, one run skipped (p2) */
    params_grads_final(&r, 3, 5);
    params_grads_final(&r, 1, 2);
    params_grads_final(&r, 0, 1);
  }
  grad_sync_finish(g, &r);
  CHECK(r.grads_final == NULL);
  k_download(h, r.grads, (size_t)r.total * sizeof(float));
  int64_t bad = 0, owned = 0;
  double squares = 0; /* of the whole mean gradient */
  for (int e = 0; e < r.count; e++)
    for (int64_t i = r.entries[e].offset; i < r.entries[e].offset + r.entries[e].numel; i++) {
      double want = 0;
      for (int q = 0; q < size; q++) want += grad_of(q, i);
      float mean = (float)want * (1.0f / (float)size); /* the exact sum, scaled as k_scal does */
      squares += (double)mean * mean;
      if (i < own_lo || i >= own_hi) { /* another rank's share: reduced to its owner, left as it was here */
        bad += h[i] != grad_of(rank, i);
        continue;
      }
      owned++;
      bad += h[i] != mean;
    }
  CHECK(bad == 0);
  CHECK(owned > 0 || sharded);
  k_step_state *state = k_device_alloc(sizeof *state, "step state"), st = {0};
  k_upload(state, &st, sizeof st);
  grad_sync_guard(&r, state);
  k_download(&st, state, sizeof st);
  CHECK(fabs(st.norm - sqrt(squares)) <= 1e-9 * sqrt(squares)); /* 4M terms summed in two orders */
  CHECK(st.steps == 1 && st.skipped == 0);
  /* a non-finite gradient in the last rank's share: every rank skips the step */
  int64_t last_lo, last_hi;
  shard_bounds(r.total, size, size - 1, &last_lo, &last_hi);
  if (rank == size - 1 || !sharded) {
    float inf = INFINITY;
    k_upload(r.grads + (sharded ? last_lo : 0), &inf, sizeof inf);
  }
  grad_sync_guard(&r, state);
  k_download(&st, state, sizeof st);
  CHECK(!isfinite(st.norm) && st.steps == 1 && st.skipped == 1);
  k_device_free(state);
  free(h);
  grad_sync_free(g);
  free(g);
  params_free(&r);
  k_backend_set(K_BACKEND_CPU);
}

static void check_mean(k_backend_kind kind, bool announce, bool sharded) {
  check_mean_limited(kind, announce, sharded, 0);
}

/* Two outstanding requests at most: most buckets are reduced at once, and
 * none of them twice. */
TEST_RANKS(grad_sync_out_of_request_slots_2ranks, 2) {
  check_mean_limited(K_BACKEND_CPU, true, false, 2);
  check_mean_limited(K_BACKEND_CPU, true, true, 2);
}

TEST_RANKS(grad_sync_out_of_request_slots_3ranks, 3) {
  check_mean_limited(K_BACKEND_CPU, true, false, 2);
  check_mean_limited(K_BACKEND_EMULATED, true, true, 3);
}

TEST_RANKS(grad_sync_mean_2ranks, 2) {
  check_mean(K_BACKEND_CPU, true, false);
  check_mean(K_BACKEND_CPU, false, false);
  check_mean(K_BACKEND_EMULATED, true, false);
}

TEST_RANKS(grad_sync_mean_3ranks, 3) {
  check_mean(K_BACKEND_CPU, true, false);
  check_mean(K_BACKEND_EMULATED, true, false);
}

TEST(grad_sync_one_rank_leaves_gradients) { check_mean(K_BACKEND_CPU, true, false); }

TEST_RANKS(grad_sync_sharded_reduces_to_owners_2ranks, 2) {
  check_mean(K_BACKEND_CPU, true, true);
  check_mean(K_BACKEND_CPU, false, true);
  check_mean(K_BACKEND_EMULATED, true, true);
}

TEST_RANKS(grad_sync_sharded_reduces_to_owners_3ranks, 3) {
  check_mean(K_BACKEND_CPU, true, true);
  check_mean(K_BACKEND_EMULATED, false, true);
}
