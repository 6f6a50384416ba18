/* The reference's AutoEncoder and AutoEncoderLoss (lola/autoencoder.py):
 *
 *   encode(x)  z = saturate(encoder(x))
 *   decode(z)  decoder(z + noise·ε), ε ~ N(0, I), when noisy and noise > 0
 *   loss       Σ_i w_i·l_i(x, y, z) over "mse", "mae", "vrmse", "similarity".
 *
 * The reference's training loss calls AutoEncoder.forward, which decodes the
 * latents WITHOUT noise (only decode(z, noisy=True) adds it): the training step
 * below takes `noisy` so that a run can follow either; PyTorch parity holds
 * with noisy = false.
 *
 * Parameters live in `params` (state_dict names "encoder.descent...",
 * "decoder.ascent..."), buffers (the LayerNorms' eps) in `buffers`; a
 * checkpoint holds both, as torch's state_dict does.
 *
 * Device discipline: create and init run on the host; after params_to_device
 * (and arena_init_device for the pass's act and scratch arenas) every array
 * the functions below take or return (x, z, y, gradients, activations) lives
 * in the active backend's memory (kernels/backend.h) and is touched through
 * the kernels only; the losses come back to the host as doubles. */
#ifndef LOLA_AUTOENCODER_H
#define LOLA_AUTOENCODER_H

#include <stdbool.h>
#include <stdint.h>

#include "dcae.h"

/* ---- latent saturation (AutoEncoder.saturate) ---- */

typedef enum {
  AE_SAT_NONE,
  AE_SAT_SOFTCLIP,
  AE_SAT_SOFTCLIP2,
  AE_SAT_TANH,
  AE_SAT_ARCSINH,
  AE_SAT_RMSNORM
} ae_saturation;

/* "none", "softclip", "softclip2", "tanh", "arcsinh", "rmsnorm"; -1 when unknown. */
int ae_saturation_from_name(const char *name);
/* On (B, C, P): softclip x/(1+|x|/5), softclip2 x/√(1+(x/5)²), tanh 5·tanh(x/5),
 * arcsinh, rmsnorm x/√(mean_C(x²) + 1e-5) over the channels at each position. */
void ae_saturate_fwd(float *y, const float *x, int64_t batch, int64_t channels, int64_t positions,
                     ae_saturation s);
/* dx overwritten; y the forward's output (used by rmsnorm). */
void ae_saturate_bwd(float *dx, const float *dy, const float *x, const float *y, int64_t batch,
                     int64_t channels, int64_t positions, ae_saturation s);

/* ---- the model ---- */

typedef struct {
  dcae_config encoder, decoder; /* encoder: pix → lat channels; decoder: lat → pix */
  ae_saturation saturation;
  double latent_noise; /* standard deviation of the decoder's input noise */
} autoencoder_config;

/* Encoder and decoder configs from one shared DCAE config (the reference's
 * get_autoencoder without encoder_only / decoder_only). */
autoencoder_config autoencoder_config_symmetric(const dcae_config *shared, int64_t pix_channels,
                                                int64_t lat_channels, ae_saturation s, double latent_noise);

typedef struct {
  autoencoder_config cfg;
  param_registry params, buffers;
  dcae_stack encoder, decoder;
  /* Saved by the forwards. */
  int64_t batch, lat_channels;
  dcae_grid grid, latent_grid;
  float *z_raw, *z; /* encoder output, saturated latents */
} autoencoder;

/* Declare every parameter and buffer without allocating them (names and
 * shapes only: enough to list a large model's state_dict). */
void autoencoder_declare(autoencoder *ae, const autoencoder_config *cfg);
/* Declare and allocate: finalised registries, zero parameters, eps buffers set. */
void autoencoder_create(autoencoder *ae, const autoencoder_config *cfg);
/* torch's initialisation, from (seed, RNG_INIT). */
void autoencoder_init(autoencoder *ae, uint64_t seed);
void autoencoder_free(autoencoder *ae);

/* Latent channels and grid of an input grid. */
int64_t autoencoder_latent_shape(const autoencoder *ae, const dcae_grid *in, dcae_grid *latent);
/* Arena bytes of one training pass (encode, noisy decode) over `batch` samples. */
size_t autoencoder_activation_bytes(const autoencoder *ae, int64_t batch, const dcae_grid *in, bool train);
/* Arena bytes of an encode + decode with p->inference (bounded by the largest
 * layer, not the depth): for caching latents and decoding rollouts. */
size_t autoencoder_inference_bytes(const autoencoder *ae, int64_t batch, const dcae_grid *in);
/* Scratch bytes of autoencoder_loss_step (the largest of the passes). */
size_t autoencoder_scratch_bytes(const autoencoder *ae, int64_t batch, const dcae_grid *in);

/* z (B, lat, *latent grid) in p->act. */
float *autoencoder_encode(autoencoder *ae, const dcae_pass *p, const float *x, int64_t batch,
                          const dcae_grid *in);
/* y (B, pix, *grid) in p->act from latents z of the latent grid; the noise ε
 * of sample b is drawn from (p->seed, RNG_NOISE, p->step, p->first_sample + b). */
float *autoencoder_decode(autoencoder *ae, const dcae_pass *p, const float *z, int64_t batch,
                          const dcae_grid *latent, bool noisy);
/* Backwards of the last decode / encode: dz (or dx) overwritten; NULL dx skips it. */
void autoencoder_decode_backward(autoencoder *ae, const dcae_pass *p, float *dz, const float *dy);
void autoencoder_encode_backward(autoencoder *ae, const dcae_pass *p, float *dx, const float *dz);

/* ---- the loss (AutoEncoderLoss) ---- */

typedef enum { AE_LOSS_MSE, AE_LOSS_MAE, AE_LOSS_VRMSE, AE_LOSS_SIMILARITY } ae_loss_kind;
enum { AE_LOSS_MAX_TERMS = 4 };

typedef struct {
  int count;
  ae_loss_kind kind[AE_LOSS_MAX_TERMS];
  double weight[AE_LOSS_MAX_TERMS];
} ae_loss_config;

/* "mse", "mae", "vrmse", "similarity"; -1 when unknown. */
int ae_loss_kind_from_name(const char *name);

/* Σ_i w_i·l_i over x, y (B, C, S) and z (B, D); values[i] = l_i (may be NULL). */
double ae_loss_forward(const ae_loss_config *c, const float *x, const float *y, int64_t batch,
                       int64_t channels, int64_t spatial, const float *z, int64_t latent_size,
                       double *values);
/* dy (B, C, S) and dz (B, D) overwritten with dloss·∂loss/∂y, ∂loss/∂z; `tmp`
 * holds max(B·C·S, B·D) floats. */
void ae_loss_backward(const ae_loss_config *c, float *dy, float *dz, float *tmp, const float *x,
                      const float *y, int64_t batch, int64_t channels, int64_t spatial, const float *z,
                      int64_t latent_size, double dloss);

/* One training pass: y, z = autoencoder(x); loss; parameter gradients of
 * dloss·loss ACCUMULATE into ae->params.grads. Returns the loss, values[i] =
 * each term (may be NULL). p->act must be empty or hold only what the caller
 * keeps; this pass allocates its activations there. */
double autoencoder_loss_step(autoencoder *ae, const ae_loss_config *loss, const dcae_pass *p, const float *x,
                             int64_t batch, const dcae_grid *grid, bool noisy, double dloss, double *values);

/* ---- checkpoints: parameters and buffers under their state_dict names ---- */

void autoencoder_save(const autoencoder *ae, const char *path, const char *const *metadata);
/* strict as torch's load_state_dict; the eps buffers must hold 1e-5 (the
 * kernels' constant), otherwise the file is rejected naming the buffer. */
void autoencoder_load(autoencoder *ae, const char *path, bool strict);

#endif
