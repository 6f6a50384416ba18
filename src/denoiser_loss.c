/* The denoiser's training loss with its time priors. */
#include "denoiser_loss.h"

#include <math.h>
#include <string.h>

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
  return 2 * act_bytes(batch) + 3 * act_bytes(n) + denoiser_activation_bytes(d, batch, shape);
}

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
  L->t = arena_floats(act, batch);
  L->var = arena_floats(act, batch);
  L->x_t = arena_floats(act, n);
  L->mean = arena_floats(act, n);
  for (int64_t b = 0; b < batch; b++) {
    rng_stream s = rng_stream_at(time_key, first_sample + (uint64_t)b);
    L->t[b] = (float)time_prior_sample(&L->prior, &s);
    edm_coefficients c = edm_precondition(&d->cfg.schedule, L->t[b]);
    float *xt = L->x_t + b * P;
    const float *xb = x + b * P;
    rng_normal(xt, P, noise_key, first_sample + (uint64_t)b, 0); /* z */
    float alpha = (float)c.alpha, sigma = (float)c.sigma,
          norm = (float)sqrt(c.alpha * c.alpha + c.sigma * c.sigma);
    for (int64_t i = 0; i < P; i++) {
      xt[i] = alpha * xb[i] + sigma * xt[i];
      if (mask && mask[b * P + i] != 0) xt[i] = norm * xb[i];
    }
  }
  denoiser_forward(d, params, buffers, act, L->mean, L->var, L->x_t, L->t, label, mask, batch, shape, mode);
  double loss = 0;
  for (int64_t b = 0; b < batch; b++)
    for (int64_t i = b * P; i < (b + 1) * P; i++) {
      double e = (double)L->mean[i] - x[i];
      loss += e * e / L->var[b];
    }
  return loss * L->scale;
}

void denoiser_loss_backward(denoiser_loss *L, denoiser *d, param_registry *params, arena *act, double dloss) {
  int64_t B = L->batch, P = L->per_sample;
  size_t mark = act_mark(act);
  float *dmean = arena_floats(act, B * P);
  for (int64_t b = 0; b < B; b++) {
    double k = 2 * dloss * L->scale / L->var[b];
    for (int64_t i = b * P; i < (b + 1) * P; i++) dmean[i] = (float)(k * ((double)L->mean[i] - L->x[i]));
  }
  denoiser_backward(d, params, act, NULL, dmean);
  act_release(act, mark);
}
