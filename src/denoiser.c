/* The EDM-preconditioned ViT denoiser with time and label embeddings. */
#include "denoiser.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/elementwise.h"
#include "../kernels/embedding.h"
#include "../kernels/backend.h"
#include "../kernels/vector.h"
#include "error.h"
#include "nn/act.h"

void denoiser_declare(denoiser *m, param_registry *params, param_registry *buffers,
                      const denoiser_config *cfg) {
  if (cfg->channels <= 0 || cfg->emb_features <= 0 || cfg->emb_features % 2 || cfg->label_features < 0)
    lola_die(LOLA_EXIT_DECK,
             "denoiser: channels %lld, emb_features %lld (even, positive), label_features %lld",
             (long long)cfg->channels, (long long)cfg->emb_features, (long long)cfg->label_features);
  m->cfg = *cfg;
  m->host_coef = NULL;
  m->host_coef_capacity = 0;
  vit_config vc = cfg->arch;
  vc.in_channels = vc.out_channels = cfg->channels;
  vc.cond_channels = cfg->masked ? cfg->channels : 0;
  vc.mod_features = cfg->emb_features;
  m->cfg.arch = vc;
  int64_t E = cfg->emb_features;
  vit_declare(&m->backbone, params, buffers, "backbone.backbone", &vc);
  m->freqs = params_add(buffers, "backbone.time_embedding.0.freqs", 1, (int64_t[]){E / 2});
  mlp_declare_at(&m->time_embedding, params, "backbone.time_embedding", 1, E, E, E);
  if (cfg->label_features > 0)
    mlp_declare(&m->label_embedding, params, "backbone.label_embedding", cfg->label_features, E, E);
}

void denoiser_init(const denoiser *m, param_registry *params, param_registry *buffers, rng_key key) {
  vit_init(&m->backbone, params, buffers, key);
  k_sine_freqs(params_value(buffers, m->freqs), m->cfg.emb_features, K_SINE_OMEGA);
  mlp_init(&m->time_embedding, params, key);
  if (m->cfg.label_features > 0) mlp_init(&m->label_embedding, params, key);
}

void denoiser_free(denoiser *m) {
  vit_free(&m->backbone);
  free(m->host_coef);
  m->host_coef = NULL;
  m->host_coef_capacity = 0;
}

size_t denoiser_activation_bytes(const denoiser *m, int64_t batch, const int64_t *shape) {
  int64_t S = 1, E = m->cfg.emb_features;
  for (int d = 0; d < m->cfg.arch.spatial; d++) S *= shape[d];
  int64_t n = batch * m->cfg.channels * S;
  size_t bytes =
      4 * act_bytes(batch) + act_bytes(batch * E) * 3 + mlp_activation_bytes(&m->time_embedding, batch);
  if (m->cfg.label_features > 0) bytes += mlp_activation_bytes(&m->label_embedding, batch);
  bytes += 2 * act_bytes(n) + vit_activation_bytes(&m->backbone, batch, shape); /* xin, f */
  bytes += act_bytes(n) + act_bytes(batch);         /* masked: x_clamped, clamp scale */
  bytes += 3 * act_bytes(n) + act_bytes(batch * E); /* backward */
  return bytes;
}

void denoiser_forward(denoiser *m, const param_registry *params, const param_registry *buffers, arena *act,
                      float *mean, float *var, const float *x_t, const float *t, const float *label,
                      const float *cond, int64_t batch, const int64_t *shape, const nn_mode *mode) {
  int64_t S = 1, E = m->cfg.emb_features;
  for (int d = 0; d < m->cfg.arch.spatial; d++) S *= shape[d];
  int64_t P = m->cfg.channels * S, n = batch * P;
  m->batch = batch;
  m->per_sample = P;
  m->x_t = x_t;
  m->cond = cond;
  m->c_in = arena_floats(act, batch);
  m->c_out = arena_floats(act, batch);
  m->c_skip = arena_floats(act, batch);
  m->c_noise = arena_floats(act, batch);
  float *h = host_floats(&m->host_coef, &m->host_coef_capacity, 5 * batch,
                         "denoiser coefficients"); /* c_in, c_out, c_skip, c_noise, var */
  for (int64_t b = 0; b < batch; b++) {
    edm_coefficients c = edm_precondition(&m->cfg.schedule, t[b]);
    h[b] = (float)c.c_in;
    h[batch + b] = (float)c.c_out;
    h[2 * batch + b] = (float)c.c_skip;
    h[3 * batch + b] = (float)c.c_noise;
    h[4 * batch + b] = (float)c.var;
  }
  size_t vec = (size_t)batch * sizeof(float);
  k_upload(m->c_in, h, vec);
  k_upload(m->c_out, h + batch, vec);
  k_upload(m->c_skip, h + 2 * batch, vec);
  k_upload(m->c_noise, h + 3 * batch, vec);
  if (var) k_upload(var, h + 4 * batch, vec);
  /* emb = time_embedding(c_noise) + label_embedding(label) */
  m->enc = arena_floats(act, batch * E);
  m->emb = arena_floats(act, batch * E);
  k_sine_encoding_fwd(m->enc, m->c_noise, params_value(buffers, m->freqs), batch, E);
  mlp_forward(&m->time_embedding, params, act, m->emb, m->enc, batch);
  m->emb_label = NULL;
  if (m->cfg.label_features > 0 && label) { /* EmbeddingWrapper: no label, time only */
    m->emb_label = arena_floats(act, batch * E);
    mlp_forward(&m->label_embedding, params, act, m->emb_label, label, batch);
    k_add(m->emb, m->emb_label, batch * E);
  }
  m->xin = arena_floats(act, n);
  m->f = arena_floats(act, n);
  k_scale_fwd(m->xin, x_t, m->c_in, batch, P);
  vit_forward(&m->backbone, params, buffers, act, m->f, m->xin, m->emb, cond, batch, shape, mode);
  k_axpby_rows(mean, m->c_skip, x_t, m->c_out, m->f, batch, P); /* c_skip·x_t + c_out·F */
}

void denoiser_backward(denoiser *m, param_registry *params, arena *act, float *dx_t, const float *dmean) {
  int64_t B = m->batch, P = m->per_sample, n = B * P, E = m->cfg.emb_features;
  size_t mark = act_mark(act);
  float *df = arena_floats(act, n), *dxin = dx_t ? arena_floats(act, n) : NULL;
  float *demb = arena_floats(act, B * E);
  k_axpby_rows(df, m->c_out, dmean, NULL, NULL, B, P);
  vit_backward(&m->backbone, params, act, dxin, demb, NULL, df);
  if (dx_t) k_axpby_rows(dx_t, m->c_skip, dmean, m->c_in, dxin, B, P);
  mlp_backward(&m->time_embedding, params, act, NULL, demb);
  if (m->emb_label) mlp_backward(&m->label_embedding, params, act, NULL, demb);
  act_release(act, mark);
}

void denoiser_masked_forward(denoiser *m, const param_registry *params, const param_registry *buffers,
                             arena *act, float *mean, float *var, const float *x_t, const float *t,
                             const float *label, const float *y, const float *mask, int64_t batch,
                             const int64_t *shape, const nn_mode *mode) {
  int64_t S = 1;
  for (int d = 0; d < m->cfg.arch.spatial; d++) S *= shape[d];
  int64_t P = m->cfg.channels * S;
  if (!m->cfg.masked)
    lola_die(LOLA_EXIT_RUNTIME, "denoiser: masked forward of a denoiser built without masked = true");
  m->mask = mask;
  m->x_clamped = arena_floats(act, batch * P);
  float *scale = arena_floats(act, batch),
        *h = host_floats(&m->host_coef, &m->host_coef_capacity, batch, "denoiser coefficients");
  for (int64_t b = 0; b < batch; b++) {
    edm_coefficients c = edm_precondition(&m->cfg.schedule, t[b]);
    h[b] = (float)sqrt(c.alpha * c.alpha + c.sigma * c.sigma);
  }
  k_upload(scale, h, (size_t)batch * sizeof(float));
  /* x_t <- sqrt(alpha² + sigma²)·y where observed */
  k_axpby_rows(m->x_clamped, scale, y, NULL, NULL, batch, P);
  k_select(m->x_clamped, mask, m->x_clamped, x_t, batch * P);
  denoiser_forward(m, params, buffers, act, mean, var, m->x_clamped, t, label, mask, batch, shape, mode);
  k_select(mean, mask, y, mean, batch * P);
}

void denoiser_masked_backward(denoiser *m, param_registry *params, arena *act, float *dx_t,
                              const float *dmean) {
  int64_t n = m->batch * m->per_sample;
  size_t mark = act_mark(act);
  float *dq = arena_floats(act, n);
  k_select(dq, m->mask, NULL, dmean, n);
  denoiser_backward(m, params, act, dx_t, dq);
  if (dx_t) k_select(dx_t, m->mask, NULL, dx_t, n);
  act_release(act, mark);
}
