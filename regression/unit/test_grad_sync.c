/* Gradient averaging overlapped with the backward (parallel/grad_sync.h): runs
 * announced in any order (a block's, several buckets long, adjacent, or none
 * at all) and the gaps between them end as the exact mean over ranks, on host
 * memory and behind the emulated device's addresses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/backend.h"
#include "../../parallel/comm.h"
#include "../../parallel/grad_sync.h"
#include "harness.h"

/* rank r's gradient i: small integers, so the sum over ranks is exact in float */
static float grad_of(int rank, int64_t i) { return (float)((i * 7 + rank * 13) % 29) - 14.0f; }

static void check_mean(k_backend_kind kind, bool announce) {
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
  float *h = malloc((size_t)r.total * sizeof(float));
  for (int64_t i = 0; i < r.total; i++) h[i] = grad_of(rank, i);
  k_upload(r.grads, h, (size_t)r.total * sizeof(float));
  grad_sync *g = calloc(1, sizeof *g);
  grad_sync_listen(g, &r);
  if (announce) { /* as a backward would: later parameters first, one run skipped (p2) */
    params_grads_final(&r, 3, 5);
    params_grads_final(&r, 1, 2);
    params_grads_final(&r, 0, 1);
  }
  grad_sync_finish(g, &r);
  CHECK(r.grads_final == NULL);
  k_download(h, r.grads, (size_t)r.total * sizeof(float));
  int64_t bad = 0;
  for (int e = 0; e < r.count; e++)
    for (int64_t i = r.entries[e].offset; i < r.entries[e].offset + r.entries[e].numel; i++) {
      double want = 0;
      for (int q = 0; q < size; q++) want += grad_of(q, i);
      bad += h[i] != (float)(want / size) && h[i] != (float)want * (1.0f / (float)size);
    }
  CHECK(bad == 0);
  free(h);
  free(g);
  params_free(&r);
  k_backend_set(K_BACKEND_CPU);
}

TEST_RANKS(grad_sync_mean_2ranks, 2) {
  check_mean(K_BACKEND_CPU, true);
  check_mean(K_BACKEND_CPU, false);
  check_mean(K_BACKEND_EMULATED, true);
}

TEST_RANKS(grad_sync_mean_3ranks, 3) {
  check_mean(K_BACKEND_CPU, true);
  check_mean(K_BACKEND_EMULATED, true);
}

TEST(grad_sync_one_rank_leaves_gradients) { check_mean(K_BACKEND_CPU, true); }
