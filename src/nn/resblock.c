/* The DCAE ResBlock (src/nn/resblock.h). */
#include "resblock.h"

#include <stdio.h>
#include <string.h>

#include "../../kernels/elementwise.h"
#include "../../kernels/norm.h"
#include "../error.h"

int resblock_norm_from_name(const char *name) {
  if (strcmp(name, "layer") == 0) return RESBLOCK_LAYER_NORM;
  if (strcmp(name, "group") == 0) return RESBLOCK_GROUP_NORM;
  return -1;
}

/* The FFN convs: the block's kernel, or 1 when attention precedes them. */
static conv_module_config ffn_conv(const resblock_config *c, int64_t cin, int64_t cout) {
  conv_module_config k = conv_module_cube(c->dims, cin, cout, 1, 1, c->circular, false);
  if (c->attention_heads == 0)
    for (int d = 0; d < c->dims; d++) k.kernel[d] = c->kernel[d];
  return k;
}

void resblock_declare(resblock *m, param_registry *params, param_registry *buffers, const char *prefix,
                      const resblock_config *cfg) {
  if (cfg->ffn_factor < 1 || cfg->dropout < 0.0f || cfg->dropout >= 1.0f)
    lola_die(LOLA_EXIT_RUNTIME, "ResBlock '%s': ffn_factor %d, dropout %g", prefix, cfg->ffn_factor,
             (double)cfg->dropout);
  memset(m, 0, sizeof *m);
  m->cfg = *cfg;
  char name[PARAM_NAME_MAX];
  m->eps_buffer = -1;
  if (cfg->norm == RESBLOCK_LAYER_NORM) {
    snprintf(name, sizeof name, "%s.norm.eps", prefix);
    int64_t scalar = 1; /* unused: a 0-dim tensor has no extents */
    m->eps_buffer = params_add(buffers, name, 0, &scalar);
  } else {
    m->groups = cfg->channels < RESBLOCK_GROUPS ? cfg->channels : RESBLOCK_GROUPS;
    if (cfg->channels % m->groups != 0)
      lola_die(LOLA_EXIT_RUNTIME, "ResBlock '%s': GroupNorm of %lld groups does not divide %lld channels",
               prefix, (long long)m->groups, (long long)cfg->channels);
  }
  m->has_attn = cfg->attention_heads > 0;
  if (m->has_attn) {
    snprintf(name, sizeof name, "%s.attn.0", prefix);
    self_attention_nd_config a = {.channels = cfg->channels, .heads = cfg->attention_heads};
    self_attention_nd_declare(&m->attn, params, name, &a);
  }
  int64_t hid = (int64_t)cfg->ffn_factor * cfg->channels;
  conv_module_config c0 = ffn_conv(cfg, cfg->channels, hid), c3 = ffn_conv(cfg, hid, cfg->channels);
  snprintf(name, sizeof name, "%s.ffn.0", prefix);
  conv_module_declare(&m->ffn_in, params, name, &c0);
  snprintf(name, sizeof name, "%s.ffn.3", prefix);
  conv_module_declare(&m->ffn_out, params, name, &c3);
  /* Unique across the model: the registry index of the first FFN weight. */
  m->layer_id = (uint64_t)m->ffn_in.weight;
}

void resblock_init(const resblock *m, param_registry *params, param_registry *buffers, rng_key key) {
  if (m->eps_buffer >= 0) *params_value(buffers, m->eps_buffer) = (float)K_NORM_EPS;
  if (m->has_attn) self_attention_nd_init(&m->attn, params, key);
  conv_module_init(&m->ffn_in, params, key);
  conv_module_init(&m->ffn_out, params, key);
  const conv_module_config *c = &m->ffn_out.cfg;
  int64_t n = c->cout * c->cin * c->kernel[0] * c->kernel[1] * c->kernel[2];
  float *w = params_value(params, m->ffn_out.weight);
  for (int64_t i = 0; i < n; i++) w[i] *= 1e-2f; /* self.ffn[-1].weight.data.mul_(1e-2) */
}

static int64_t rstd_count(const resblock_config *cfg, int64_t batch, int64_t positions) {
  if (cfg->norm == RESBLOCK_LAYER_NORM) return batch * positions;
  return batch * (cfg->channels < RESBLOCK_GROUPS ? cfg->channels : RESBLOCK_GROUPS);
}

size_t resblock_activation_bytes(const resblock_config *cfg, int64_t batch, const dcae_grid *in, bool train) {
  int64_t P = dcae_grid_volume(in), bcp = batch * cfg->channels * P, bhp = cfg->ffn_factor * bcp;
  size_t bytes = dcae_arena_bytes(bcp) + dcae_arena_bytes(rstd_count(cfg, batch, P));
  if (cfg->attention_heads > 0) {
    self_attention_nd_config a = {.channels = cfg->channels, .heads = cfg->attention_heads};
    bytes += self_attention_nd_activation_bytes(&a, batch, P);
  }
  bytes += 2 * dcae_arena_bytes(bhp); /* h, s (the dropout runs in place: training needs no more) */
  (void)train;
  conv_module_config c3 = ffn_conv(cfg, (int64_t)cfg->ffn_factor * cfg->channels, cfg->channels);
  return bytes + conv_module_activation_bytes(&c3, batch, in);
}

size_t resblock_scratch_bytes(const resblock_config *cfg, int64_t batch, const dcae_grid *in) {
  int64_t hid = (int64_t)cfg->ffn_factor * cfg->channels, P = dcae_grid_volume(in);
  conv_module_config c0 = ffn_conv(cfg, cfg->channels, hid), c3 = ffn_conv(cfg, hid, cfg->channels);
  size_t inner =
      dcae_max_size(conv_module_scratch_bytes(&c0, batch, in), conv_module_scratch_bytes(&c3, batch, in));
  if (cfg->attention_heads > 0) {
    self_attention_nd_config a = {.channels = cfg->channels, .heads = cfg->attention_heads};
    inner = dcae_max_size(inner, self_attention_nd_scratch_bytes(&a, batch, P));
  }
  return 2 * dcae_arena_bytes(batch * hid * P) + inner; /* the backward's two gradient buffers */
}

float *resblock_forward(resblock *m, const param_registry *r, const dcae_pass *p, const float *x,
                        int64_t batch, const dcae_grid *grid) {
  const resblock_config *c = &m->cfg;
  int64_t C = c->channels, P = dcae_grid_volume(grid), hid = (int64_t)c->ffn_factor * C;
  m->batch = batch;
  m->grid = *grid;
  m->y_norm = arena_floats(p->act, batch * C * P);
  m->rstd = arena_floats(p->act, rstd_count(c, batch, P));
  if (c->norm == RESBLOCK_LAYER_NORM)
    k_layernorm_channels_fwd(m->y_norm, m->rstd, x, batch, C, P);
  else
    k_groupnorm_fwd(m->y_norm, m->rstd, x, batch, C, m->groups, P);

  const float *ffn_x = m->y_norm;
  m->y_attn = NULL;
  if (m->has_attn) { /* Residual(SelfAttentionNd): y + attn(y), summed into attn's output */
    m->y_attn = self_attention_nd_forward(&m->attn, r, p, m->y_norm, batch, P);
    dcae_add(m->y_attn, m->y_norm, batch * C * P);
    ffn_x = m->y_attn;
  }
  m->h = conv_module_forward(&m->ffn_in, r, p, ffn_x, batch, grid);
  m->s = arena_floats(p->act, batch * hid * P);
  k_silu_fwd(m->s, m->h, batch * hid * P);
  /* Dropout in place: the backward reads the SiLU's input (h) and the last
   * convolution's input (s after the dropout), never the SiLU output before it. */
  m->dropped = p->train && c->dropout > 0.0f;
  if (m->dropped)
    k_dropout_fwd(m->s, m->s, batch, hid * P, c->dropout, dcae_dropout_key(p, m->layer_id), p->first_sample);
  float *y = conv_module_forward(&m->ffn_out, r, p, m->s, batch, grid);
  dcae_add(y, x, batch * C * P);
  return y;
}

void resblock_backward(resblock *m, param_registry *r, const dcae_pass *p, float *dx, const float *dy) {
  const resblock_config *c = &m->cfg;
  int64_t B = m->batch, C = c->channels, P = dcae_grid_volume(&m->grid), hid = (int64_t)c->ffn_factor * C;
  size_t mark = p->scratch->used;
  float *ga = arena_floats(p->scratch, B * hid * P), *gb = arena_floats(p->scratch, B * hid * P);

  conv_module_backward(&m->ffn_out, r, p, ga, dy); /* ga = ∂/∂(dropped-out s) */
  if (m->dropped) {
    k_dropout_bwd(gb, ga, B, hid * P, c->dropout, dcae_dropout_key(p, m->layer_id), p->first_sample);
    k_silu_bwd(ga, gb, m->h, B * hid * P); /* ga = ∂/∂h */
  } else {
    k_silu_bwd(gb, ga, m->h, B * hid * P);
    float *t = ga;
    ga = gb;
    gb = t;
  }
  conv_module_backward(&m->ffn_in, r, p, gb, ga); /* gb = ∂/∂(ffn input) */
  if (m->has_attn) {                              /* ∂/∂y_norm = g + attnᵀ(g) */
    self_attention_nd_backward(&m->attn, r, p, ga, gb);
    dcae_add(gb, ga, B * C * P);
  }
  if (dx) {
    if (c->norm == RESBLOCK_LAYER_NORM)
      k_layernorm_channels_bwd(dx, gb, m->y_norm, m->rstd, B, C, P);
    else
      k_groupnorm_bwd(dx, gb, m->y_norm, m->rstd, B, C, m->groups, P);
    dcae_add(dx, dy, B * C * P);
  }
  p->scratch->used = mark;
}
