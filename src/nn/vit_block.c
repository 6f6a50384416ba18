/* ViTBlock: AdaLN-Zero, attention, FFN and the two mixings. */
#include "vit_block.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../kernels/elementwise.h"
#include "../../kernels/norm.h"
#include "../../kernels/rope.h"
#include "../../kernels/vector.h"
#include "act.h"

void vit_block_declare(vit_block *m, param_registry *r, const char *prefix, const vit_block_config *cfg) {
  char name[PARAM_NAME_MAX];
  int64_t C = cfg->channels;
  m->cfg = *cfg;
  m->first_param = r->count;
  snprintf(name, sizeof name, "%s.ada_zero", prefix);
  modulation_declare(&m->ada_zero, r, name, C, cfg->mod_features);
  snprintf(name, sizeof name, "%s.msa", prefix);
  mhsa_declare(&m->msa, r, name, C, cfg->heads, cfg->qk_norm);
  m->theta = -1;
  if (cfg->rope) {
    snprintf(name, sizeof name, "%s.theta", prefix);
    m->theta = params_add(r, name, 2, (int64_t[]){cfg->spatial, C / 2});
  }
  snprintf(name, sizeof name, "%s.ffn.0", prefix);
  linear_declare(&m->ffn0, r, name, C, cfg->ffn_factor * C, true);
  snprintf(name, sizeof name, "%s.ffn.3", prefix);
  linear_declare(&m->ffn3, r, name, cfg->ffn_factor * C, C, true);
  m->end_param = r->count;
}

/* theta = 100^(-U(0,1)) · normalize(N(0,1)^(spatial, C/2), dim=0) */
static void theta_init(const vit_block *m, param_registry *r, rng_key key) {
  int64_t pairs = m->cfg.channels / 2, N = m->cfg.spatial;
  float *theta = params_value(r, m->theta);
  param_fill_normal(r, m->theta, key, 1.0f);
  rng_key amp_key = key; /* the amplitudes' own stream, apart from the directions' */
  amp_key.step ^= 0xA3u;
  for (int64_t j = 0; j < pairs; j++) {
    double norm = 0;
    for (int64_t d = 0; d < N; d++) norm += (double)theta[d * pairs + j] * theta[d * pairs + j];
    norm = fmax(sqrt(norm), 1e-12); /* F.normalize's eps */
    float u;
    rng_uniform(&u, 1, amp_key, (uint64_t)m->theta, j);
    double amp = pow(1e2, -(double)u);
    for (int64_t d = 0; d < N; d++) theta[d * pairs + j] = (float)(amp * theta[d * pairs + j] / norm);
  }
}

void vit_block_init(const vit_block *m, param_registry *r, rng_key key) {
  modulation_init(&m->ada_zero, r, key);
  mhsa_init(&m->msa, r, key);
  if (m->theta >= 0) theta_init(m, r, key);
  linear_init(&m->ffn0, r, key);
  linear_init(&m->ffn3, r, key);
}

size_t vit_block_saved_bytes(const vit_block *m, int64_t batch, int64_t tokens) {
  int64_t C = m->cfg.channels, F = m->cfg.ffn_factor * C, n = batch * tokens * C, nf = batch * tokens * F;
  size_t saved =
      5 * act_bytes(n) + act_bytes(batch * tokens) + 2 * act_bytes(nf); /* ln h g r mixed, rstd, f0 f1 */
  if (m->theta >= 0) saved += act_bytes(tokens * C / 2);
  saved += modulation_activation_bytes(&m->ada_zero, batch); /* with its small backward scratch */
  return saved + mhsa_saved_bytes(&m->msa, batch, tokens, m->theta >= 0);
}

size_t vit_block_scratch_bytes(const vit_block *m, int64_t batch, int64_t tokens) {
  int64_t C = m->cfg.channels, F = m->cfg.ffn_factor * C, n = batch * tokens * C, nf = batch * tokens * F;
  /* backward: dmixed, dr, dg, dh, dln, two FFN-sized, angle gradient, then the attention's above them */
  size_t scratch = 5 * act_bytes(n) + 2 * act_bytes(nf) + act_bytes(tokens * C / 2);
  return scratch + mhsa_scratch_bytes(&m->msa, batch, tokens);
}

size_t vit_block_activation_bytes(const vit_block *m, int64_t batch, int64_t tokens) {
  return vit_block_saved_bytes(m, batch, tokens) + vit_block_scratch_bytes(m, batch, tokens);
}

void vit_block_forward(vit_block *m, const param_registry *r, arena *act, float *y, const float *x,
                       const float *mod, const float *coo, const bool *mask, const float *skip, int64_t batch,
                       int64_t tokens, const nn_mode *mode, uint64_t site) {
  int64_t C = m->cfg.channels, F = m->cfg.ffn_factor * C, rows = batch * tokens, n = rows * C;
  m->batch = batch;
  m->tokens = tokens;
  m->mode = *mode;
  m->site = site;
  m->x = x;
  m->skip = skip;
  m->coo = coo;
  modulation_forward(&m->ada_zero, r, act, mod, batch);
  int64_t vs = m->ada_zero.vstride;
  const float *a = modulation_vec(&m->ada_zero, r, 0), *b = modulation_vec(&m->ada_zero, r, 1);
  const float *c = modulation_vec(&m->ada_zero, r, 2), *d = modulation_vec(&m->ada_zero, r, 3);

  m->ln = arena_floats(act, n);
  m->ln_rstd = arena_floats(act, rows);
  m->h = arena_floats(act, n);
  m->g = arena_floats(act, n);
  m->f0 = arena_floats(act, rows * F);
  m->f1 = arena_floats(act, rows * F);
  bool drop = mode->training && m->cfg.dropout > 0;
  m->r = arena_floats(act, n);
  m->mixed = arena_floats(act, n);
  m->angles = NULL;
  if (m->theta >= 0) {
    m->angles = arena_floats(act, tokens * C / 2);
    k_rope_angles_fwd(m->angles, coo, params_value(r, m->theta), tokens, m->cfg.spatial, C / 2);
  }

  k_layernorm_fwd(m->ln, m->ln_rstd, x, rows, C);
  k_modulate_fwd(m->h, m->ln, a, b, vs, batch, C, tokens, K_TOKENS);
  mhsa_forward(&m->msa, r, act, m->g, m->h, m->angles, mask, batch, tokens);
  k_add(m->g, m->h, n); /* y = y + msa(y) */
  linear_forward(&m->ffn0, r, m->f0, m->g, rows);
  k_silu_fwd(m->f1, m->f0, rows * F);
  if (drop)
    k_dropout_fwd(m->f1, m->f1, batch, tokens * F, m->cfg.dropout, nn_mode_site_key(mode, site),
                  mode->first_sample);
  linear_forward(&m->ffn3, r, m->r, m->f1, rows);
  if (skip) {
    k_residual_mix_fwd(m->mixed, x, m->r, c, vs, batch, C, tokens, K_TOKENS);
    k_residual_mix_fwd(y, m->mixed, skip, d, vs, batch, C, tokens, K_TOKENS);
  } else {
    k_residual_mix_fwd(y, x, m->r, c, vs, batch, C, tokens, K_TOKENS);
  }
}

void vit_block_backward(vit_block *m, param_registry *r, arena *act, float *dx, float *dskip, float *dmod,
                        const float *dy) {
  int64_t C = m->cfg.channels, F = m->cfg.ffn_factor * C, B = m->batch, L = m->tokens, rows = B * L,
          n = rows * C;
  int64_t vs = m->ada_zero.vstride;
  const float *a = modulation_vec(&m->ada_zero, r, 0), *c = modulation_vec(&m->ada_zero, r, 2);
  const float *d = modulation_vec(&m->ada_zero, r, 3);
  float *ga = modulation_grad(&m->ada_zero, r, 0), *gb = modulation_grad(&m->ada_zero, r, 1);
  float *gc = modulation_grad(&m->ada_zero, r, 2), *gd = modulation_grad(&m->ada_zero, r, 3);
  size_t mark = act_mark(act);
  float *dmixed = arena_floats(act, n), *dr = arena_floats(act, n), *dg = arena_floats(act, n);
  float *dh = arena_floats(act, n), *dln = arena_floats(act, n);
  float *df = arena_floats(act, rows * F), *df0 = arena_floats(act, rows * F);
  float *dangles = NULL;
  if (m->theta >= 0) {
    dangles = arena_floats(act, L * C / 2);
    k_fill(dangles, 0.0f, L * C / 2);
  }
  float *dres = dmixed; /* the gradient reaching the residual mixing */
  if (m->skip) {
    k_residual_mix_bwd(dmixed, dskip, gd, dy, m->mixed, m->skip, d, vs, B, C, L, K_TOKENS);
  } else {
    dres = (float *)dy;
    if (dskip) k_fill(dskip, 0.0f, n);
  }
  /* the residual mixing's x gradient goes to dln's buffer for now, added to dx at the end */
  k_residual_mix_bwd(dln, dr, gc, dres, m->x, m->r, c, vs, B, C, L, K_TOKENS);
  linear_backward(&m->ffn3, r, df, dr, m->f1, rows);
  if (m->mode.training && m->cfg.dropout > 0) {
    k_dropout_bwd(df0, df, B, L * F, m->cfg.dropout, nn_mode_site_key(&m->mode, m->site),
                  m->mode.first_sample);
    float *t = df;
    df = df0, df0 = t;
  }
  k_silu_bwd(df0, df, m->f0, rows * F);
  linear_backward(&m->ffn0, r, dg, df0, m->g, rows);
  mhsa_backward(&m->msa, r, act, dh, dangles, dg);
  k_add(dh, dg, n); /* g = h + msa(h) */
  if (dangles) k_rope_angles_bwd(params_grad(r, m->theta), dangles, m->coo, L, m->cfg.spatial, C / 2);
  k_modulate_bwd(dmixed, ga, gb, dh, m->ln, a, vs, B, C, L, K_TOKENS);
  if (dx) {
    k_layernorm_bwd(dx, dmixed, m->ln, m->ln_rstd, rows, C);
    k_add(dx, dln, n);
  }
  modulation_backward(&m->ada_zero, r, act, dmod);
  act_release(act, mark);
}
