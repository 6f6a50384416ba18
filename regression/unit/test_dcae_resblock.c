/* The DCAE ResBlock and its children (conv module, self-attention) against
 * the double-precision reference of dcae_ref.c: forward values, and input and
 * parameter gradients against central finite differences. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcae_ref.h"
#include "gradcheck.h"
#include "harness.h"

typedef struct {
  resblock *m;
  param_registry *r;
  dcae_pass *p;
  int64_t batch;
  dcae_grid grid;
} resblock_ctx;

static void resblock_ref(double *y, const double *x, const double *pv, void *vctx) {
  resblock_ctx *c = vctx;
  dref_resblock(y, x, c->m, c->r, pv, c->p, c->batch, &c->grid);
}

/* Build a block, run forward and backward, compare with the reference. */
static void check_resblock(const resblock_config *cfg, int64_t batch, dcae_grid grid, bool train) {
  param_registry params, buffers;
  params_init(&params, 16);
  params_init(&buffers, 4);
  resblock m;
  resblock_declare(&m, &params, &buffers, "blk", cfg);
  params_finalize(&params);
  params_finalize(&buffers);
  dref_fill_params(&params, 0.5, 7);

  int64_t n = batch * cfg->channels * dcae_grid_volume(&grid);
  size_t act_bytes = resblock_activation_bytes(cfg, batch, &grid, train);
  size_t scratch_bytes = resblock_scratch_bytes(cfg, batch, &grid);
  arena act, scratch;
  arena_init(&act, act_bytes, "act");
  arena_init(&scratch, scratch_bytes, "scratch");
  dcae_pass p = {.act = &act, .scratch = &scratch, .train = train, .seed = 11, .step = 3, .first_sample = 5};

  float *x = malloc(sizeof(float) * (size_t)n), *dy = malloc(sizeof(float) * (size_t)n);
  float *dx = malloc(sizeof(float) * (size_t)n);
  fill_uniform(x, (size_t)n, 1);
  fill_uniform(dy, (size_t)n, 2);
  float *y = resblock_forward(&m, &params, &p, x, batch, &grid);
  CHECK(act.used == act_bytes); /* the size function is exact */
  resblock_backward(&m, &params, &p, dx, dy);
  CHECK(scratch.high_water <= scratch_bytes);
  CHECK(scratch.used == 0);

  resblock_ctx ctx = {&m, &params, &p, batch, grid};
  dref_report rep = dref_gradcheck(resblock_ref, &ctx, x, n, y, n, dy, dx, &params, 1);
  CHECK(rep.y_err <= 1.0);
  CHECK(rep.x_err <= 1.0);
  CHECK(rep.param_err <= 1.0);
  if (getenv("DCAE_VERBOSE") || rep.y_err > 1 || rep.x_err > 1 || rep.param_err > 1)
    fprintf(stderr, "  errors: y %.3g, dx %.3g, dparams %.3g\n", rep.y_err, rep.x_err, rep.param_err);
  free(x);
  free(dy);
  free(dx);
  arena_free(&act);
  arena_free(&scratch);
  params_free(&params);
  params_free(&buffers);
}

TEST(dcae_resblock_layernorm_2d_gradcheck) {
  resblock_config c = {
      .channels = 4, .dims = 2, .kernel = {3, 3, 1}, .norm = RESBLOCK_LAYER_NORM, .ffn_factor = 1};
  check_resblock(&c, 2, (dcae_grid){2, {5, 4, 1}}, true);
}

TEST(dcae_resblock_groupnorm_circular_dropout_gradcheck) {
  resblock_config c = {.channels = 4,
                       .dims = 2,
                       .kernel = {3, 3, 1},
                       .circular = true,
                       .norm = RESBLOCK_GROUP_NORM,
                       .ffn_factor = 2,
                       .dropout = 0.3f};
  check_resblock(&c, 2, (dcae_grid){2, {4, 3, 1}}, true);
}

TEST(dcae_resblock_dropout_off_in_eval_gradcheck) {
  resblock_config c = {.channels = 3,
                       .dims = 1,
                       .kernel = {5, 1, 1},
                       .norm = RESBLOCK_LAYER_NORM,
                       .ffn_factor = 1,
                       .dropout = 0.5f};
  check_resblock(&c, 3, (dcae_grid){1, {7, 1, 1}}, false);
}

TEST(dcae_resblock_3d_circular_gradcheck) {
  resblock_config c = {.channels = 3,
                       .dims = 3,
                       .kernel = {3, 3, 3},
                       .circular = true,
                       .norm = RESBLOCK_LAYER_NORM,
                       .ffn_factor = 1};
  check_resblock(&c, 1, (dcae_grid){3, {3, 4, 2}}, true);
}

TEST(dcae_resblock_attention_gradcheck) {
  resblock_config c = {.channels = 4,
                       .dims = 2,
                       .kernel = {3, 3, 1},
                       .norm = RESBLOCK_LAYER_NORM,
                       .attention_heads = 2,
                       .ffn_factor = 2};
  check_resblock(&c, 2, (dcae_grid){2, {3, 2, 1}}, true);
}

/* Names and shapes as torch's state_dict, the eps buffer, and the init:
 * torch's bounds, the last conv scaled by 1e-2, zero attention biases. */
TEST(dcae_resblock_names_and_init) {
  param_registry params, buffers;
  params_init(&params, 16);
  params_init(&buffers, 4);
  resblock m;
  resblock_config c = {.channels = 8,
                       .dims = 2,
                       .kernel = {3, 3, 1},
                       .norm = RESBLOCK_LAYER_NORM,
                       .attention_heads = 2,
                       .ffn_factor = 2};
  resblock_declare(&m, &params, &buffers, "encoder.descent.1.2", &c);
  params_finalize(&params);
  params_finalize(&buffers);
  const char *names[] = {
      "encoder.descent.1.2.attn.0.in_proj_weight",  "encoder.descent.1.2.attn.0.in_proj_bias",
      "encoder.descent.1.2.attn.0.out_proj.weight", "encoder.descent.1.2.attn.0.out_proj.bias",
      "encoder.descent.1.2.ffn.0.weight",           "encoder.descent.1.2.ffn.0.bias",
      "encoder.descent.1.2.ffn.3.weight",           "encoder.descent.1.2.ffn.3.bias"};
  CHECK(params.count == 8);
  for (int i = 0; i < 8; i++) CHECK(params_find(&params, names[i]) == i);
  /* attention present: the FFN convs are pointwise */
  CHECK(params.entries[4].ndim == 4 && params.entries[4].shape[0] == 16 && params.entries[4].shape[2] == 1);
  CHECK(buffers.count == 1 && strcmp(buffers.entries[0].name, "encoder.descent.1.2.norm.eps") == 0);
  CHECK(buffers.entries[0].ndim == 0 && buffers.entries[0].numel == 1);

  resblock_init(&m, &params, &buffers, (rng_key){.seed = 3});
  CHECK(*params_value(&buffers, 0) == 1e-5f);
  double b_in = 1.0 / sqrt(8.0), b_out = 1e-2 / sqrt(16.0), xavier = sqrt(6.0 / 32.0);
  double max_in = 0, max_out = 0, max_qkv = 0, sum_in = 0;
  for (int64_t i = 0; i < 16 * 8; i++) {
    max_in = fmax(max_in, fabs(params_value(&params, 4)[i]));
    sum_in += params_value(&params, 4)[i];
  }
  for (int64_t i = 0; i < 8 * 16; i++) max_out = fmax(max_out, fabs(params_value(&params, 6)[i]));
  for (int64_t i = 0; i < 24 * 8; i++) max_qkv = fmax(max_qkv, fabs(params_value(&params, 0)[i]));
  CHECK(max_in <= b_in && max_in > 0.8 * b_in);
  CHECK(max_out <= b_out && max_out > 0.8 * b_out);
  CHECK(max_qkv <= xavier && max_qkv > 0.8 * xavier);
  CHECK(fabs(sum_in / 128) < 0.1 * b_in); /* centred */
  for (int64_t i = 0; i < 24; i++) CHECK(params_value(&params, 1)[i] == 0.0f);
  params_free(&params);
  params_free(&buffers);
}
