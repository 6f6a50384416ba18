/* Autoencoder weights: the reference's initialisation (identity_init where it
 * applies), and checkpoints that round-trip, with strict loading and the eps
 * buffers checked. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../io/safetensors.h"
#include "../../src/autoencoder.h"
#include "gradcheck.h"
#include "harness.h"

static autoencoder_config tiny_config(void) {
  dcae_config shared = dcae_config_default(2, 0, 0);
  shared.levels = 2;
  shared.hid_channels[0] = 4;
  shared.hid_channels[1] = 8;
  shared.hid_blocks[0] = 1;
  shared.hid_blocks[1] = 2;
  return autoencoder_config_symmetric(&shared, 3, 5, AE_SAT_SOFTCLIP2, 0.01);
}

TEST(autoencoder_init_identity_where_the_reference_has_it) {
  autoencoder_config cfg = tiny_config();
  autoencoder ae;
  autoencoder_create(&ae, &cfg);
  autoencoder_init(&ae, 42);
  /* encoder.descent.1.0.1: Patchify(2) + ConvNd(4·4 → 8), identity_init: 1 + O(1e-2) on (o, o mod 16, centre)
   */
  int w = params_find(&ae.params, "encoder.descent.1.0.1.weight");
  const float *v = params_value(&ae.params, w);
  double off = 0;
  for (int64_t o = 0; o < 8; o++)
    for (int64_t i = 0; i < 16; i++)
      for (int t = 0; t < 9; t++) {
        float x = v[(o * 16 + i) * 9 + t];
        if (i == o % 16 && t == 4)
          CHECK(fabsf(x - 1.0f) <= 1e-2f / sqrtf(144.0f));
        else
          off = fmax(off, fabsf(x));
      }
  CHECK(off <= 1e-2 / sqrt(144.0) && off > 0);
  /* the first conv is a plain torch init: U(±1/√(3·9)) */
  const float *first = params_value(&ae.params, params_find(&ae.params, "encoder.descent.0.0.weight"));
  double mx = 0;
  for (int i = 0; i < 4 * 27; i++) mx = fmax(mx, fabsf(first[i]));
  CHECK(mx <= 1 / sqrt(27.0) && mx > 0.5 / sqrt(27.0));
  /* decoder.ascent.0.0 (latent → hid, identity) */
  const float *lat = params_value(&ae.params, params_find(&ae.params, "decoder.ascent.0.0.weight"));
  CHECK(fabsf(lat[(7 * 5 + 7 % 5) * 9 + 4] - 1.0f) < 0.01f);
  /* the same seed gives the same weights */
  autoencoder again;
  autoencoder_create(&again, &cfg);
  autoencoder_init(&again, 42);
  CHECK(memcmp(ae.params.values, again.params.values, sizeof(float) * (size_t)ae.params.total) == 0);
  autoencoder_free(&again);
  autoencoder_free(&ae);
}

TEST(autoencoder_checkpoint_round_trip_and_strictness) {
  autoencoder_config cfg = tiny_config();
  autoencoder ae, back;
  autoencoder_create(&ae, &cfg);
  autoencoder_init(&ae, 7);
  char path[1024], broken[1024];
  snprintf(path, sizeof path, "%s/ae.safetensors", harness_tmpdir());
  autoencoder_save(&ae, path, NULL);
  autoencoder_create(&back, &cfg);
  autoencoder_load(&back, path, true);
  CHECK(memcmp(ae.params.values, back.params.values, sizeof(float) * (size_t)ae.params.total) == 0);
  CHECK(*params_value(&back.buffers, 0) == 1e-5f);

  /* a file whose eps buffer differs from the kernels' constant is refused, naming it */
  *params_value(&ae.buffers, 3) = 1e-6f;
  snprintf(broken, sizeof broken, "%s/ae_eps.safetensors", harness_tmpdir());
  autoencoder_save(&ae, broken, NULL);
  lola_error_trap trap;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DATA, autoencoder_load(&back, broken, true)));
  CHECK(strstr(trap.message, ae.buffers.entries[3].name) != NULL);

  /* parameters only (no buffers): strict loading fails, non-strict keeps eps */
  snprintf(broken, sizeof broken, "%s/ae_params.safetensors", harness_tmpdir());
  st_save_params(broken, &ae.params, NULL);
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DATA, autoencoder_load(&back, broken, true)));
  CHECK(strstr(trap.message, "norm.eps") != NULL);
  autoencoder fresh;
  autoencoder_create(&fresh, &cfg);
  autoencoder_load(&fresh, broken, false);
  CHECK(*params_value(&fresh.buffers, 0) == 1e-5f);
  CHECK(memcmp(ae.params.values, fresh.params.values, sizeof(float) * (size_t)ae.params.total) == 0);
  autoencoder_free(&fresh);
  autoencoder_free(&back);
  autoencoder_free(&ae);
}

/* Inference passes (caching latents, decoding rollouts) keep only the tensors
 * in flight: the same latents and reconstructions as a full forward, in a
 * fraction of the memory, and no backward after them. */
TEST(autoencoder_inference_pass_bounded_memory) {
  autoencoder_config cfg = tiny_config();
  cfg.encoder.hid_blocks[0] = cfg.decoder.hid_blocks[0] = 3;
  autoencoder ae;
  autoencoder_create(&ae, &cfg);
  autoencoder_init(&ae, 5);
  int64_t B = 2, n = B * 3 * 16 * 16;
  dcae_grid grid = {2, {16, 16, 1}}, lat;
  int64_t L = autoencoder_latent_shape(&ae, &grid, &lat), nz = B * L * dcae_grid_volume(&lat);
  size_t full = autoencoder_activation_bytes(&ae, B, &grid, false),
         small = autoencoder_inference_bytes(&ae, B, &grid);
  CHECK(small < full / 2);
  arena act, scratch;
  arena_init(&act, full, "act");
  arena_init(&scratch, autoencoder_scratch_bytes(&ae, B, &grid), "scratch");
  float *x = malloc(sizeof(float) * (size_t)n), *y_full = malloc(sizeof(float) * (size_t)n);
  float *z_full = malloc(sizeof(float) * (size_t)nz);
  fill_uniform(x, (size_t)n, 2);
  dcae_pass p = {.act = &act, .scratch = &scratch};
  memcpy(z_full, autoencoder_encode(&ae, &p, x, B, &grid), sizeof(float) * (size_t)nz);
  memcpy(y_full, autoencoder_decode(&ae, &p, z_full, B, &lat, false), sizeof(float) * (size_t)n);

  arena_reset(&act);
  act.high_water = 0;
  p.inference = true;
  float *z = autoencoder_encode(&ae, &p, x, B, &grid);
  float *y = autoencoder_decode(&ae, &p, z, B, &lat, false);
  CHECK(memcmp(z, z_full, sizeof(float) * (size_t)nz) == 0);
  CHECK(memcmp(y, y_full, sizeof(float) * (size_t)n) == 0);
  CHECK(act.high_water <= small);
  lola_error_trap trap;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_RUNTIME, autoencoder_decode_backward(&ae, &p, z_full, y_full)));
  free(x);
  free(y_full);
  free(z_full);
  arena_free(&act);
  arena_free(&scratch);
  autoencoder_free(&ae);
}
