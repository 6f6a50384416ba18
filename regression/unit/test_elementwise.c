/* Pointwise ops, modulation, residual mixing, dropout, concatenation and
 * layout changes: forward values against double formulas, backward against
 * central finite differences or exact adjoint identities. */
#include <stdlib.h>
#include <string.h>

#include "../../kernels/cpu/fast_exp.h"
#include "../../kernels/kernels.h"
#include "gradcheck.h"
#include "harness.h"

/* ---- pointwise activations ---- */

typedef struct {
  int kind; /* -1: SiLU, else a k_saturation */
  const double *dy;
} pointwise_case;

static double pointwise_ref(int kind, double x) {
  switch (kind) {
    case -1:
      return x / (1.0 + exp(-x));
    case K_SAT_NONE:
      return x;
    case K_SAT_SOFTCLIP:
      return x / (1.0 + fabs(x) / 5.0);
    case K_SAT_SOFTCLIP2:
      return x / sqrt(1.0 + (x / 5.0) * (x / 5.0));
    case K_SAT_TANH:
      return 5.0 * tanh(x / 5.0);
    case K_SAT_ARCSINH:
      return log(x + sqrt(x * x + 1.0));
  }
  return NAN;
}

enum { PW_N = 37 };

static double pointwise_objective(const double *x, void *ctx) {
  const pointwise_case *c = ctx;
  double f = 0.0;
  for (int i = 0; i < PW_N; i++) f += c->dy[i] * pointwise_ref(c->kind, x[i]);
  return f;
}

static void check_pointwise(int kind) {
  float x[PW_N], y[PW_N], dyf[PW_N], dx[PW_N];
  double xd[PW_N], dy[PW_N], fd[PW_N], want[PW_N];
  fill_uniform(x, PW_N, 11);
  fill_uniform(dyf, PW_N, 12);
  for (int i = 0; i < PW_N; i++) {
    x[i] *= 12.0f; /* reach well into the saturated range */
    xd[i] = x[i];
    dy[i] = dyf[i];
    want[i] = pointwise_ref(kind, xd[i]);
  }
  if (kind < 0)
    k_silu_fwd(y, x, PW_N);
  else
    k_saturate_fwd(y, x, PW_N, (k_saturation)kind);
  CHECK(max_scaled_error(y, want, PW_N, 1e-6, 1e-6) <= 1.0);
  if (kind < 0)
    k_silu_bwd(dx, dyf, x, PW_N);
  else
    k_saturate_bwd(dx, dyf, x, PW_N, (k_saturation)kind);
  pointwise_case c = {kind, dy};
  fd_gradient(pointwise_objective, xd, PW_N, &c, 1e-4, fd);
  CHECK(max_scaled_error(dx, fd, PW_N, 1e-6, 1e-4) <= 1.0);
}

TEST(silu_and_saturations_match_formulas_and_finite_differences) {
  check_pointwise(-1);
  for (int kind = K_SAT_NONE; kind <= K_SAT_ARCSINH; kind++) check_pointwise(kind);
}

TEST(saturations_hand_values) {
  float x[3] = {5.0f, -5.0f, 0.0f}, y[3];
  k_saturate_fwd(y, x, 3, K_SAT_SOFTCLIP2);
  CHECK_NEAR(y[0], 5.0 / sqrt(2.0), 1e-6); /* z/sqrt(1+(z/5)²) at z = 5 */
  CHECK_NEAR(y[1], -5.0 / sqrt(2.0), 1e-6);
  CHECK_NEAR(y[2], 0.0, 0);
  k_saturate_fwd(y, x, 3, K_SAT_SOFTCLIP);
  CHECK_NEAR(y[0], 2.5, 1e-6);
  CHECK(k_saturation_from_name("softclip2") == K_SAT_SOFTCLIP2);
  CHECK(k_saturation_from_name("arcsinh") == K_SAT_ARCSINH);
  CHECK(k_saturation_from_name("rmsnorm") == -1); /* a normalisation, not a pointwise op */
}

TEST(vector_exp_is_accurate_saturates_and_keeps_nan) {
  double worst = 0.0;
  for (double x0 = -87.0; x0 < 88.7; x0 += 4 * 0.00731) {
    v4f x = {(float)x0, (float)(x0 + 0.00731), (float)(x0 + 2 * 0.00731), (float)(x0 + 3 * 0.00731)};
    v4f e = v4_expf(x);
    for (int k = 0; k < 4; k++) worst = fmax(worst, fabs(e[k] - exp((double)x[k])) / exp((double)x[k]));
  }
  CHECK(worst < 2e-7);
  v4f edge = v4_expf((v4f){-1000.0f, 1000.0f, NAN, 0.0f}),
      near = v4_expf((v4f){-100.0f, 88.75f, -87.0f, 88.5f});
  CHECK(edge[0] >= 0.0f && edge[0] < 1e-44f);
  CHECK(isinf(edge[1]) && edge[1] > 0);
  CHECK(isnan(edge[2])); /* a NaN activation must reach the gradient-norm check */
  CHECK(edge[3] == 1.0f);
  CHECK_REL(near[0], exp(-100.0), 1e-2); /* subnormal: fewer digits */
  CHECK(isinf(near[1]));
  CHECK_REL(near[2], exp(-87.0), 2e-7);
  CHECK_REL(near[3], exp(88.5), 2e-7);
}

/* ---- modulation and residual mixing ---- */

typedef struct {
  int64_t B, C, S, vstride;
  k_layout layout;
  const double *dy;
} channel_case;

static int64_t at(const channel_case *c, int64_t b, int64_t ch, int64_t s) {
  return c->layout == K_CHANNEL_FIRST ? (b * c->C + ch) * c->S + s : (b * c->S + s) * c->C + ch;
}

static int64_t vectors(const channel_case *c) { return c->vstride ? c->B * c->C : c->C; }

/* θ = [x, scale, shift]. */
static double modulate_objective(const double *t, void *ctx) {
  const channel_case *c = ctx;
  int64_t n = c->B * c->C * c->S;
  const double *x = t, *scale = t + n, *shift = scale + vectors(c);
  double f = 0.0;
  for (int64_t b = 0; b < c->B; b++)
    for (int64_t ch = 0; ch < c->C; ch++)
      for (int64_t s = 0; s < c->S; s++) {
        int64_t i = at(c, b, ch, s), v = b * c->vstride + ch;
        f += c->dy[i] * ((1.0 + scale[v]) * x[i] + shift[v]);
      }
  return f;
}

/* θ = [x, r, c]. */
static double mix_objective(const double *t, void *ctx) {
  const channel_case *c = ctx;
  int64_t n = c->B * c->C * c->S;
  const double *x = t, *r = t + n, *cv = r + n;
  double f = 0.0;
  for (int64_t b = 0; b < c->B; b++)
    for (int64_t ch = 0; ch < c->C; ch++)
      for (int64_t s = 0; s < c->S; s++) {
        int64_t i = at(c, b, ch, s);
        double k = cv[b * c->vstride + ch];
        f += c->dy[i] * (x[i] + k * r[i]) / sqrt(1.0 + k * k);
      }
  return f;
}

static void check_channel_ops(int64_t B, int64_t C, int64_t S, bool shared, k_layout layout) {
  channel_case c = {B, C, S, shared ? 0 : C, layout, NULL};
  int64_t n = B * C * S, nv = vectors(&c), nt = 2 * n + nv;
  double *t = malloc((size_t)nt * sizeof *t), *fd = malloc((size_t)nt * sizeof *fd),
         *dy = malloc((size_t)n * sizeof *dy);
  double *want = malloc((size_t)n * sizeof *want);
  float *p = malloc((size_t)nt * sizeof *p), *g = malloc((size_t)nt * sizeof *g),
        *y = malloc((size_t)n * sizeof *y);
  float *dyf = malloc((size_t)n * sizeof *dyf);
  fill_uniform(p, (size_t)nt, (unsigned)(B * 1000 + C * 10 + S + shared));
  fill_uniform(dyf, (size_t)n, 3);
  for (int64_t i = 0; i < nt; i++) t[i] = p[i];
  for (int64_t i = 0; i < n; i++) dy[i] = dyf[i];
  c.dy = dy;

  /* Modulation: θ = [x, scale, shift] occupies n + 2·nv entries. */
  int64_t nm = n + 2 * nv;
  const float *x = p, *scale = p + n, *shift = p + n + nv;
  k_modulate_fwd(y, x, scale, shift, c.vstride, B, C, S, layout);
  for (int64_t b = 0; b < B; b++)
    for (int64_t ch = 0; ch < C; ch++)
      for (int64_t s = 0; s < S; s++) {
        int64_t i = at(&c, b, ch, s), v = b * c.vstride + ch;
        want[i] = (1.0 + t[n + v]) * t[i] + t[n + nv + v];
      }
  CHECK(max_scaled_error(y, want, (size_t)n, 1e-6, 1e-6) <= 1.0);
  for (int64_t i = 0; i < n; i++) g[i] = 1e30f;
  for (int64_t i = n; i < nm; i++) g[i] = 0.25f;
  k_modulate_bwd(g, g + n, g + n + nv, dyf, x, scale, c.vstride, B, C, S, layout);
  fd_gradient(modulate_objective, t, (size_t)nm, &c, 1e-3, fd);
  for (int64_t i = n; i < nm; i++) fd[i] += 0.25;
  CHECK(max_scaled_error(g, fd, (size_t)nm, 1e-5, 1e-4) <= 1.0);

  /* Residual mixing: θ = [x, r, c]. */
  const float *r = p + n, *cv = p + 2 * n;
  k_residual_mix_fwd(y, x, r, cv, c.vstride, B, C, S, layout);
  for (int64_t b = 0; b < B; b++)
    for (int64_t ch = 0; ch < C; ch++)
      for (int64_t s = 0; s < S; s++) {
        int64_t i = at(&c, b, ch, s);
        double k = t[2 * n + b * c.vstride + ch];
        want[i] = (t[i] + k * t[n + i]) / sqrt(1.0 + k * k);
      }
  CHECK(max_scaled_error(y, want, (size_t)n, 1e-6, 1e-6) <= 1.0);
  for (int64_t i = 0; i < 2 * n; i++) g[i] = 1e30f;
  for (int64_t i = 2 * n; i < nt; i++) g[i] = 0.25f;
  k_residual_mix_bwd(g, g + n, g + 2 * n, dyf, x, r, cv, c.vstride, B, C, S, layout);
  fd_gradient(mix_objective, t, (size_t)nt, &c, 1e-3, fd);
  for (int64_t i = 2 * n; i < nt; i++) fd[i] += 0.25;
  CHECK(max_scaled_error(g, fd, (size_t)nt, 1e-5, 1e-4) <= 1.0);
  free(t), free(fd), free(dy), free(want), free(p), free(g), free(y), free(dyf);
}

TEST(modulate_and_residual_mix_match_finite_differences) {
  for (int shared = 0; shared < 2; shared++)
    for (int layout = 0; layout < 2; layout++) {
      check_channel_ops(2, 3, 5, shared, (k_layout)layout);
      check_channel_ops(3, 37, 4, shared, (k_layout)layout); /* more than one channel block */
      check_channel_ops(1, 1, 1, shared, (k_layout)layout);
    }
}

TEST(modulate_without_scale_is_a_shift) {
  float x[4] = {1, 2, 3, 4}, shift[2] = {10, 20}, y[4], dshift[2] = {0, 0}, dy[4] = {1, 1, 1, 1};
  k_modulate_fwd(y, x, NULL, shift, 0, 2, 2, 1, K_TOKENS); /* (B=2, S=1, C=2), one shared shift */
  CHECK_NEAR(y[0], 11, 0);
  CHECK_NEAR(y[1], 22, 0);
  CHECK_NEAR(y[2], 13, 0);
  CHECK_NEAR(y[3], 24, 0);
  k_modulate_bwd(NULL, NULL, dshift, dy, x, NULL, 0, 2, 2, 1, K_TOKENS);
  CHECK_NEAR(dshift[0], 2, 0); /* summed over the batch */
  CHECK_NEAR(dshift[1], 2, 0);
}

TEST(scale_per_sample_matches_hand_values) {
  float x[6] = {1, 2, 3, 4, 5, 6}, s[2] = {2, -1}, y[6], dy[6] = {1, 0, 1, 0, 1, 1}, dx[6], ds[2] = {1, 1};
  k_scale_fwd(y, x, s, 2, 3);
  CHECK_NEAR(y[2], 6, 0);
  CHECK_NEAR(y[3], -4, 0);
  k_scale_bwd(dx, ds, dy, x, s, 2, 3);
  CHECK_NEAR(dx[0], 2, 0);
  CHECK_NEAR(dx[5], -1, 0);
  CHECK_NEAR(ds[0], 1 + 1 + 3, 0); /* accumulated onto 1 */
  CHECK_NEAR(ds[1], 1 + 5 + 6, 0);
}

/* ---- dropout ---- */

TEST(dropout_keeps_the_expected_fraction_and_scales) {
  enum { B = 4, N = 20000 };
  float *x = malloc(B * N * sizeof *x), *y = malloc(B * N * sizeof *y), *dx = malloc(B * N * sizeof *dx);
  for (int i = 0; i < B * N; i++) x[i] = 1.0f + (float)(i % 7);
  rng_key key = {.seed = 1234, .purpose = RNG_DROPOUT, .step = 3};
  float p = 0.3f;
  k_dropout_fwd(y, x, B, N, p, key, 100);
  int64_t kept = 0;
  bool scaled = true;
  for (int i = 0; i < B * N; i++) {
    if (y[i] != 0.0f) {
      kept++;
      scaled &= fabsf(y[i] - x[i] / (1.0f - p)) <= 1e-6f * y[i];
    }
  }
  /* Binomial(80000, 0.7): standard deviation 130; allow 5 of them. */
  CHECK(llabs(kept - (int64_t)(0.7 * B * N)) < 650);
  CHECK(scaled);
  /* The backward applies the same mask. */
  k_dropout_bwd(dx, x, B, N, p, key, 100);
  CHECK(memcmp(dx, y, B * N * sizeof *y) == 0);
  /* Sample 102 alone (first_sample 102) sees the numbers it saw in the batch. */
  k_dropout_fwd(dx, x + 2 * N, 1, N, p, key, 102);
  CHECK(memcmp(dx, y + 2 * N, N * sizeof *y) == 0);
  /* Another step draws another mask. */
  key.step = 4;
  k_dropout_fwd(dx, x, 1, N, p, key, 100);
  CHECK(memcmp(dx, y, N * sizeof *y) != 0);
  free(x), free(y), free(dx);
}

TEST(dropout_extremes) {
  float x[5] = {1, 2, 3, 4, 5}, y[5];
  rng_key key = {.seed = 1, .purpose = RNG_DROPOUT};
  k_dropout_fwd(y, x, 1, 5, 0.0f, key, 0);
  CHECK(memcmp(x, y, sizeof x) == 0);
  k_dropout_fwd(y, x, 1, 5, 1.0f, key, 0);
  CHECK(y[0] == 0.0f && y[4] == 0.0f);
}

/* ---- concatenation and layout ---- */

TEST(concat_channel_first_and_tokens) {
  /* (B=2, Ca=1, S=2) ++ (B=2, Cb=2, S=2): outer 2, a_len 2, b_len 4. */
  float a[4] = {1, 2, 3, 4}, b[8] = {10, 11, 12, 13, 14, 15, 16, 17}, y[12], da[4], db[8];
  k_concat_fwd(y, a, b, 2, 2, 4);
  float want[12] = {1, 2, 10, 11, 12, 13, 3, 4, 14, 15, 16, 17};
  CHECK(memcmp(y, want, sizeof y) == 0);
  k_concat_bwd(da, db, y, 2, 2, 4);
  CHECK(memcmp(da, a, sizeof a) == 0 && memcmp(db, b, sizeof b) == 0);
  /* Tokens (B=1, N=2, Ca=1) ++ (B=1, N=2, Cb=3): outer 2, a_len 1, b_len 3. */
  k_concat_fwd(y, a, b, 2, 1, 3);
  float want_tokens[8] = {1, 10, 11, 12, 2, 13, 14, 15};
  CHECK(memcmp(y, want_tokens, sizeof want_tokens) == 0);
}

TEST(layout_changes_transpose_and_are_adjoint) {
  enum { B = 2, C = 35, S = 67 }; /* odd sizes cross the transpose tiles */
  int64_t n = B * C * S;
  float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y),
        *z = malloc((size_t)n * sizeof *z);
  fill_uniform(x, (size_t)n, 8);
  k_to_tokens_fwd(y, x, B, C, S);
  bool ok = true;
  for (int b = 0; b < B; b++)
    for (int c = 0; c < C; c++)
      for (int s = 0; s < S; s++) ok &= y[(b * S + s) * C + c] == x[(b * C + c) * S + s];
  CHECK(ok);
  k_to_tokens_bwd(z, y, B, C, S); /* the adjoint of a permutation is its inverse */
  CHECK(memcmp(z, x, (size_t)n * sizeof *x) == 0);
  k_to_channels_fwd(z, y, B, C, S);
  CHECK(memcmp(z, x, (size_t)n * sizeof *x) == 0);
  k_to_channels_bwd(z, x, B, C, S);
  CHECK(memcmp(z, y, (size_t)n * sizeof *x) == 0);
  free(x), free(y), free(z);
}

TEST(pointwise_backwards_run_in_place) {
  enum { B = 2, C = 40, S = 3, N = B * C * S };
  float x[N], r[N], dy[N], v[B * C], w[B * C], out[N], out2[N], inplace[N], dv[B * C], dv2[B * C], dw[B * C],
      dw2[B * C];
  fill_uniform(x, N, 1), fill_uniform(r, N, 2), fill_uniform(dy, N, 3), fill_uniform(v, B * C, 4);
  fill_uniform(w, B * C, 5);
  for (int layout = 0; layout < 2; layout++) {
    memset(dv, 0, sizeof dv), memset(dv2, 0, sizeof dv2), memset(dw, 0, sizeof dw),
        memset(dw2, 0, sizeof dw2);
    k_modulate_bwd(out, dv, dw, dy, x, v, C, B, C, S, (k_layout)layout);
    memcpy(inplace, dy, sizeof dy);
    k_modulate_bwd(inplace, dv2, dw2, inplace, x, v, C, B, C, S, (k_layout)layout);
    CHECK(memcmp(out, inplace, sizeof out) == 0 && memcmp(dv, dv2, sizeof dv) == 0 &&
          memcmp(dw, dw2, sizeof dw) == 0);
    memset(dv, 0, sizeof dv), memset(dv2, 0, sizeof dv2);
    k_residual_mix_bwd(out, out2, dv, dy, x, r, v, C, B, C, S, (k_layout)layout);
    memcpy(inplace, dy, sizeof dy);
    k_residual_mix_bwd(inplace, NULL, dv2, inplace, x, r, v, C, B, C, S, (k_layout)layout);
    CHECK(memcmp(out, inplace, sizeof out) == 0 && memcmp(dv, dv2, sizeof dv) == 0);
    memcpy(inplace, dy, sizeof dy);
    k_residual_mix_bwd(NULL, inplace, NULL, inplace, x, r, v, C, B, C, S, (k_layout)layout);
    CHECK(memcmp(out2, inplace, sizeof out2) == 0);
  }
  float s[B] = {2, -3}, ds[B] = {0}, ds2[B] = {0};
  k_scale_bwd(out, ds, dy, x, s, B, C * S);
  memcpy(inplace, dy, sizeof dy);
  k_scale_bwd(inplace, ds2, inplace, x, s, B, C * S);
  CHECK(memcmp(out, inplace, sizeof out) == 0 && memcmp(ds, ds2, sizeof ds) == 0);
}
