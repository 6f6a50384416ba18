/* DCAE encoders and decoders (pixel shuffle or strided conv / nearest
 * upsampling, patches, 1 to 3 dims, attention, dropout) against the double
 * reference of dcae_ref.c: outputs, input and parameter gradients. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcae_ref.h"
#include "gradcheck.h"
#include "harness.h"

typedef struct {
  dcae_stack *m;
  param_registry *r;
  dcae_pass *p;
  int64_t batch;
  dcae_grid in;
} stack_ctx;

static void stack_ref(double *y, const double *x, const double *pv, void *vctx) {
  stack_ctx *c = vctx;
  dcae_grid out;
  dref_dcae(y, x, c->m, c->r, pv, c->p, c->batch, &c->in, &out);
}

static void check_stack(const dcae_config *cfg, bool decoder, int64_t batch, dcae_grid in, bool train,
                        int64_t param_stride) {
  param_registry params, buffers;
  params_init(&params, dcae_param_count(cfg));
  params_init(&buffers, dcae_param_count(cfg));
  dcae_stack m;
  if (decoder)
    dcae_decoder_declare(&m, &params, &buffers, "decoder", cfg);
  else
    dcae_encoder_declare(&m, &params, &buffers, "encoder", cfg);
  params_finalize(&params);
  params_finalize(&buffers);
  dref_fill_params(&params, 0.4, 13);

  dcae_grid out;
  int64_t cout = dcae_out_shape(&m, &in, &out);
  int64_t nx = batch * cfg->in_channels * dcae_grid_volume(&in), ny = batch * cout * dcae_grid_volume(&out);
  CHECK(cout == cfg->out_channels);
  size_t act_bytes = dcae_activation_bytes(&m, batch, &in, train),
         scratch_bytes = dcae_scratch_bytes(&m, batch, &in);
  arena act, scratch;
  arena_init(&act, act_bytes, "act");
  arena_init(&scratch, scratch_bytes, "scratch");
  dcae_pass p = {.act = &act, .scratch = &scratch, .train = train, .seed = 5, .step = 1, .first_sample = 2};

  float *x = malloc(sizeof(float) * (size_t)nx), *dx = malloc(sizeof(float) * (size_t)nx);
  float *dy = malloc(sizeof(float) * (size_t)ny);
  fill_uniform(x, (size_t)nx, 3);
  fill_uniform(dy, (size_t)ny, 4);
  float *y = dcae_forward(&m, &params, &p, x, batch, &in);
  CHECK(act.used == act_bytes);
  dcae_backward(&m, &params, &p, dx, dy);
  CHECK(scratch.high_water <= scratch_bytes && scratch.used == 0);

  stack_ctx ctx = {&m, &params, &p, batch, in};
  dref_report rep = dref_gradcheck(stack_ref, &ctx, x, nx, y, ny, dy, dx, &params, param_stride);
  CHECK(rep.y_err <= 1.0);
  CHECK(rep.x_err <= 1.0);
  CHECK(rep.param_err <= 1.0);
  if (getenv("DCAE_VERBOSE") || rep.y_err > 1 || rep.x_err > 1 || rep.param_err > 1)
    fprintf(stderr, "  errors: y %.3g, dx %.3g, dparams %.3g (%d parameters)\n", rep.y_err, rep.x_err,
            rep.param_err, params.count);
  free(x);
  free(dx);
  free(dy);
  arena_free(&act);
  arena_free(&scratch);
  dcae_free(&m);
  params_free(&params);
  params_free(&buffers);
}

static dcae_config tiny(int spatial, int64_t cin, int64_t cout) {
  dcae_config c = dcae_config_default(spatial, cin, cout);
  c.levels = 2;
  c.hid_channels[0] = 4;
  c.hid_channels[1] = 6;
  c.hid_blocks[0] = c.hid_blocks[1] = 1;
  return c;
}

TEST(dcae_encoder_pixel_shuffle_2d_gradcheck) {
  dcae_config c = tiny(2, 2, 3);
  check_stack(&c, false, 2, (dcae_grid){2, {4, 6, 1}}, true, 3);
}

TEST(dcae_decoder_pixel_shuffle_2d_attention_gradcheck) {
  dcae_config c = tiny(2, 3, 2);
  c.attention_heads[1] = 2;
  c.ffn_factor = 2;
  check_stack(&c, true, 2, (dcae_grid){2, {2, 3, 1}}, true, 3);
}

TEST(dcae_encoder_strided_patch_groupnorm_dropout_1d_gradcheck) {
  dcae_config c = tiny(1, 2, 3);
  c.pixel_shuffle = false;
  c.patch[0] = 2;
  c.norm = RESBLOCK_GROUP_NORM;
  c.dropout = 0.25f;
  c.periodic = true;
  c.kernel[0] = 5;
  check_stack(&c, false, 2, (dcae_grid){1, {16, 1, 1}}, true, 1);
}

TEST(dcae_decoder_upsample_patch_circular_3d_gradcheck) {
  dcae_config c = tiny(3, 2, 2);
  c.pixel_shuffle = false;
  c.periodic = true;
  c.patch[2] = 2;
  c.hid_channels[0] = 3;
  c.hid_channels[1] = 4;
  check_stack(&c, true, 1, (dcae_grid){3, {2, 1, 2}}, true, 4);
}

/* The reference's default layout: levels, channels, shapes and names. */
TEST(dcae_layout_and_shapes) {
  dcae_config c = dcae_config_default(2, 5, 16);
  param_registry params, buffers;
  params_init(&params, dcae_param_count(&c));
  params_init(&buffers, dcae_param_count(&c));
  dcae_stack e;
  dcae_encoder_declare(&e, &params, &buffers, "encoder", &c);
  dcae_grid out;
  CHECK(dcae_out_shape(&e, &(dcae_grid){2, {64, 32, 1}}, &out) == 16);
  CHECK(out.ext[0] == 16 && out.ext[1] == 8);
  CHECK(params_find(&params, "encoder.descent.0.0.weight") == 0);
  CHECK(params_find(&params, "encoder.descent.1.0.1.weight") >= 0); /* Patchify + ConvNd */
  CHECK(params_find(&params, "encoder.descent.2.4.weight") >= 0);   /* the last conv */
  int w = params_find(&params, "encoder.descent.1.0.1.weight");
  CHECK(params.entries[w].shape[0] == 128 && params.entries[w].shape[1] == 256);
  CHECK(params_find(&buffers, "encoder.descent.2.3.norm.eps") >= 0);
  CHECK(buffers.count == 9);
  dcae_free(&e);
  params_free(&params);
  params_free(&buffers);
}
