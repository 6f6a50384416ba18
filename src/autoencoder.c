/* The autoencoder: DCAE encoder, latent saturation and noise, DCAE decoder,
 * and the training pass with its loss (src/autoencoder.h). */
#include "autoencoder.h"

#include <string.h>

#include "../kernels/norm.h"
#include "../kernels/rng.h"
#include "../kernels/vector.h"
#include "error.h"

autoencoder_config autoencoder_config_symmetric(const dcae_config *shared, int64_t pix_channels,
                                                int64_t lat_channels, ae_saturation s, double latent_noise) {
  autoencoder_config c = {
      .encoder = *shared, .decoder = *shared, .saturation = s, .latent_noise = latent_noise};
  c.encoder.in_channels = pix_channels;
  c.encoder.out_channels = lat_channels;
  c.decoder.in_channels = lat_channels;
  c.decoder.out_channels = pix_channels;
  return c;
}

void autoencoder_declare(autoencoder *ae, const autoencoder_config *cfg) {
  memset(ae, 0, sizeof *ae);
  ae->cfg = *cfg;
  int capacity = dcae_param_count(&cfg->encoder) + dcae_param_count(&cfg->decoder);
  params_init(&ae->params, capacity);
  params_init(&ae->buffers, capacity);
  dcae_encoder_declare(&ae->encoder, &ae->params, &ae->buffers, "encoder", &cfg->encoder);
  dcae_decoder_declare(&ae->decoder, &ae->params, &ae->buffers, "decoder", &cfg->decoder);
}

void autoencoder_create(autoencoder *ae, const autoencoder_config *cfg) {
  autoencoder_declare(ae, cfg);
  params_finalize(&ae->params);
  params_finalize(&ae->buffers);
  /* Every buffer of the DCAE is a LayerNorm eps, a constant: set it now so a
   * non-strict load of a file without buffers keeps the right value. */
  for (int i = 0; i < ae->buffers.count; i++) *params_value(&ae->buffers, i) = (float)K_NORM_EPS;
}

void autoencoder_init(autoencoder *ae, uint64_t seed) {
  rng_key key = {.seed = seed, .purpose = RNG_INIT};
  dcae_init(&ae->encoder, &ae->params, &ae->buffers, key);
  dcae_init(&ae->decoder, &ae->params, &ae->buffers, key);
}

void autoencoder_free(autoencoder *ae) {
  dcae_free(&ae->encoder);
  dcae_free(&ae->decoder);
  params_free(&ae->params);
  params_free(&ae->buffers);
}

int64_t autoencoder_latent_shape(const autoencoder *ae, const dcae_grid *in, dcae_grid *latent) {
  return dcae_out_shape(&ae->encoder, in, latent);
}

size_t autoencoder_activation_bytes(const autoencoder *ae, int64_t batch, const dcae_grid *in, bool train) {
  dcae_grid lat;
  int64_t c = autoencoder_latent_shape(ae, in, &lat);
  size_t z = dcae_arena_bytes(batch * c * dcae_grid_volume(&lat));
  /* encoder, saturated z, noisy z, decoder */
  return dcae_activation_bytes(&ae->encoder, batch, in, train) + 2 * z +
         dcae_activation_bytes(&ae->decoder, batch, &lat, train);
}

size_t autoencoder_inference_bytes(const autoencoder *ae, int64_t batch, const dcae_grid *in) {
  dcae_grid lat;
  int64_t c = autoencoder_latent_shape(ae, in, &lat);
  size_t z = dcae_arena_bytes(batch * c * dcae_grid_volume(&lat));
  return dcae_inference_bytes(&ae->encoder, batch, in) + 2 * z +
         dcae_inference_bytes(&ae->decoder, batch, &lat);
}

size_t autoencoder_scratch_bytes(const autoencoder *ae, int64_t batch, const dcae_grid *in) {
  dcae_grid lat, out;
  int64_t c = autoencoder_latent_shape(ae, in, &lat);
  int64_t pix = dcae_out_shape(&ae->decoder, &lat, &out);
  int64_t ny = batch * pix * dcae_grid_volume(&out), nz = batch * c * dcae_grid_volume(&lat);
  /* the step keeps dy, the loss's tmp, dz_loss, dz and dz_raw, then runs the backwards */
  size_t step = 2 * dcae_arena_bytes(ny > nz ? ny : nz) + 3 * dcae_arena_bytes(nz);
  size_t inner = dcae_max_size(dcae_scratch_bytes(&ae->encoder, batch, in),
                               dcae_scratch_bytes(&ae->decoder, batch, &lat));
  return step + inner;
}

float *autoencoder_encode(autoencoder *ae, const dcae_pass *p, const float *x, int64_t batch,
                          const dcae_grid *in) {
  ae->batch = batch;
  ae->grid = *in;
  ae->lat_channels = autoencoder_latent_shape(ae, in, &ae->latent_grid);
  ae->z_raw = dcae_forward(&ae->encoder, &ae->params, p, x, batch, in);
  ae->z = arena_floats(p->act, batch * ae->lat_channels * dcae_grid_volume(&ae->latent_grid));
  ae_saturate_fwd(ae->z, ae->z_raw, batch, ae->lat_channels, dcae_grid_volume(&ae->latent_grid),
                  ae->cfg.saturation);
  return ae->z;
}

float *autoencoder_decode(autoencoder *ae, const dcae_pass *p, const float *z, int64_t batch,
                          const dcae_grid *latent, bool noisy) {
  const float *input = z;
  if (noisy && ae->cfg.latent_noise > 0.0) {
    int64_t per_sample = ae->cfg.decoder.in_channels * dcae_grid_volume(latent);
    float *zn = arena_floats(p->act, batch * per_sample);
    rng_key key = {.seed = p->seed, .purpose = RNG_NOISE, .step = p->step};
    for (int64_t b = 0; b < batch; b++) /* sample b's numbers: (seed, RNG_NOISE, step, first_sample + b) */
      k_rng_normal(zn + b * per_sample, per_sample, key, p->first_sample + (uint64_t)b, 0);
    k_scal(zn, (float)ae->cfg.latent_noise, batch * per_sample); /* zn = z + σ·ε, as σ·ε rounded, then + z */
    k_add(zn, z, batch * per_sample);
    input = zn;
  }
  return dcae_forward(&ae->decoder, &ae->params, p, input, batch, latent);
}

void autoencoder_decode_backward(autoencoder *ae, const dcae_pass *p, float *dz, const float *dy) {
  dcae_backward(&ae->decoder, &ae->params, p, dz, dy); /* the noise is additive: ∂/∂z passes through */
}

void autoencoder_encode_backward(autoencoder *ae, const dcae_pass *p, float *dx, const float *dz) {
  int64_t n = ae->batch * ae->lat_channels * dcae_grid_volume(&ae->latent_grid);
  size_t mark = p->scratch->used;
  float *dz_raw = arena_floats(p->scratch, n);
  ae_saturate_bwd(dz_raw, dz, ae->z_raw, ae->z, ae->batch, ae->lat_channels,
                  dcae_grid_volume(&ae->latent_grid), ae->cfg.saturation);
  dcae_backward(&ae->encoder, &ae->params, p, dx, dz_raw);
  p->scratch->used = mark;
}

double autoencoder_loss_step(autoencoder *ae, const ae_loss_config *loss, const dcae_pass *p, const float *x,
                             int64_t batch, const dcae_grid *grid, bool noisy, double dloss, double *values) {
  float *z = autoencoder_encode(ae, p, x, batch, grid);
  float *y = autoencoder_decode(ae, p, z, batch, &ae->latent_grid, noisy);
  int64_t pix = ae->cfg.decoder.out_channels, spatial = dcae_grid_volume(grid);
  int64_t latent_size = ae->lat_channels * dcae_grid_volume(&ae->latent_grid);
  if (pix != ae->cfg.encoder.in_channels)
    lola_die(LOLA_EXIT_RUNTIME, "autoencoder: the decoder gives %lld channels, the input has %lld",
             (long long)pix, (long long)ae->cfg.encoder.in_channels);
  double total = ae_loss_forward(loss, x, y, batch, pix, spatial, z, latent_size, values);

  int64_t ny = batch * pix * spatial, nz = batch * latent_size;
  size_t mark = p->scratch->used;
  float *dy = arena_floats(p->scratch, ny), *tmp = arena_floats(p->scratch, ny > nz ? ny : nz);
  float *dz_loss = arena_floats(p->scratch, nz), *dz = arena_floats(p->scratch, nz);
  ae_loss_backward(loss, dy, dz_loss, tmp, x, y, batch, pix, spatial, z, latent_size, dloss);
  autoencoder_decode_backward(ae, p, dz, dy);
  dcae_add(dz, dz_loss, nz);
  autoencoder_encode_backward(ae, p, NULL, dz);
  p->scratch->used = mark;
  return total;
}
