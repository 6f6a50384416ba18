/* The denoiser's training loss with its time priors. */
#include "denoiser_loss.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/backend.h"
#include "../kernels/vector.h"
#include "error.h"
#include "nn/act.h"

int time_prior_from_name(const char *name) {
  if (!strcmp(name, "uniform")) return TIME_PRIOR_UNIFORM;
  if (!strcmp(name, "beta")) return TIME_PRIOR_BETA;
  if (!strcmp(name, "kumaraswamy")) return TIME_PRIOR_KUMARASWAMY;
  return -1;
}

double time_prior_sample(const time_prior *p, rng_stream *s) {
  switch (p->kind) {
    case TIME_PRIOR_UNIFORM:
      return p->a + (p->b - p->a) * rng_next_uniform(s);
    case TIME_PRIOR_BETA:
      return rng_next_beta(s, p->a, p->b);
    case TIME_PRIOR_KUMARASWAMY:
      return rng_next_kumaraswamy(s, p->a, p->b);
  }
  lola_die(LOLA_EXIT_RUNTIME, "denoiser loss: unknown time prior %d", (int)p->kind);
}

size_t denoiser_loss_activation_bytes(const denoiser *d, int64_t batch, const int64_t *shape) {
  int64_t S = 1;
  for (int k = 0; k < d->cfg.arch.spatial; k++) S *= shape[k];
  int64_t n = batch * d->cfg.channels * S;
  /* x_t, mean, the clamp target; the weights and three coefficient vectors; dmean in backward */
  return 4 * act_bytes(batch) + 4 * act_bytes(n) + denoiser_activation_bytes(d, batch, shape);
}

void denoiser_loss_free(denoiser_loss *L) {
  free(L->host);
  L->host = NULL;
  L->host_capacity = 0;
}

/* x_t = alpha·x + sigma·z with z ~ N(0, I) per sample (the forward process),
 * and x_t = sqrt(alpha² + sigma²)·x on the observed entries of a mask. */
double denoiser_loss_forward(denoiser_loss *L, denoiser *d, const param_registry *params,
                             const param_registry *buffers, arena *act, const float *x, const float *mask,
                             const float *label, int64_t batch, const int64_t *shape, rng_key time_key,
                             rng_key noise_key, uint64_t first_sample, const nn_mode *mode) {
  int64_t S = 1;
  for (int k = 0; k < d->cfg.arch.spatial; k++) S *= shape[k];
  int64_t P = d->cfg.channels * S, n = batch * P;
  if (mask && !d->cfg.masked)
    lola_die(LOLA_EXIT_RUNTIME, "denoiser loss: a context mask for an unmasked denoiser");
  L->batch = batch;
  L->per_sample = P;
  L->x = x;
  L->scale = 1.0 / (double)n;
  /* host: t, 1/var, alpha, sigma, sqrt(alpha² + sigma²) */
  float *h = host_floats(&L->host, &L->host_capacity, 5 * batch, "denoiser loss coefficients"), *t = h,
        *w = h + batch, *alpha = h + 2 * batch, *sigma = h + 3 * batch, *norm = h + 4 * batch;
  for (int64_t b = 0; b < batch; b++) {
    rng_stream s = rng_stream_at(time_key, first_sample + (uint64_t)b);
    t[b] = (float)time_prior_sample(&L->prior, &s);
    edm_coefficients c = edm_precondition(&d->cfg.schedule, t[b]);
    w[b] = (float)(1.0 / c.var);
    alpha[b] = (float)c.alpha;
    sigma[b] = (float)c.sigma;
    norm[b] = (float)sqrt(c.alpha * c.alpha + c.sigma * c.sigma);
  }
  size_t vec = (size_t)batch * sizeof(float);
  L->weight = arena_floats(act, batch);
  float *alpha_d = arena_floats(act, batch), *sigma_d = arena_floats(act, batch);
  k_upload(L->weight, w, vec);
  k_upload(alpha_d, alpha, vec);
  k_upload(sigma_d, sigma, vec);
  L->x_t = arena_floats(act, n);
  L->mean = arena_floats(act, n);
  for (int64_t b = 0; b < batch; b++) /* z */
    k_rng_normal(L->x_t + b * P, P, noise_key, first_sample + (uint64_t)b, 0);
  k_axpby_rows(L->x_t, alpha_d, x, sigma_d, L->x_t, batch, P);
  if (mask) {
    float *norm_d = arena_floats(act, batch), *clamped = arena_floats(act, n);
    k_upload(norm_d, norm, vec);
    k_axpby_rows(clamped, norm_d, x, NULL, NULL, batch, P);
    k_select(L->x_t, mask, clamped, L->x_t, n);
  }
  denoiser_forward(d, params, buffers, act, L->mean, NULL, L->x_t, t, label, mask, batch, shape, mode);
  return k_weighted_sse(L->mean, x, L->weight, batch, P) * L->scale;
}

void denoiser_loss_backward(denoiser_loss *L, denoiser *d, param_registry *params, arena *act, double dloss) {
  int64_t B = L->batch, P = L->per_sample;
  size_t mark = act_mark(act);
  float *dmean = arena_floats(act, B * P), *k = arena_floats(act, B), *h = L->host + B; /* 1/var */
  for (int64_t b = 0; b < B; b++) h[2 * B + b] = (float)(2 * dloss * L->scale * h[b]);
  k_upload(k, h + 2 * B, (size_t)B * sizeof(float)); /* d/dmean of w·(mean − x)² */
  k_diff_rows(dmean, k, L->mean, L->x, B, P);
  denoiser_backward(d, params, act, NULL, dmean);
  act_release(act, mark);
}
