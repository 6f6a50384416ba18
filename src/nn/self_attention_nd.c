/* Multi-head self-attention over the positions of a channel-first tensor
 * (src/nn/self_attention_nd.h), from the engine's linear, bmm and layout
 * kernels plus the head split and the row softmax written here. */
#include "self_attention_nd.h"

#include <math.h>
#include <stdio.h>

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
  float *ib = params_value(r, m->in_b), *ob = params_value(r, m->out_b);
  for (int64_t i = 0; i < 3 * c; i++) ib[i] = 0.0f;
  for (int64_t i = 0; i < c; i++) ob[i] = 0.0f;
}

size_t self_attention_nd_activation_bytes(const self_attention_nd_config *cfg, int64_t batch,
                                          int64_t tokens) {
  int64_t btc = batch * tokens * cfg->channels;
  return dcae_arena_bytes(btc) + dcae_arena_bytes(3 * btc) +
         dcae_arena_bytes(batch * cfg->heads * tokens * tokens) + dcae_arena_bytes(btc) +
         dcae_arena_bytes(btc);
}

size_t self_attention_nd_scratch_bytes(const self_attention_nd_config *cfg, int64_t batch, int64_t tokens) {
  int64_t btc = batch * tokens * cfg->channels;
  size_t fwd = dcae_arena_bytes(3 * btc) + 2 * dcae_arena_bytes(btc);
  size_t bwd = 3 * dcae_arena_bytes(btc) + dcae_arena_bytes(batch * cfg->heads * tokens * tokens) +
               2 * dcae_arena_bytes(3 * btc);
  return dcae_max_size(fwd, bwd);
}

/* Token features (B, N, H, Dh) <-> per-head (B, H, N, Dh): `rows` = B, the
 * token-major array has row stride `stride` (3C for the fused qkv, C otherwise). */
static void tokens_to_heads(float *heads, const float *tok, int64_t B, int64_t N, int64_t H, int64_t Dh,
                            int64_t stride) {
#pragma omp parallel for collapse(2) schedule(static) if (B * N * H * Dh > 65536)
  for (int64_t b = 0; b < B; b++)
    for (int64_t h = 0; h < H; h++)
      for (int64_t n = 0; n < N; n++)
        for (int64_t e = 0; e < Dh; e++)
          heads[((b * H + h) * N + n) * Dh + e] = tok[(b * N + n) * stride + h * Dh + e];
}

static void heads_to_tokens(float *tok, const float *heads, int64_t B, int64_t N, int64_t H, int64_t Dh,
                            int64_t stride) {
#pragma omp parallel for collapse(2) schedule(static) if (B * N * H * Dh > 65536)
  for (int64_t b = 0; b < B; b++)
    for (int64_t n = 0; n < N; n++)
      for (int64_t h = 0; h < H; h++)
        for (int64_t e = 0; e < Dh; e++)
          tok[(b * N + n) * stride + h * Dh + e] = heads[((b * H + h) * N + n) * Dh + e];
}

/* In place over `rows` rows of n: p = softmax(scale·s), summed in double. */
static void softmax_rows(float *s, int64_t rows, int64_t n, float scale) {
#pragma omp parallel for schedule(static) if (rows * n > 65536)
  for (int64_t r = 0; r < rows; r++) {
    float *row = s + r * n, mx = -INFINITY;
    for (int64_t j = 0; j < n; j++) mx = fmaxf(mx, row[j] * scale);
    double sum = 0.0;
    for (int64_t j = 0; j < n; j++) {
      row[j] = expf(row[j] * scale - mx);
      sum += row[j];
    }
    float inv = (float)(1.0 / sum);
    for (int64_t j = 0; j < n; j++) row[j] *= inv;
  }
}

/* ds = scale·p ⊙ (dp − Σ_j dp·p), in place into dp. */
static void softmax_rows_bwd(float *dp, const float *p, int64_t rows, int64_t n, float scale) {
#pragma omp parallel for schedule(static) if (rows * n > 65536)
  for (int64_t r = 0; r < rows; r++) {
    float *d = dp + r * n;
    const float *pr = p + r * n;
    double dot = 0.0;
    for (int64_t j = 0; j < n; j++) dot += (double)d[j] * pr[j];
    for (int64_t j = 0; j < n; j++) d[j] = scale * pr[j] * (d[j] - (float)dot);
  }
}

float *self_attention_nd_forward(self_attention_nd *m, const param_registry *r, const dcae_pass *p,
                                 const float *x, int64_t batch, int64_t tokens) {
  int64_t B = batch, N = tokens, C = m->cfg.channels, H = m->cfg.heads, Dh = C / H, BH = B * H;
  m->batch = B;
  m->tokens = N;
  m->tok = arena_floats(p->act, B * N * C);
  m->qkv = arena_floats(p->act, 3 * B * N * C);
  m->probs = arena_floats(p->act, BH * N * N);
  m->o_tok = arena_floats(p->act, B * N * C);
  float *y = arena_floats(p->act, B * N * C);

  size_t mark = p->scratch->used;
  float *qkv_tok = arena_floats(p->scratch, 3 * B * N * C);
  float *o = arena_floats(p->scratch, B * N * C), *out_tok = arena_floats(p->scratch, B * N * C);
  k_to_tokens_fwd(m->tok, x, B, C, N);
  k_linear_fwd(qkv_tok, m->tok, params_value(r, m->in_w), params_value(r, m->in_b), B * N, C, 3 * C);
  for (int part = 0; part < 3; part++)
    tokens_to_heads(m->qkv + part * B * N * C, qkv_tok + part * C, B, N, H, Dh, 3 * C);
  const float *q = m->qkv, *k = q + B * N * C, *v = k + B * N * C;
  k_bmm_fwd(m->probs, q, k, BH, N, N, Dh, false, true);
  softmax_rows(m->probs, BH * N, N, (float)(1.0 / sqrt((double)Dh)));
  k_bmm_fwd(o, m->probs, v, BH, N, Dh, N, false, false);
  heads_to_tokens(m->o_tok, o, B, N, H, Dh, C);
  k_linear_fwd(out_tok, m->o_tok, params_value(r, m->out_w), params_value(r, m->out_b), B * N, C, C);
  k_to_channels_fwd(y, out_tok, B, C, N);
  p->scratch->used = mark;
  return y;
}

void self_attention_nd_backward(const self_attention_nd *m, param_registry *r, const dcae_pass *p, float *dx,
                                const float *dy) {
  if (!m->tok) lola_die(LOLA_EXIT_RUNTIME, "self-attention: backward without a forward");
  int64_t B = m->batch, N = m->tokens, C = m->cfg.channels, H = m->cfg.heads, Dh = C / H, BH = B * H;
  size_t mark = p->scratch->used;
  float *d_out = arena_floats(p->scratch, B * N * C), *d_otok = arena_floats(p->scratch, B * N * C);
  float *d_o = arena_floats(p->scratch, B * N * C), *d_p = arena_floats(p->scratch, BH * N * N);
  float *d_heads = arena_floats(p->scratch, 3 * B * N * C), *d_qkv = arena_floats(p->scratch, 3 * B * N * C);
  const float *q = m->qkv, *k = q + B * N * C, *v = k + B * N * C;
  float *dq = d_heads, *dk = dq + B * N * C, *dv = dk + B * N * C;

  k_to_channels_bwd(d_out, dy, B, C, N);
  k_linear_bwd(d_otok, params_grad(r, m->out_w), params_grad(r, m->out_b), d_out, m->o_tok,
               params_value(r, m->out_w), B * N, C, C);
  tokens_to_heads(d_o, d_otok, B, N, H, Dh, C);
  k_bmm_bwd(d_p, dv, d_o, m->probs, v, BH, N, Dh, N, false, false);
  softmax_rows_bwd(d_p, m->probs, BH * N, N, (float)(1.0 / sqrt((double)Dh)));
  k_bmm_bwd(dq, dk, d_p, q, k, BH, N, N, Dh, false, true);
  for (int part = 0; part < 3; part++)
    heads_to_tokens(d_qkv + part * C, d_heads + part * B * N * C, B, N, H, Dh, 3 * C);
  /* d_out is free again: it takes the token gradient. */
  k_linear_bwd(d_out, params_grad(r, m->in_w), params_grad(r, m->in_b), d_qkv, m->tok,
               params_value(r, m->in_w), B * N, C, 3 * C);
  if (dx) k_to_tokens_bwd(dx, d_out, B, C, N);
  p->scratch->used = mark;
}
