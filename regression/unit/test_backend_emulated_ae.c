/* The device discipline of the DCAE autoencoder, proven without a GPU: on the
 * emulated device backend (kernels/backend.h) the parameters, activations,
 * scratch and inputs live at addresses the host cannot touch, so any host
 * read or write of them faults. Training steps (encoder with attention in the
 * deepest level, latent saturation and noise, decoder, a loss of several
 * terms, backward, AdamW) and the inference encode / decode must give, bit
 * for bit, what they give on the CPU backend. */
#include <stdlib.h>
#include <string.h>

#include "../../kernels/backend.h"
#include "../../kernels/optim.h"
#include "../../src/autoencoder.h"
#include "gradcheck.h"
#include "harness.h"

enum { B = 3, PIX = 2, LAT = 4, STEPS = 3 };

typedef struct {
  double loss[STEPS], values[STEPS][AE_LOSS_MAX_TERMS];
  float *params; /* host copy of the trained parameters */
  float *z, *y;  /* inference encode and decode */
  int64_t total, nz, ny;
} ae_result;

typedef struct {
  int spatial;
  bool pixel_shuffle, periodic;
  int norm;
  ae_saturation sat;
  int patch0;
  dcae_grid grid;
  ae_loss_config loss;
} ae_case;

static ae_result run_ae(k_backend_kind kind, const ae_case *tc) {
  k_backend_set(kind);
  dcae_config shared = dcae_config_default(tc->spatial, 0, 0);
  shared.levels = 2;
  shared.hid_channels[0] = 8;
  shared.hid_channels[1] = 16;
  shared.hid_blocks[0] = shared.hid_blocks[1] = 1;
  shared.attention_heads[1] = 2; /* attention in the deepest level */
  shared.pixel_shuffle = tc->pixel_shuffle;
  shared.periodic = tc->periodic;
  shared.norm = tc->norm;
  shared.patch[0] = tc->patch0;
  shared.dropout = 0.1f;
  autoencoder_config cfg = autoencoder_config_symmetric(&shared, PIX, LAT, tc->sat, 0.1);
  autoencoder ae;
  autoencoder_create(&ae, &cfg);
  autoencoder_init(&ae, 5); /* on the host, then onto the device */
  params_to_device(&ae.params);
  params_to_device(&ae.buffers);

  const dcae_grid *grid = &tc->grid;
  arena act, scratch, inf;
  arena_init_device(&act, autoencoder_activation_bytes(&ae, B, grid, true), "ae activations");
  arena_init_device(&scratch, autoencoder_scratch_bytes(&ae, B, grid), "ae scratch");
  arena_init_device(&inf, autoencoder_inference_bytes(&ae, B, grid), "ae inference");
  int64_t n = B * PIX * dcae_grid_volume(grid);
  float *x = malloc(sizeof(float) * (size_t)n);
  fill_uniform(x, (size_t)n, 31);
  float *dx = k_device_alloc(sizeof(float) * (size_t)n, "ae input");
  k_upload(dx, x, sizeof(float) * (size_t)n);

  adamw_config opt = {
      .lr = 1e-2, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8, .weight_decay = 0.01, .grad_clip = 1};
  adamw_state st = {0};
  ae_result r = {.total = ae.params.total};
  params_zero_grad(&ae.params);
  for (int step = 0; step < STEPS; step++) {
    arena_reset(&act);
    dcae_pass p = {.act = &act,
                   .scratch = &scratch,
                   .train = true,
                   .seed = 17,
                   .step = (uint32_t)step,
                   .first_sample = 4};
    r.loss[step] = autoencoder_loss_step(&ae, &tc->loss, &p, dx, B, grid, true, 1.0, r.values[step]);
    CHECK(scratch.used == 0 && scratch.high_water <= scratch.capacity);
    k_adamw_safe_step(&opt, &st, 1.0, ae.params.values, ae.params.grads, ae.params.m, ae.params.v,
                      ae.params.total);
  }
  r.params = malloc(sizeof(float) * (size_t)r.total);
  memcpy(r.params, params_download(&ae.params), sizeof(float) * (size_t)r.total);

  dcae_pass pi = {.act = &inf, .scratch = &scratch, .inference = true, .seed = 17};
  float *z = autoencoder_encode(&ae, &pi, dx, B, grid);
  r.nz = B * ae.lat_channels * dcae_grid_volume(&ae.latent_grid);
  float *y = autoencoder_decode(&ae, &pi, z, B, &ae.latent_grid, false);
  r.ny = n;
  CHECK(inf.used <= inf.capacity);
  r.z = malloc(sizeof(float) * (size_t)r.nz);
  r.y = malloc(sizeof(float) * (size_t)r.ny);
  k_download(r.z, z, sizeof(float) * (size_t)r.nz);
  k_download(r.y, y, sizeof(float) * (size_t)r.ny);

  k_device_free(dx);
  free(x);
  arena_free(&act);
  arena_free(&scratch);
  arena_free(&inf);
  autoencoder_free(&ae);
  k_backend_set(K_BACKEND_CPU);
  return r;
}

static void check_case(const ae_case *tc) {
  ae_result cpu = run_ae(K_BACKEND_CPU, tc), emu = run_ae(K_BACKEND_EMULATED, tc);
  CHECK(cpu.total == emu.total && cpu.total > 1000);
  for (int s = 0; s < STEPS; s++) {
    CHECK(cpu.loss[s] == emu.loss[s] && cpu.loss[s] > 0);
    for (int t = 0; t < tc->loss.count; t++) CHECK(cpu.values[s][t] == emu.values[s][t]);
  }
  CHECK(cpu.loss[STEPS - 1] != cpu.loss[0]); /* the steps moved the weights */
  CHECK(memcmp(cpu.params, emu.params, sizeof(float) * (size_t)cpu.total) == 0);
  CHECK(cpu.nz == emu.nz && cpu.ny == emu.ny);
  CHECK(memcmp(cpu.z, emu.z, sizeof(float) * (size_t)cpu.nz) == 0);
  CHECK(memcmp(cpu.y, emu.y, sizeof(float) * (size_t)cpu.ny) == 0);
  double norm = 0;
  for (int64_t i = 0; i < cpu.ny; i++) norm += fabs(cpu.y[i]);
  CHECK(norm > 0);
  free(cpu.params);
  free(emu.params);
  free(cpu.z);
  free(emu.z);
  free(cpu.y);
  free(emu.y);
}

/* Pixel shuffles, a patch, LayerNorm, softclip2; MSE + VRMSE + similarity. */
TEST(backend_emulated_autoencoder_pixel_shuffle_matches_cpu) {
  ae_case tc = {.spatial = 2,
                .pixel_shuffle = true,
                .norm = RESBLOCK_LAYER_NORM,
                .sat = AE_SAT_SOFTCLIP2,
                .patch0 = 2,
                .grid = {2, {8, 4, 1}},
                .loss = {3, {AE_LOSS_MSE, AE_LOSS_VRMSE, AE_LOSS_SIMILARITY}, {1.0, 0.5, 0.1}}};
  check_case(&tc);
}

/* Strided convs and nearest upsampling, circular padding, GroupNorm, the
 * channel RMS norm; MAE + similarity + MSE. */
TEST(backend_emulated_autoencoder_upsample_rmsnorm_matches_cpu) {
  ae_case tc = {.spatial = 2,
                .pixel_shuffle = false,
                .periodic = true,
                .norm = RESBLOCK_GROUP_NORM,
                .sat = AE_SAT_RMSNORM,
                .patch0 = 1,
                .grid = {2, {4, 8, 1}},
                .loss = {3, {AE_LOSS_MAE, AE_LOSS_SIMILARITY, AE_LOSS_MSE}, {1.0, 0.2, 0.5}}};
  check_case(&tc);
}

/* Three spatial dims, upsampling, tanh, a loss without a latent term (dz
 * zeroed by a kernel). */
TEST(backend_emulated_autoencoder_3d_matches_cpu) {
  ae_case tc = {.spatial = 3,
                .pixel_shuffle = false,
                .norm = RESBLOCK_LAYER_NORM,
                .sat = AE_SAT_TANH,
                .patch0 = 1,
                .grid = {3, {4, 4, 2}},
                .loss = {1, {AE_LOSS_VRMSE}, {1.0}}};
  check_case(&tc);
}

/* Every saturation's forward and backward on both backends. */
static void saturate_pass(k_backend_kind kind, ae_saturation s, float *y_out, float *dx_out) {
  enum { SB = 2, SC = 3, SP = 5, SN = SB * SC * SP };
  k_backend_set(kind);
  float x[SN], dy[SN];
  fill_uniform(x, SN, 41);
  fill_uniform(dy, SN, 42);
  for (int i = 0; i < SN; i++) x[i] *= 8.0f; /* reach the saturating range */
  float *d[4];
  for (int i = 0; i < 4; i++) d[i] = k_device_alloc(sizeof x, "saturation test");
  k_upload(d[0], x, sizeof x);
  k_upload(d[1], dy, sizeof dy);
  ae_saturate_fwd(d[2], d[0], SB, SC, SP, s);
  ae_saturate_bwd(d[3], d[1], d[0], d[2], SB, SC, SP, s);
  k_download(y_out, d[2], sizeof x);
  k_download(dx_out, d[3], sizeof x);
  for (int i = 0; i < 4; i++) k_device_free(d[i]);
  k_backend_set(K_BACKEND_CPU);
}

TEST(backend_emulated_autoencoder_saturations_match_cpu) {
  for (int s = AE_SAT_NONE; s <= AE_SAT_RMSNORM; s++) {
    float y0[30], y1[30], g0[30], g1[30];
    saturate_pass(K_BACKEND_CPU, (ae_saturation)s, y0, g0);
    saturate_pass(K_BACKEND_EMULATED, (ae_saturation)s, y1, g1);
    CHECK(memcmp(y0, y1, sizeof y0) == 0);
    CHECK(memcmp(g0, g1, sizeof g0) == 0);
  }
}
