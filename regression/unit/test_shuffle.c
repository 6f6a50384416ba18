/* Patchify / Unpatchify against hand-worked einops examples and against a
 * reference that walks the patched tensor (the kernel walks the full one). */
#include <stdlib.h>
#include <string.h>

#include "../../kernels/shuffle.h"
#include "gradcheck.h"
#include "harness.h"

TEST(patchify_2d_hand_examples_both_orderings) {
  /* x (1, 1, 2, 4) = [[0 1 2 3], [4 5 6 7]], patch 2x2. */
  float x[8] = {0, 1, 2, 3, 4, 5, 6, 7}, y[8], back[8];
  k_patch_shape s = {.batch = 1, .channels = 1, .dims = 2, .in = {2, 4}, .patch = {2, 2}};
  k_patchify_fwd(y, x, &s); /* "C (H h) (W w) -> (C h w) H W" */
  float first[8] = {0, 2, 1, 3, 4, 6, 5, 7};
  CHECK(memcmp(y, first, sizeof y) == 0);
  k_unpatchify_fwd(back, y, &s);
  CHECK(memcmp(back, x, sizeof x) == 0);
  s.channel_last = true; /* "C (H h) (W w) -> H W (C h w)" */
  k_patchify_fwd(y, x, &s);
  float last[8] = {0, 1, 4, 5, 2, 3, 6, 7};
  CHECK(memcmp(y, last, sizeof y) == 0);
  k_unpatchify_fwd(back, y, &s);
  CHECK(memcmp(back, x, sizeof x) == 0);
}

/* y[patched] from the patched side: decode every patched index. */
static void ref_patchify(double *y, const double *x, const k_patch_shape *s) {
  int64_t in[3] = {1, 1, 1}, p[3] = {1, 1, 1};
  for (int d = 0; d < s->dims; d++) in[3 - s->dims + d] = s->in[d], p[3 - s->dims + d] = s->patch[d];
  int64_t gr[3] = {in[0] / p[0], in[1] / p[1], in[2] / p[2]};
  int64_t cp = s->channels * p[0] * p[1] * p[2], cells = gr[0] * gr[1] * gr[2];
  for (int64_t i = 0; i < s->batch * cp * cells; i++) {
    int64_t b, ch, cell;
    if (s->channel_last)
      ch = i % cp, cell = (i / cp) % cells, b = i / (cp * cells);
    else
      cell = i % cells, ch = (i / cells) % cp, b = i / (cp * cells);
    int64_t q2 = ch % p[2], q1 = (ch / p[2]) % p[1], q0 = (ch / (p[2] * p[1])) % p[0],
            c = ch / (p[0] * p[1] * p[2]);
    int64_t g2 = cell % gr[2], g1 = (cell / gr[2]) % gr[1], g0 = cell / (gr[2] * gr[1]);
    int64_t z0 = g0 * p[0] + q0, z1 = g1 * p[1] + q1, z2 = g2 * p[2] + q2;
    y[i] = x[(((b * s->channels + c) * in[0] + z0) * in[1] + z1) * in[2] + z2];
  }
}

typedef struct {
  const k_patch_shape *s;
  const double *dy;
  double *y;
  int64_t n;
} shuffle_ctx;

static double shuffle_objective(const double *x, void *vctx) {
  shuffle_ctx *c = vctx;
  ref_patchify(c->y, x, c->s);
  double t = 0;
  for (int64_t i = 0; i < c->n; i++) t += c->dy[i] * c->y[i];
  return t;
}

static void check_shuffle(const k_patch_shape *s, unsigned seed) {
  int64_t n = s->batch * s->channels;
  for (int d = 0; d < s->dims; d++) n *= s->in[d];
  float *x = malloc((size_t)n * 4), *y = malloc((size_t)n * 4), *back = malloc((size_t)n * 4);
  float *dyf = malloc((size_t)n * 4), *dx = malloc((size_t)n * 4);
  double *xd = malloc((size_t)n * 8), *yd = malloc((size_t)n * 8), *dy = malloc((size_t)n * 8);
  double *grad = malloc((size_t)n * 8);
  fill_uniform(x, (size_t)n, seed), fill_uniform(dyf, (size_t)n, seed + 1);
  for (int64_t i = 0; i < n; i++) xd[i] = x[i], dy[i] = dyf[i];
  ref_patchify(yd, xd, s);
  k_patchify_fwd(y, x, s);
  CHECK(max_scaled_error(y, yd, (size_t)n, 1e-30, 0) == 0); /* a permutation: exact */
  k_unpatchify_fwd(back, y, s);
  CHECK(memcmp(back, x, (size_t)n * 4) == 0);
  shuffle_ctx ctx = {s, dy, yd, n};
  fd_gradient(shuffle_objective, xd, (size_t)n, &ctx, 1e-3, grad);
  k_patchify_bwd(dx, dyf, s);
  CHECK(max_scaled_error(dx, grad, (size_t)n, 1e-9, 1e-9) <= 1);
  /* unpatchify's backward is patchify: <unpatchify(y), g> = <y, patchify(g)>. */
  k_unpatchify_bwd(dx, dyf, s);
  k_unpatchify_fwd(back, y, s);
  double lhs = 0, rhs = 0;
  for (int64_t i = 0; i < n; i++) lhs += (double)back[i] * dyf[i], rhs += (double)y[i] * dx[i];
  CHECK_NEAR(lhs, rhs, 1e-9 * n);
  free(x), free(y), free(back), free(dyf), free(dx), free(xd), free(yd), free(dy), free(grad);
}

TEST(patchify_matches_reference_2d_3d_1d_both_orderings) {
  for (int last = 0; last < 2; last++) {
    k_patch_shape s2 = {
        .batch = 2, .channels = 3, .dims = 2, .in = {4, 6}, .patch = {2, 3}, .channel_last = last};
    check_shuffle(&s2, 51);
    k_patch_shape s3 = {
        .batch = 2, .channels = 2, .dims = 3, .in = {2, 4, 6}, .patch = {1, 2, 3}, .channel_last = last};
    check_shuffle(&s3, 52);
    k_patch_shape s1 = {.batch = 1, .channels = 3, .dims = 1, .in = {8}, .patch = {4}, .channel_last = last};
    check_shuffle(&s1, 53);
  }
}

TEST(patchify_rejects_indivisible_extent) {
  lola_error_trap trap;
  float x[10], y[10];
  k_patch_shape s = {.batch = 1, .channels = 1, .dims = 2, .in = {2, 5}, .patch = {2, 2}};
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_RUNTIME, k_patchify_fwd(y, x, &s)));
  CHECK(strstr(trap.message, "multiple") != NULL);
}
