/* The EDM denoiser (src/denoiser.h) against the double-precision reference:
 * mean = c_skip·x_t + c_out·ViT(c_in·x_t, time_emb(c_noise) + label_emb(label), cond),
 * with the coefficients recomputed here from lola/diffusion.py; output, x_t
 * gradient (guidance needs it) and parameter gradients against finite
 * differences; and the masked denoiser's clamping. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/denoiser.h"
#include "gradcheck.h"
#include "harness.h"
#include "vit_reference.h"

enum { B = 2, C = 2, S = 6, N = B * C * S, E = 4, LF = 3 };
static const int64_t shape[2] = {2, 3};
static const float times[B] = {0.3f, 0.8f};

typedef struct {
  ref_vit_cfg rc;
  const param_registry *names;
  const double *dy, *label, *cond, *y_obs;
  double sigma[B];
  double *y;
} den_ctx;

/* The reference's log-linear sigma (alpha = 1). */
static double ref_sigma_log_linear(double t) { return exp(log(1e-3) * (1 - t) + log(1e3) * t); }

static void ref_denoiser(den_ctx *c, const double *x_t, const double *P, double *mean) {
  double enc[B * E], emb[B * E], lab[B * E], xin[N], f[N], cn[B];
  for (int b = 0; b < B; b++) cn[b] = 10 * log(c->sigma[b]);
  ref_sine(cn, B, E, enc);
  ref_mlp(c->names, P, "backbone.time_embedding", 1, enc, B, E, E, E, emb);
  ref_mlp(c->names, P, "backbone.label_embedding", 0, c->label, B, LF, E, E, lab);
  for (int i = 0; i < B * E; i++) emb[i] += lab[i];
  for (int b = 0; b < B; b++)
    for (int i = b * C * S; i < (b + 1) * C * S; i++) xin[i] = x_t[i] / sqrt(1 + c->sigma[b] * c->sigma[b]);
  ref_vit_forward(&c->rc, c->names, P, xin, emb, c->cond, f);
  for (int b = 0; b < B; b++) {
    double s = c->sigma[b], a2s2 = 1 + s * s;
    for (int i = b * C * S; i < (b + 1) * C * S; i++) mean[i] = x_t[i] / a2s2 + s / sqrt(a2s2) * f[i];
  }
}

static double den_objective(const double *v, void *vctx) {
  den_ctx *c = vctx;
  const double *P = v + N;
  double x_t[N];
  memcpy(x_t, v, sizeof x_t);
  if (c->y_obs) /* the masked denoiser: observed entries clamped before and after */
    for (int b = 0; b < B; b++)
      for (int i = b * C * S; i < (b + 1) * C * S; i++)
        if (c->cond[i] != 0) x_t[i] = sqrt(1 + c->sigma[b] * c->sigma[b]) * c->y_obs[i];
  ref_denoiser(c, x_t, P, c->y);
  double s = 0;
  for (int i = 0; i < N; i++) {
    if (c->y_obs && c->cond[i] != 0) c->y[i] = c->y_obs[i];
    s += c->dy[i] * c->y[i];
  }
  return s;
}

static void check_denoiser(bool masked, unsigned seed) {
  denoiser_config cfg = {.channels = C,
                         .emb_features = E,
                         .label_features = LF,
                         .masked = masked,
                         .schedule = schedule_default(SCHEDULE_LOG_LINEAR),
                         .arch = {.hid_channels = 8,
                                  .hid_blocks = 2,
                                  .ffn_factor = 1,
                                  .attention_heads = 2,
                                  .spatial = 2,
                                  .patch = {1, 1},
                                  .qk_norm = true,
                                  .rope = true}};
  param_registry params, buffers;
  params_init(&params, 96);
  params_init(&buffers, 4);
  denoiser m;
  denoiser_declare(&m, &params, &buffers, &cfg);
  params_finalize(&params);
  params_finalize(&buffers);
  denoiser_init(&m, &params, &buffers, (rng_key){.seed = seed, .purpose = RNG_INIT});
  ref_fill_params(&params, seed);

  float x_t[N], y_obs[N], mask[N], label[B * LF], mean[N], var[B], dy[N], dx[N];
  fill_uniform(x_t, N, seed + 1);
  fill_uniform(y_obs, N, seed + 2);
  fill_uniform(label, B * LF, seed + 3);
  fill_uniform(dy, N, seed + 4);
  for (int i = 0; i < N; i++) mask[i] = (i % S) < 3 ? 1.0f : 0.0f; /* the first time step observed */

  arena act;
  arena_init(&act, denoiser_activation_bytes(&m, B, shape), "test denoiser");
  nn_mode mode = nn_mode_eval();
  if (masked) {
    denoiser_masked_forward(&m, &params, &buffers, &act, mean, var, x_t, times, label, y_obs, mask, B, shape,
                            &mode);
    denoiser_masked_backward(&m, &params, &act, dx, dy);
  } else {
    denoiser_forward(&m, &params, &buffers, &act, mean, var, x_t, times, label, NULL, B, shape, &mode);
    denoiser_backward(&m, &params, &act, dx, dy);
  }

  int64_t np = params.total, nv = N + np;
  double *v = malloc(sizeof *v * (size_t)nv), *g = malloc(sizeof *g * (size_t)nv);
  double yref[N], dyd[N], labeld[B * LF], condd[N], yobsd[N];
  for (int i = 0; i < N; i++) v[i] = x_t[i], dyd[i] = dy[i], condd[i] = mask[i], yobsd[i] = y_obs[i];
  for (int i = 0; i < B * LF; i++) labeld[i] = label[i];
  for (int64_t i = 0; i < np; i++) v[N + i] = params.values[i];
  den_ctx ctx = {.rc = {.batch = B,
                        .in_channels = C,
                        .out_channels = C,
                        .cond_channels = masked ? C : 0,
                        .mod_features = E,
                        .channels = 8,
                        .blocks = 2,
                        .heads = 2,
                        .ffn_factor = 1,
                        .spatial = 2,
                        .shape = {2, 3},
                        .patch = {1, 1},
                        .qk_norm = true,
                        .rope = true,
                        .prefix = "backbone.backbone"},
                 .names = &params,
                 .dy = dyd,
                 .label = labeld,
                 .cond = masked ? condd : NULL,
                 .y_obs = masked ? yobsd : NULL,
                 .y = yref};
  for (int b = 0; b < B; b++) {
    ctx.sigma[b] = ref_sigma_log_linear(times[b]);
    CHECK_REL(var[b], ctx.sigma[b] * ctx.sigma[b] / (1 + ctx.sigma[b] * ctx.sigma[b]), 1e-6);
  }
  den_objective(v, &ctx);
  CHECK(max_scaled_error(mean, yref, N, 1e-5, 1e-4) <= 1);
  if (masked)
    for (int i = 0; i < N; i++)
      if (mask[i] != 0) CHECK(mean[i] == y_obs[i] && dx[i] == 0);
  fd_gradient(den_objective, v, (size_t)nv, &ctx, 1e-5, g);
  CHECK(max_scaled_error(dx, g, N, 1e-5, 1e-3) <= 1);
  CHECK(ref_check_param_grads(&params, g + N, 1e-5, 1e-3));
  free(v), free(g);
  arena_free(&act);
  denoiser_free(&m);
  params_free(&params);
  params_free(&buffers);
}

TEST(denoiser_gradcheck) { check_denoiser(false, 3); }
TEST(denoiser_gradcheck_masked) { check_denoiser(true, 9); }
