/* Multi-head self-attention over the positions of a channel-first tensor
 * (src/nn/self_attention_nd.h), from the engine's layout, linear and fused
 * attention kernels: every array is touched through a kernel only. */
#include "self_attention_nd.h"

#include <math.h>
#include <stdio.h>

#include "../../kernels/attention.h"
#include "../../kernels/elementwise.h"
#include "../../kernels/linear.h"
#include "../error.h"

void self_attention_nd_declare(self_attention_nd *m, param_registry *r, const char *prefix,
                               const self_attention_nd_config *cfg) {
  if (cfg->heads < 1 || cfg->channels % cfg->heads != 0)
    lola_die(LOLA_EXIT_RUNTIME, "self-attention '%s': %d heads do not divide %lld channels", prefix,
             cfg->heads, (long long)cfg->channels);
  m->cfg = *cfg;
  int64_t c = cfg->channels, in_w[2] = {3 * c, c}, in_b = 3 * c, out_w[2] = {c, c};
  char name[PARAM_NAME_MAX];
  snprintf(name, sizeof name, "%s.in_proj_weight", prefix);
  m->in_w = params_add(r, name, 2, in_w);
  snprintf(name, sizeof name, "%s.in_proj_bias", prefix);
  m->in_b = params_add(r, name, 1, &in_b);
  snprintf(name, sizeof name, "%s.out_proj.weight", prefix);
  m->out_w = params_add(r, name, 2, out_w);
  snprintf(name, sizeof name, "%s.out_proj.bias", prefix);
  m->out_b = params_add(r, name, 1, &c);
  m->tok = NULL;
}

void self_attention_nd_init(const self_attention_nd *m, param_registry *r, rng_key key) {
  int64_t c = m->cfg.channels;
  dcae_init_uniform(params_value(r, m->in_w), 3 * c * c, sqrt(6.0 / (double)(c + 3 * c)), key, m->in_w);
  dcae_init_uniform(params_value(r, m->out_w), c * c, 1.0 / sqrt((double)c), key, m->out_w);
  float *ib = params_value(r, m->in_b), *ob = params_value(r, m->out_b); /* host: before params_to_device */
  for (int64_t i = 0; i < 3 * c; i++) ib[i] = 0.0f;
  for (int64_t i = 0; i < c; i++) ob[i] = 0.0f;
}

size_t self_attention_nd_activation_bytes(const self_attention_nd_config *cfg, int64_t batch,
                                          int64_t tokens) {
  int64_t btc = batch * tokens * cfg->channels;
  /* tok, q, k, v, att, lse, y */
  return 6 * dcae_arena_bytes(btc) + dcae_arena_bytes(batch * cfg->heads * tokens);
}

size_t self_attention_nd_scratch_bytes(const self_attention_nd_config *cfg, int64_t batch, int64_t tokens) {
  int64_t btc = batch * tokens * cfg->channels;
  size_t work = dcae_arena_bytes(k_attention_workspace_floats(tokens, cfg->channels / cfg->heads));
  /* forward: the fused qkv, then the workspace, then the projected tokens, one at a time */
  size_t fwd = dcae_max_size(dcae_arena_bytes(3 * btc), work);
  /* backward: d_out, d_att, dq, dk, dv, then the workspace or the fused dqkv */
  size_t bwd = 5 * dcae_arena_bytes(btc) + dcae_max_size(work, dcae_arena_bytes(3 * btc));
  return dcae_max_size(fwd, bwd);
}

float *self_attention_nd_forward(self_attention_nd *m, const param_registry *r, const dcae_pass *p,
                                 const float *x, int64_t batch, int64_t tokens) {
  int64_t B = batch, N = tokens, C = m->cfg.channels, H = m->cfg.heads, Dh = C / H, n = B * N * C;
  m->batch = B;
  m->tokens = N;
  m->tok = arena_floats(p->act, n);
  m->q = arena_floats(p->act, n);
  m->k = arena_floats(p->act, n);
  m->v = arena_floats(p->act, n);
  m->att = arena_floats(p->act, n);
  m->lse = arena_floats(p->act, B * H * N);
  float *y = arena_floats(p->act, n);

  size_t mark = p->scratch->used;
  k_to_tokens_fwd(m->tok, x, B, C, N);
  float *qkv_tok = arena_floats(p->scratch, 3 * n);
  k_linear_fwd(qkv_tok, m->tok, params_value(r, m->in_w), params_value(r, m->in_b), B * N, C, 3 * C);
  k_qkv_split_fwd(m->q, m->k, m->v, qkv_tok, B * N, C); /* the 3C features as (3, heads, Dh) */
  p->scratch->used = mark;
  float *work = arena_floats(p->scratch, k_attention_workspace_floats(N, Dh));
  k_attention_fwd(m->att, m->lse, m->q, m->k, m->v, NULL, B, N, H, Dh, work);
  p->scratch->used = mark;
  float *out_tok = arena_floats(p->scratch, n);
  k_linear_fwd(out_tok, m->att, params_value(r, m->out_w), params_value(r, m->out_b), B * N, C, C);
  k_to_channels_fwd(y, out_tok, B, C, N);
  p->scratch->used = mark;
  return y;
}

void self_attention_nd_backward(const self_attention_nd *m, param_registry *r, const dcae_pass *p, float *dx,
                                const float *dy) {
  if (!m->tok) lola_die(LOLA_EXIT_RUNTIME, "self-attention: backward without a forward");
  int64_t B = m->batch, N = m->tokens, C = m->cfg.channels, H = m->cfg.heads, Dh = C / H, n = B * N * C;
  size_t mark = p->scratch->used;
  float *d_out = arena_floats(p->scratch, n), *d_att = arena_floats(p->scratch, n);
  float *dq = arena_floats(p->scratch, n), *dk = arena_floats(p->scratch, n),
        *dv = arena_floats(p->scratch, n);
  size_t inner = p->scratch->used;

  k_to_channels_bwd(d_out, dy, B, C, N);
  k_linear_bwd(d_att, params_grad(r, m->out_w), params_grad(r, m->out_b), d_out, m->att,
               params_value(r, m->out_w), B * N, C, C);
  float *work = arena_floats(p->scratch, k_attention_workspace_floats(N, Dh));
  k_attention_bwd(dq, dk, dv, d_att, m->q, m->k, m->v, m->att, m->lse, NULL, B, N, H, Dh, work);
  p->scratch->used = inner;
  float *d_qkv = arena_floats(p->scratch, 3 * n);
  k_qkv_split_bwd(d_qkv, dq, dk, dv, B * N, C);
  /* d_out is free again: it takes the token gradient. */
  k_linear_bwd(d_out, params_grad(r, m->in_w), params_grad(r, m->in_b), d_qkv, m->tok,
               params_value(r, m->in_w), B * N, C, 3 * C);
  if (dx) k_to_tokens_bwd(dx, d_out, B, C, N);
  p->scratch->used = mark;
}
