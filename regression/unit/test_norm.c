/* Normalisations against double-precision loops written here, and their
 * backward against central finite differences of those loops. */
#include <stdlib.h>

#include "../../kernels/norm.h"
#include "gradcheck.h"
#include "harness.h"

typedef enum { LN_CHANNELS, LN_LAST, RMS_LAST, GROUP } norm_kind;

typedef struct {
  norm_kind kind;
  int64_t b, c, p, g; /* (B, C, P) channel-first, or (rows = b, dim = c) for the last-dim norms */
  const double *dy;
  double *y;
} norm_ctx;

static int64_t norm_numel(const norm_ctx *n) {
  return n->kind == LN_LAST || n->kind == RMS_LAST ? n->b * n->c : n->b * n->c * n->p;
}

/* Normalise the `count` values x[i·stride], i < count, into y (same stride). */
static void ref_set(double *y, const double *x, int64_t count, int64_t stride, int centre, int unbiased) {
  double mean = 0, ss = 0;
  if (centre) {
    for (int64_t i = 0; i < count; i++) mean += x[i * stride];
    mean /= count;
  }
  for (int64_t i = 0; i < count; i++) ss += (x[i * stride] - mean) * (x[i * stride] - mean);
  double var = ss / (unbiased ? count - 1 : count);
  for (int64_t i = 0; i < count; i++) y[i * stride] = (x[i * stride] - mean) / sqrt(var + 1e-5);
}

static void ref_norm(double *y, const double *x, const norm_ctx *n) {
  switch (n->kind) {
    case LN_CHANNELS:
      for (int64_t b = 0; b < n->b; b++)
        for (int64_t p = 0; p < n->p; p++)
          ref_set(y + b * n->c * n->p + p, x + b * n->c * n->p + p, n->c, n->p, 1, 1);
      break;
    case LN_LAST:
    case RMS_LAST:
      for (int64_t r = 0; r < n->b; r++) ref_set(y + r * n->c, x + r * n->c, n->c, 1, n->kind == LN_LAST, 0);
      break;
    case GROUP: {
      int64_t per = n->c / n->g * n->p;
      for (int64_t s = 0; s < n->b * n->g; s++) ref_set(y + s * per, x + s * per, per, 1, 1, 0);
      break;
    }
  }
}

static double norm_objective(const double *x, void *vctx) {
  norm_ctx *n = vctx;
  ref_norm(n->y, x, n);
  double s = 0;
  for (int64_t i = 0; i < norm_numel(n); i++) s += n->dy[i] * n->y[i];
  return s;
}

static void run_kernel_fwd(const norm_ctx *n, float *y, float *rstd, const float *x) {
  switch (n->kind) {
    case LN_CHANNELS:
      k_layernorm_channels_fwd(y, rstd, x, n->b, n->c, n->p);
      break;
    case LN_LAST:
      k_layernorm_fwd(y, rstd, x, n->b, n->c);
      break;
    case RMS_LAST:
      k_rmsnorm_fwd(y, rstd, x, n->b, n->c);
      break;
    case GROUP:
      k_groupnorm_fwd(y, rstd, x, n->b, n->c, n->g, n->p);
      break;
  }
}

static void run_kernel_bwd(const norm_ctx *n, float *dx, const float *dy, const float *y, const float *rstd) {
  switch (n->kind) {
    case LN_CHANNELS:
      k_layernorm_channels_bwd(dx, dy, y, rstd, n->b, n->c, n->p);
      break;
    case LN_LAST:
      k_layernorm_bwd(dx, dy, y, rstd, n->b, n->c);
      break;
    case RMS_LAST:
      k_rmsnorm_bwd(dx, dy, y, rstd, n->b, n->c);
      break;
    case GROUP:
      k_groupnorm_bwd(dx, dy, y, rstd, n->b, n->c, n->g, n->p);
      break;
  }
}

static void check_norm(norm_ctx n, unsigned seed, double offset) {
  int64_t count = norm_numel(&n);
  double *x = malloc((size_t)count * 8), *dy = malloc((size_t)count * 8), *y = malloc((size_t)count * 8);
  double *grad = malloc((size_t)count * 8);
  float *xf = malloc((size_t)count * 4), *dyf = malloc((size_t)count * 4), *yf = malloc((size_t)count * 4);
  float *dxf = malloc((size_t)count * 4), *rstd = malloc((size_t)count * 4);
  fill_uniform(xf, (size_t)count, seed);
  fill_uniform(dyf, (size_t)count, seed + 1);
  for (int64_t i = 0; i < count; i++) xf[i] += (float)offset, x[i] = xf[i], dy[i] = dyf[i];
  n.dy = dy, n.y = y;
  ref_norm(y, x, &n);
  run_kernel_fwd(&n, yf, rstd, xf);
  CHECK(max_scaled_error(yf, y, (size_t)count, 1e-5, 1e-5) <= 1);
  fd_gradient(norm_objective, x, (size_t)count, &n, 1e-4, grad);
  for (int64_t i = 0; i < count; i++) dxf[i] = 99.0f; /* overwritten */
  run_kernel_bwd(&n, dxf, dyf, yf, rstd);
  CHECK(max_scaled_error(dxf, grad, (size_t)count, 1e-4, 1e-4) <= 1);
  free(x), free(dy), free(y), free(grad), free(xf), free(dyf), free(yf), free(dxf), free(rstd);
}

TEST(layernorm_channels_uses_unbiased_variance_and_gradients) {
  /* (B, C, P) with P spanning more than one lane block and odd sizes. */
  check_norm((norm_ctx){.kind = LN_CHANNELS, .b = 2, .c = 5, .p = 37}, 41, 0.0);
  check_norm((norm_ctx){.kind = LN_CHANNELS, .b = 1, .c = 3, .p = 7}, 42, 2.0);
  /* Hand check: channels {1, 2, 3} → mean 2, unbiased var 1 → y = ±1/sqrt(1 + 1e-5), 0. */
  float x[3] = {1, 2, 3}, y[3], r;
  k_layernorm_channels_fwd(y, &r, x, 1, 3, 1);
  CHECK_NEAR(y[0], -1.0 / sqrt(1.0 + 1e-5), 1e-6);
  CHECK_NEAR(y[1], 0.0, 1e-7);
  CHECK_NEAR(y[2], 1.0 / sqrt(1.0 + 1e-5), 1e-6);
}

TEST(layernorm_last_dim_biased_and_gradients) {
  check_norm((norm_ctx){.kind = LN_LAST, .b = 6, .c = 17}, 43, 0.5);
  float x[3] = {1, 2, 3}, y[3], r;
  k_layernorm_fwd(y, &r, x, 1, 3); /* biased var 2/3 */
  CHECK_NEAR(y[2], 1.0 / sqrt(2.0 / 3.0 + 1e-5), 1e-6);
}

TEST(rmsnorm_last_dim_and_gradients) {
  check_norm((norm_ctx){.kind = RMS_LAST, .b = 5, .c = 16}, 44, 0.3);
  check_norm((norm_ctx){.kind = RMS_LAST, .b = 3, .c = 9}, 45, 0.0);
  float x[2] = {3, 4}, y[2], r;
  k_rmsnorm_fwd(y, &r, x, 1, 2); /* mean square 12.5 */
  CHECK_NEAR(y[1], 4.0 / sqrt(12.5 + 1e-5), 1e-6);
  CHECK_NEAR(r, 1.0 / sqrt(12.5 + 1e-5), 1e-7);
}

TEST(groupnorm_and_gradients) {
  check_norm((norm_ctx){.kind = GROUP, .b = 2, .c = 6, .p = 5, .g = 3}, 46, 0.0);
  check_norm((norm_ctx){.kind = GROUP, .b = 1, .c = 4, .p = 9, .g = 4}, 47, 1.0);
  lola_error_trap trap;
  float x[6] = {0}, y[6];
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_RUNTIME, k_groupnorm_fwd(y, NULL, x, 1, 3, 2, 2)));
}
