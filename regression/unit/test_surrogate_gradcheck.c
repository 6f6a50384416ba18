/* The masked surrogate (src/surrogate.h) against the double-precision
 * reference: y = ViT(x·mask, label_embedding(label), cond = mask); output,
 * input gradient and parameter gradients against finite differences. */
#include <stdlib.h>

#include "../../src/surrogate.h"
#include "gradcheck.h"
#include "harness.h"
#include "vit_reference.h"

typedef struct {
  ref_vit_cfg rc;
  const param_registry *names;
  const double *dy, *mask, *label;
  double *y;
  int64_t nx, label_features, emb;
} sur_ctx;

static double sur_objective(const double *v, void *vctx) {
  sur_ctx *c = vctx;
  const double *x = v, *P = v + c->nx;
  double *xm = malloc(sizeof *xm * (size_t)c->nx), *emb = NULL;
  for (int64_t i = 0; i < c->nx; i++) xm[i] = x[i] * c->mask[i];
  if (c->label_features) {
    emb = malloc(sizeof *emb * (size_t)(c->rc.batch * c->emb));
    ref_mlp(c->names, P, "label_embedding", 0, c->label, c->rc.batch, c->label_features, c->emb, c->emb, emb);
  }
  ref_vit_forward(&c->rc, c->names, P, xm, emb, c->mask, c->y);
  double s = 0;
  for (int64_t i = 0; i < c->nx; i++) s += c->dy[i] * c->y[i];
  free(xm), free(emb);
  return s;
}

static void check_surrogate(int64_t label_features, unsigned seed) {
  const int64_t B = 2, C = 2, shape[3] = {3, 2, 2}, S = 12;
  surrogate_config cfg = {.channels = C,
                          .emb_features = 4,
                          .label_features = label_features,
                          .arch = {.hid_channels = 8,
                                   .hid_blocks = 1,
                                   .ffn_factor = 2,
                                   .attention_heads = 2,
                                   .spatial = 3,
                                   .patch = {1, 1, 1},
                                   .qk_norm = true,
                                   .rope = true,
                                   .dropout = 0.05f}};
  param_registry params, buffers;
  params_init(&params, 64);
  params_init(&buffers, 4);
  surrogate m;
  surrogate_declare(&m, &params, &buffers, &cfg);
  params_finalize(&params);
  params_finalize(&buffers);
  surrogate_init(&m, &params, &buffers, (rng_key){.seed = seed, .purpose = RNG_INIT});
  ref_fill_params(&params, seed);

  int64_t n = B * C * S, np = params.total;
  float *x = malloc(sizeof *x * (size_t)n), *mask = malloc(sizeof *mask * (size_t)n),
        *y = malloc(sizeof *y * (size_t)n);
  float *dy = malloc(sizeof *dy * (size_t)n), *dx = malloc(sizeof *dx * (size_t)n), label[2 * 3];
  fill_uniform(x, (size_t)n, seed + 1);
  fill_uniform(dy, (size_t)n, seed + 2);
  fill_uniform(label, 6, seed + 3);
  for (int64_t b = 0; b < B; b++) /* context: the first time step of sample 0, the first two of sample 1 */
    for (int64_t c = 0; c < C; c++)
      for (int64_t s = 0; s < S; s++) mask[(b * C + c) * S + s] = s / 4 <= b ? 1.0f : 0.0f;

  arena act;
  arena_init(&act, surrogate_activation_bytes(&m, B, shape), "test surrogate");
  nn_mode mode = nn_mode_eval();
  surrogate_forward(&m, &params, &buffers, &act, y, x, mask, label_features ? label : NULL, B, shape, &mode);
  surrogate_backward(&m, &params, &act, dx, dy);

  double *v = malloc(sizeof *v * (size_t)(n + np)), *g = malloc(sizeof *g * (size_t)(n + np));
  double *yref = malloc(sizeof *yref * (size_t)n), *dyd = malloc(sizeof *dyd * (size_t)n);
  double *maskd = malloc(sizeof *maskd * (size_t)n), labeld[6];
  for (int64_t i = 0; i < n; i++) v[i] = x[i], dyd[i] = dy[i], maskd[i] = mask[i];
  for (int64_t i = 0; i < np; i++) v[n + i] = params.values[i];
  for (int i = 0; i < 6; i++) labeld[i] = label[i];
  sur_ctx ctx = {.rc = {.batch = B,
                        .in_channels = C,
                        .out_channels = C,
                        .cond_channels = C,
                        .mod_features = label_features ? 4 : 0,
                        .channels = 8,
                        .blocks = 1,
                        .heads = 2,
                        .ffn_factor = 2,
                        .spatial = 3,
                        .shape = {3, 2, 2},
                        .patch = {1, 1, 1},
                        .qk_norm = true,
                        .rope = true,
                        .prefix = "backbone"},
                 .names = &params,
                 .dy = dyd,
                 .mask = maskd,
                 .label = labeld,
                 .y = yref,
                 .nx = n,
                 .label_features = label_features,
                 .emb = 4};
  sur_objective(v, &ctx);
  CHECK(max_scaled_error(y, yref, (size_t)n, 1e-5, 1e-4) <= 1);
  fd_gradient(sur_objective, v, (size_t)(n + np), &ctx, 1e-5, g);
  CHECK(max_scaled_error(dx, g, (size_t)n, 1e-5, 1e-3) <= 1);
  for (int64_t i = 0; i < n; i++) /* masked-out inputs do not matter */
    if (mask[i] == 0) CHECK(dx[i] == 0);
  CHECK(ref_check_param_grads(&params, g + n, 1e-5, 1e-3));
  free(v), free(g), free(yref), free(dyd), free(maskd), free(x), free(mask), free(y), free(dy), free(dx);
  arena_free(&act);
  surrogate_free(&m);
  params_free(&params);
  params_free(&buffers);
}

TEST(surrogate_gradcheck_labelled) { check_surrogate(3, 5); }
TEST(surrogate_gradcheck_unlabelled) { check_surrogate(0, 7); }
