/* The ViT (src/vit.h) against the independent double-precision reference of
 * vit_reference.c: outputs, and input / modulation / condition / parameter
 * gradients against central finite differences, for tiny configurations
 * covering modulation or not, RoPE, QK-norm, patches, windows and 1 to 3
 * spatial axes. */
#include <stdlib.h>
#include <string.h>

#include "../../src/vit.h"
#include "gradcheck.h"
#include "harness.h"
#include "vit_reference.h"

typedef struct {
  ref_vit_cfg rc;
  const param_registry *names;
  const double *dy;
  double *y;
  int64_t nx, nmod, ncond;
} vit_fd_ctx;

/* Σ dy·ViT(x, mod, cond; P) over the packed vector [x | mod | cond | P]. */
static double vit_objective(const double *v, void *vctx) {
  vit_fd_ctx *c = vctx;
  const double *x = v, *mod = x + c->nx, *cond = mod + c->nmod, *P = cond + c->ncond;
  ref_vit_forward(&c->rc, c->names, P, x, c->nmod ? mod : NULL, c->ncond ? cond : NULL, c->y);
  int64_t S = 1;
  for (int d = 0; d < c->rc.spatial; d++) S *= c->rc.shape[d];
  double s = 0;
  for (int64_t i = 0; i < c->rc.batch * c->rc.out_channels * S; i++) s += c->dy[i] * c->y[i];
  return s;
}

static vit_config to_vit_config(const ref_vit_cfg *rc, float dropout) {
  vit_config vc = {.in_channels = rc->in_channels,
                   .out_channels = rc->out_channels,
                   .cond_channels = rc->cond_channels,
                   .mod_features = rc->mod_features,
                   .hid_channels = rc->channels,
                   .hid_blocks = rc->blocks,
                   .ffn_factor = rc->ffn_factor,
                   .attention_heads = rc->heads,
                   .spatial = rc->spatial,
                   .qk_norm = rc->qk_norm,
                   .rope = rc->rope,
                   .dropout = dropout};
  for (int d = 0; d < rc->spatial; d++) {
    vc.patch[d] = rc->patch[d];
    vc.window[d] = rc->window[d];
  }
  return vc;
}

static void check_vit(const ref_vit_cfg *rc, unsigned seed) {
  /* in eval mode the configured dropout must be inactive */
  vit_config vc = to_vit_config(rc, rc->mode && rc->mode->training ? rc->dropout : 0.3f);
  param_registry params, buffers;
  params_init(&params, 256);
  params_init(&buffers, 4);
  vit m;
  vit_declare(&m, &params, &buffers, "", &vc);
  params_finalize(&params);
  params_finalize(&buffers);
  vit_init(&m, &params, &buffers, (rng_key){.seed = seed, .purpose = RNG_INIT});
  /* O(1) weights everywhere, so that every path (gates included) carries gradient */
  ref_fill_params(&params, seed + 1); /* O(1) weights: every path (gates included) carries gradient */

  int64_t S = 1, B = rc->batch;
  for (int d = 0; d < rc->spatial; d++) S *= rc->shape[d];
  int64_t nx = B * rc->in_channels * S, nmod = B * rc->mod_features, ncond = B * rc->cond_channels * S;
  int64_t ny = B * rc->out_channels * S, np = params.total;
  float *x = malloc(sizeof *x * (size_t)nx), *mod = malloc(sizeof *mod * (size_t)(nmod + 1));
  float *cond = malloc(sizeof *cond * (size_t)(ncond + 1)), *y = malloc(sizeof *y * (size_t)ny);
  float *dy = malloc(sizeof *dy * (size_t)ny), *dx = malloc(sizeof *dx * (size_t)nx);
  float *dmod = malloc(sizeof *dmod * (size_t)(nmod + 1)),
        *dcond = malloc(sizeof *dcond * (size_t)(ncond + 1));
  fill_uniform(x, (size_t)nx, seed + 2);
  fill_uniform(mod, (size_t)nmod, seed + 3);
  fill_uniform(cond, (size_t)ncond, seed + 4);
  fill_uniform(dy, (size_t)ny, seed + 5);

  arena act;
  arena_init(&act, vit_activation_bytes(&m, B, rc->shape), "test ViT activations");
  nn_mode mode = rc->mode ? *rc->mode : nn_mode_eval();
  vit_forward(&m, &params, &buffers, &act, y, x, nmod ? mod : NULL, ncond ? cond : NULL, B, rc->shape, &mode);
  vit_backward(&m, &params, &act, dx, nmod ? dmod : NULL, ncond ? dcond : NULL, dy);

  int64_t nv = nx + nmod + ncond + np;
  double *v = malloc(sizeof *v * (size_t)nv), *g = malloc(sizeof *g * (size_t)nv);
  double *yref = malloc(sizeof *yref * (size_t)ny), *dyd = malloc(sizeof *dyd * (size_t)ny);
  for (int64_t i = 0; i < nx; i++) v[i] = x[i];
  for (int64_t i = 0; i < nmod; i++) v[nx + i] = mod[i];
  for (int64_t i = 0; i < ncond; i++) v[nx + nmod + i] = cond[i];
  for (int64_t i = 0; i < np; i++) v[nx + nmod + ncond + i] = params.values[i];
  for (int64_t i = 0; i < ny; i++) dyd[i] = dy[i];
  vit_fd_ctx ctx = {
      .rc = *rc, .names = &params, .dy = dyd, .y = yref, .nx = nx, .nmod = nmod, .ncond = ncond};
  vit_objective(v, &ctx);
  CHECK(max_scaled_error(y, yref, (size_t)ny, 1e-5, 1e-4) <= 1);
  fd_gradient(vit_objective, v, (size_t)nv, &ctx, 1e-5, g);
  CHECK(max_scaled_error(dx, g, (size_t)nx, 1e-5, 1e-3) <= 1);
  if (nmod) CHECK(max_scaled_error(dmod, g + nx, (size_t)nmod, 1e-5, 1e-3) <= 1);
  if (ncond) CHECK(max_scaled_error(dcond, g + nx + nmod, (size_t)ncond, 1e-5, 1e-3) <= 1);
  CHECK(ref_check_param_grads(&params, g + nx + nmod + ncond, 1e-5, 1e-3));
  free(v), free(g), free(yref), free(dyd);
  free(x), free(mod), free(cond), free(y), free(dy), free(dx), free(dmod), free(dcond);
  arena_free(&act);
  vit_free(&m);
  params_free(&params);
  params_free(&buffers);
}

TEST(vit_gradcheck_modulated_rope_patches) {
  ref_vit_cfg rc = {.batch = 2,
                    .in_channels = 2,
                    .out_channels = 3,
                    .cond_channels = 1,
                    .mod_features = 3,
                    .channels = 8,
                    .blocks = 2,
                    .heads = 2,
                    .ffn_factor = 2,
                    .spatial = 2,
                    .shape = {2, 4},
                    .patch = {1, 2},
                    .qk_norm = true,
                    .rope = true};
  check_vit(&rc, 11);
}

TEST(vit_gradcheck_unmodulated_window_3d) {
  ref_vit_cfg rc = {.batch = 2,
                    .in_channels = 1,
                    .out_channels = 2,
                    .channels = 8,
                    .blocks = 1,
                    .heads = 1,
                    .ffn_factor = 1,
                    .spatial = 3,
                    .shape = {2, 3, 2},
                    .patch = {1, 1, 1},
                    .window = {1, 3, 1},
                    .qk_norm = true,
                    .rope = true};
  check_vit(&rc, 23);
}

TEST(vit_gradcheck_plain_attention_1d) {
  ref_vit_cfg rc = {.batch = 1,
                    .in_channels = 2,
                    .out_channels = 2,
                    .cond_channels = 2,
                    .mod_features = 2,
                    .channels = 6,
                    .blocks = 2,
                    .heads = 3,
                    .ffn_factor = 2,
                    .spatial = 1,
                    .shape = {5},
                    .patch = {1},
                    .qk_norm = false,
                    .rope = false};
  check_vit(&rc, 37);
}

TEST(vit_gradcheck_training_dropout) {
  nn_mode mode = {.training = true, .key = {.seed = 9, .purpose = RNG_DROPOUT, .step = 4}, .first_sample = 6};
  ref_vit_cfg rc = {.batch = 2,
                    .in_channels = 2,
                    .out_channels = 2,
                    .mod_features = 2,
                    .channels = 8,
                    .blocks = 2,
                    .heads = 2,
                    .ffn_factor = 2,
                    .spatial = 2,
                    .shape = {2, 3},
                    .patch = {1, 1},
                    .qk_norm = true,
                    .rope = true,
                    .dropout = 0.4f,
                    .mode = &mode};
  check_vit(&rc, 41);
}
