/* The masked surrogate: x·mask and the mask into the ViT, labels as modulation. */
#include "surrogate.h"

#include "../kernels/vector.h"
#include "error.h"
#include "nn/act.h"

void surrogate_declare(surrogate *m, param_registry *params, param_registry *buffers,
                       const surrogate_config *cfg) {
  if (cfg->channels <= 0 || cfg->label_features < 0 || (cfg->label_features > 0 && cfg->emb_features <= 0))
    lola_die(LOLA_EXIT_DECK, "surrogate: channels %lld, label_features %lld, emb_features %lld are not valid",
             (long long)cfg->channels, (long long)cfg->label_features, (long long)cfg->emb_features);
  m->cfg = *cfg;
  vit_config vc = cfg->arch;
  vc.in_channels = vc.out_channels = vc.cond_channels = cfg->channels;
  vc.mod_features = cfg->label_features > 0 ? cfg->emb_features : 0;
  m->cfg.arch = vc;
  vit_declare(&m->backbone, params, buffers, "backbone", &vc);
  if (cfg->label_features > 0)
    mlp_declare(&m->label_embedding, params, "label_embedding", cfg->label_features, cfg->emb_features,
                cfg->emb_features);
}

void surrogate_init(const surrogate *m, param_registry *params, param_registry *buffers, rng_key key) {
  vit_init(&m->backbone, params, buffers, key);
  if (m->cfg.label_features > 0) mlp_init(&m->label_embedding, params, key);
}

void surrogate_free(surrogate *m) { vit_free(&m->backbone); }

size_t surrogate_activation_bytes(const surrogate *m, int64_t batch, const int64_t *shape) {
  int64_t S = 1;
  for (int d = 0; d < m->cfg.arch.spatial; d++) S *= shape[d];
  size_t bytes = act_bytes(batch * m->cfg.channels * S) + vit_activation_bytes(&m->backbone, batch, shape);
  if (m->cfg.label_features > 0)
    bytes += 2 * act_bytes(batch * m->cfg.emb_features) + mlp_activation_bytes(&m->label_embedding, batch);
  bytes += act_bytes(batch * m->cfg.channels * S); /* backward: d(x·mask) */
  return bytes;
}

void surrogate_forward(surrogate *m, const param_registry *params, const param_registry *buffers, arena *act,
                       float *y, const float *x, const float *mask, const float *label, int64_t batch,
                       const int64_t *shape, const nn_mode *mode) {
  int64_t S = 1;
  for (int d = 0; d < m->cfg.arch.spatial; d++) S *= shape[d];
  m->batch = batch;
  m->numel = batch * m->cfg.channels * S;
  m->mask = mask;
  m->xm = arena_floats(act, m->numel);
  k_mul(m->xm, x, mask, m->numel);
  m->emb = NULL;
  if (m->cfg.label_features > 0) {
    if (!label)
      lola_die(LOLA_EXIT_RUNTIME, "surrogate: %lld label features but no label",
               (long long)m->cfg.label_features);
    m->emb = arena_floats(act, batch * m->cfg.emb_features);
    mlp_forward(&m->label_embedding, params, act, m->emb, label, batch);
  }
  vit_forward(&m->backbone, params, buffers, act, y, m->xm, m->emb, mask, batch, shape, mode);
}

void surrogate_backward(surrogate *m, param_registry *params, arena *act, float *dx, const float *dy) {
  size_t mark = act_mark(act);
  float *demb = m->emb ? arena_floats(act, m->batch * m->cfg.emb_features) : NULL;
  float *dxm = dx ? arena_floats(act, m->numel) : NULL;
  vit_backward(&m->backbone, params, act, dxm, demb, NULL, dy);
  if (dx) k_mul(dx, dxm, m->mask, m->numel);
  if (demb) mlp_backward(&m->label_embedding, params, act, NULL, demb);
  act_release(act, mark);
}
