/* The reference's EDM denoiser (lola/diffusion.py: get_denoiser,
 * EmbeddingWrapper, ElucidatedDenoiser, MaskedDenoiser):
 *
 *   emb  = time_embedding(c_noise) [+ label_embedding(label)]
 *          time_embedding = SineEncoding(E)–Linear(E, E)–SiLU–Linear(E, E)
 *   F    = ViT(c_in·x_t, emb, cond)             in = out = C, cond = C when masked
 *   mean = c_skip·x_t + c_out·F,   var = σ²/(α² + σ²)
 *
 * with the coefficients of src/schedule.h. The masked denoiser (sampling)
 * clamps the observed entries: x_t ← √(α² + σ²)·y where mask, the condition
 * is the mask, and mean ← y where mask. State dict: "backbone.backbone.*",
 * "backbone.time_embedding.0.freqs" (buffer), "backbone.time_embedding.1.*",
 * "backbone.time_embedding.3.*", "backbone.label_embedding.{0,2}.*". */
#ifndef LOLA_DENOISER_H
#define LOLA_DENOISER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nn/mlp.h"
#include "schedule.h"
#include "vit.h"

typedef struct {
  int64_t channels, emb_features, label_features;
  bool masked; /* the mask enters as C condition channels */
  noise_schedule schedule;
  vit_config arch; /* channel and modulation counts are set from the fields above */
} denoiser_config;

typedef struct {
  denoiser_config cfg;
  vit backbone;
  mlp time_embedding, label_embedding;
  int freqs; /* time SineEncoding buffer */
  /* host scratch for the per-sample coefficients (grown once, on the first forward) */
  float *host_coef;
  int64_t host_coef_capacity;
  /* saved by forward */
  int64_t batch, per_sample;
  const float *x_t, *cond;
  float *c_in, *c_out, *c_skip, *c_noise, *enc, *emb, *emb_label, *xin, *f; /* c_*: (B) on the device */
  /* masked forward */
  const float *mask;
  float *x_clamped;
} denoiser;

void denoiser_declare(denoiser *m, param_registry *params, param_registry *buffers,
                      const denoiser_config *cfg);
void denoiser_init(const denoiser *m, param_registry *params, param_registry *buffers, rng_key key);
void denoiser_free(denoiser *m);
size_t denoiser_activation_bytes(const denoiser *m, int64_t batch, const int64_t *shape);

/* mean (B, C, *shape) and var (B) of the Gaussian denoiser at times t (B,
 * a HOST array: the coefficients are computed on the host) from x_t; label (B, label_features) or NULL (then
 * the time embedding alone modulates, as the reference's EmbeddingWrapper); cond (B, C, *shape), the mask as
 * 0/1 floats, when masked (else NULL). Inputs must stay valid until the backward. var may be NULL. */
void denoiser_forward(denoiser *m, const param_registry *params, const param_registry *buffers, arena *act,
                      float *mean, float *var, const float *x_t, const float *t, const float *label,
                      const float *cond, int64_t batch, const int64_t *shape, const nn_mode *mode);
/* dx_t overwritten (may be NULL; guidance needs it), parameter gradients
 * accumulated, from dmean (var has no parameters). */
void denoiser_backward(denoiser *m, param_registry *params, arena *act, float *dx_t, const float *dmean);

/* The masked denoiser: observation y and mask (B, C, *shape), 1 where observed. */
void denoiser_masked_forward(denoiser *m, const param_registry *params, const param_registry *buffers,
                             arena *act, float *mean, float *var, const float *x_t, const float *t,
                             const float *label, const float *y, const float *mask, int64_t batch,
                             const int64_t *shape, const nn_mode *mode);
void denoiser_masked_backward(denoiser *m, param_registry *params, arena *act, float *dx_t,
                              const float *dmean);

#endif
