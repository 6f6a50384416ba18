/* Initialisation of the ViT as the reference's (distribution-wise): torch's
 * Linear bounds 1/sqrt(in), the AdaLN-Zero output layer scaled by 1e-2 (or
 * the (4, C) parameter N(0, 1e-4)), RoPE angles 100^(-U) times unit
 * directions over the spatial axes, the SineEncoding buffer ω^(-i/(F-1)).
 * And the weight file: saved and loaded back by name, strictly. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../src/model_io.h"
#include "../../src/vit.h"
#include "harness.h"

static void moments(const param_registry *r, const char *name, double *mean, double *var, double *maxabs) {
  int i = params_find(r, name);
  CHECK(i >= 0);
  const float *p = params_value(r, i);
  int64_t n = r->entries[i].numel;
  double s = 0, s2 = 0, m = 0;
  for (int64_t j = 0; j < n; j++) s += p[j], s2 += (double)p[j] * p[j], m = fmax(m, fabs(p[j]));
  *mean = s / (double)n;
  *var = s2 / (double)n - *mean * *mean;
  *maxabs = m;
}

static void build(vit *m, param_registry *params, param_registry *buffers, int64_t mod_features,
                  uint64_t seed) {
  vit_config c = {.in_channels = 4,
                  .out_channels = 4,
                  .cond_channels = 4,
                  .mod_features = mod_features,
                  .hid_channels = 64,
                  .hid_blocks = 2,
                  .ffn_factor = 4,
                  .attention_heads = 4,
                  .spatial = 3,
                  .patch = {1, 1, 1},
                  .qk_norm = true,
                  .rope = true};
  params_init(params, 64);
  params_init(buffers, 2);
  vit_declare(m, params, buffers, "", &c);
  params_finalize(params);
  params_finalize(buffers);
  vit_init(m, params, buffers, (rng_key){.seed = seed, .purpose = RNG_INIT});
}

TEST(vit_init_distributions) {
  param_registry params, buffers;
  vit m;
  build(&m, &params, &buffers, 32, 1);
  double mean, var, maxabs;
  /* Linear(64 → 256): U(±1/8): variance 1/192 */
  moments(&params, "blocks.0.ffn.0.weight", &mean, &var, &maxabs);
  CHECK(maxabs <= 1 / 8.0 && maxabs > 0.95 / 8);
  CHECK_NEAR(mean, 0, 0.005);
  CHECK_REL(var, 1 / 192.0, 0.05);
  moments(&params, "blocks.0.ffn.3.bias", &mean, &var, &maxabs); /* bias bound 1/sqrt(256) */
  CHECK(maxabs <= 1 / 16.0);
  /* ada_zero: Linear(32, 32) default, Linear(32, 256) with weight ·1e-2 */
  moments(&params, "blocks.1.ada_zero.0.weight", &mean, &var, &maxabs);
  CHECK(maxabs <= 1 / sqrt(32.0) && maxabs > 0.9 / sqrt(32.0));
  moments(&params, "blocks.1.ada_zero.2.weight", &mean, &var, &maxabs);
  CHECK(maxabs <= 1e-2 / sqrt(32.0) && maxabs > 0.9e-2 / sqrt(32.0));
  moments(&params, "blocks.1.ada_zero.2.bias", &mean, &var, &maxabs); /* the bias is not scaled */
  CHECK(maxabs > 0.5 / sqrt(32.0));
  /* theta (3, 32): column norms 100^(-U(0,1)), log10 uniform on [-2, 0] */
  const float *theta = params_value(&params, params_find(&params, "blocks.0.theta"));
  double mean_log = 0;
  for (int j = 0; j < 32; j++) {
    double norm = 0;
    for (int d = 0; d < 3; d++) norm += (double)theta[d * 32 + j] * theta[d * 32 + j];
    double lg = log10(sqrt(norm));
    CHECK(lg >= -2 - 1e-6 && lg <= 1e-6);
    mean_log += lg / 32;
  }
  CHECK_NEAR(mean_log, -1.0, 0.3);
  /* the two blocks draw different numbers */
  CHECK(memcmp(params_value(&params, params_find(&params, "blocks.0.msa.qkv_proj.weight")),
               params_value(&params, params_find(&params, "blocks.1.msa.qkv_proj.weight")),
               64 * sizeof(float)));
  /* SineEncoding buffer: 1e3^(-i/31), float32 */
  const float *freqs = params_value(&buffers, params_find(&buffers, "positional_embedding.0.freqs"));
  for (int i = 0; i < 32; i++) CHECK(freqs[i] == (float)pow(1e3, -i / 31.0));
  vit_free(&m);
  params_free(&params);
  params_free(&buffers);
}

TEST(vit_init_unmodulated_ada_zero) {
  param_registry params, buffers;
  vit m;
  build(&m, &params, &buffers, 0, 2);
  double mean, var, maxabs;
  moments(&params, "blocks.0.ada_zero", &mean, &var, &maxabs); /* randn(4, 64)·1e-2 */
  CHECK(params.entries[params_find(&params, "blocks.0.ada_zero")].shape[0] == 4);
  CHECK_NEAR(mean, 0, 3e-3);
  CHECK_REL(sqrt(var), 1e-2, 0.15);
  vit_free(&m);
  params_free(&params);
  params_free(&buffers);
}

TEST(vit_weights_round_trip) {
  param_registry a, ab, b, bb;
  vit ma, mb;
  build(&ma, &a, &ab, 32, 3);
  build(&mb, &b, &bb, 32, 4);
  char path[1024];
  snprintf(path, sizeof path, "%s/vit.safetensors", harness_tmpdir());
  model_save(path, &a, &ab, NULL);
  memset(bb.values, 0, sizeof(float) * (size_t)bb.total);
  CHECK(model_load(path, &b, &bb, true, "ViT") == a.count + ab.count);
  CHECK(memcmp(a.values, b.values, sizeof(float) * (size_t)a.total) == 0);
  CHECK(memcmp(ab.values, bb.values, sizeof(float) * (size_t)ab.total) == 0);
  /* a model with another shape refuses the file, naming the tensor */
  param_registry c, cb;
  vit mc;
  vit_config cc = ma.cfg;
  cc.hid_channels = 32;
  params_init(&c, 64);
  params_init(&cb, 2);
  vit_declare(&mc, &c, &cb, "", &cc);
  params_finalize(&c);
  params_finalize(&cb);
  lola_error_trap trap;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DATA, model_load(path, &c, &cb, true, "ViT")));
  CHECK(strstr(trap.message, "in_proj") != NULL);
  vit_free(&ma), vit_free(&mb), vit_free(&mc);
  params_free(&a), params_free(&ab), params_free(&b), params_free(&bb), params_free(&c), params_free(&cb);
}
