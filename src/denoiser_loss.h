/* The reference's DenoiserLoss (lola/diffusion.py): for clean x (B, C, *shape),
 *
 *   t ~ p(t)   (uniform(a, b), beta(a, b) or kumaraswamy(a, b))
 *   x_t = α_t·x + σ_t·z,  z ~ N(0, I)
 *   x_t ← √(α² + σ²)·x where mask (when a context mask is given; the mask is
 *         then the denoiser's condition)
 *   loss = mean((μ(x_t, t) − x)² / var_t)
 *
 * (the variance term of the reference is 0: the schedule's variance has no
 * parameters). Times and noise are drawn per global sample index from the
 * counter-based generator, so they do not depend on the rank count. */
#ifndef LOLA_DENOISER_LOSS_H
#define LOLA_DENOISER_LOSS_H

#include <stdint.h>

#include "../kernels/rng.h"
#include "denoiser.h"

typedef enum { TIME_PRIOR_UNIFORM, TIME_PRIOR_BETA, TIME_PRIOR_KUMARASWAMY } time_prior_kind;

typedef struct {
  time_prior_kind kind;
  double a, b; /* uniform on [a, b), or the two concentrations */
} time_prior;

/* Parse "uniform", "beta", "kumaraswamy"; -1 when unknown. */
int time_prior_from_name(const char *name);
/* One draw of t from the prior, reading the stream. */
double time_prior_sample(const time_prior *p, rng_stream *s);

typedef struct {
  time_prior prior;
  /* saved by forward */
  int64_t batch, per_sample;
  const float *x;
  float *x_t, *mean, *weight; /* device: noised input, denoiser mean, 1/var per sample */
  double scale;               /* 1 / (B·C·S) */
  /* host: t, 1/var and the noising coefficients per sample (grown once, on the first forward) */
  float *host;
  int64_t host_capacity;
} denoiser_loss;

size_t denoiser_loss_activation_bytes(const denoiser *d, int64_t batch, const int64_t *shape);
/* The loss of a batch whose first sample has global index `first_sample`;
 * times from (time_key, sample), noise from (noise_key, sample). mask (B, C,
 * *shape) 0/1 or NULL; label or NULL. */
double denoiser_loss_forward(denoiser_loss *L, denoiser *d, const param_registry *params,
                             const param_registry *buffers, arena *act, const float *x, const float *mask,
                             const float *label, int64_t batch, const int64_t *shape, rng_key time_key,
                             rng_key noise_key, uint64_t first_sample, const nn_mode *mode);
/* Accumulate the parameter gradients of dloss · loss. */
void denoiser_loss_backward(denoiser_loss *L, denoiser *d, param_registry *params, arena *act, double dloss);
/* The host scratch. */
void denoiser_loss_free(denoiser_loss *L);

#endif
