/* Multi-head self-attention with QK-RMSNorm and RoPE, on the engine's kernels. */
#include "mhsa.h"

#include <stdio.h>

#include "../../kernels/attention.h"
#include "../../kernels/norm.h"
#include "../../kernels/rope.h"
#include "../error.h"
#include "act.h"

void mhsa_declare(mhsa *m, param_registry *r, const char *prefix, int64_t channels, int64_t heads,
                  bool qk_norm) {
  if (heads <= 0 || channels % heads != 0)
    lola_die(LOLA_EXIT_DECK, "%s: %lld channels do not split into %lld attention heads", prefix,
             (long long)channels, (long long)heads);
  char name[PARAM_NAME_MAX];
  m->channels = channels;
  m->heads = heads;
  m->qk_norm = qk_norm;
  snprintf(name, sizeof name, "%s.qkv_proj", prefix);
  linear_declare(&m->qkv_proj, r, name, channels, 3 * channels, false);
  snprintf(name, sizeof name, "%s.y_proj", prefix);
  linear_declare(&m->y_proj, r, name, channels, channels, true);
}

void mhsa_init(const mhsa *m, param_registry *r, rng_key key) {
  linear_init(&m->qkv_proj, r, key);
  linear_init(&m->y_proj, r, key);
}

/* The split q and k are kept only when the attention reads them as they
 * are; after an RMSNorm or RoPE the backward needs the outputs only, and the
 * split is scratch of the forward. */
static bool split_is_scratch(bool qk_norm, bool rope) { return qk_norm || rope; }

size_t mhsa_saved_bytes(const mhsa *m, int64_t batch, int64_t tokens, bool rope) {
  int64_t n = batch * tokens * m->channels, rows = batch * tokens * m->heads;
  size_t saved = 2 * act_bytes(n);                                    /* v, att */
  if (!split_is_scratch(m->qk_norm, rope)) saved += 2 * act_bytes(n); /* q, k */
  if (m->qk_norm) saved += 2 * act_bytes(n) + 2 * act_bytes(rows);
  if (rope) saved += 2 * act_bytes(n);
  return saved + act_bytes(rows); /* lse */
}

size_t mhsa_scratch_bytes(const mhsa *m, int64_t batch, int64_t tokens) {
  int64_t n = batch * tokens * m->channels, hd = m->channels / m->heads;
  size_t work = act_bytes(k_attention_workspace_floats(tokens, hd));
  size_t fwd_scratch = act_bytes(3 * n) + 2 * act_bytes(n) + work; /* qkv, the split q and k */
  /* backward: datt, dq, dk, dv, a normalisation gradient, dqkv, workspace */
  size_t bwd_scratch = act_bytes(n) * 5 + act_bytes(3 * n) + work;
  return act_max(fwd_scratch, bwd_scratch);
}

size_t mhsa_activation_bytes(const mhsa *m, int64_t batch, int64_t tokens, bool rope) {
  return mhsa_saved_bytes(m, batch, tokens, rope) + mhsa_scratch_bytes(m, batch, tokens);
}

void mhsa_forward(mhsa *m, const param_registry *r, arena *act, float *y, const float *x, const float *angles,
                  const bool *mask, int64_t batch, int64_t tokens) {
  int64_t C = m->channels, H = m->heads, hd = C / H, rows = batch * tokens, n = rows * C;
  m->batch = batch;
  m->tokens = tokens;
  m->x = x;
  m->angles = angles;
  m->mask = mask;
  const bool scratch_split = split_is_scratch(m->qk_norm, angles != NULL);
  m->q = m->k = NULL;
  if (!scratch_split) {
    m->q = arena_floats(act, n);
    m->k = arena_floats(act, n);
  }
  m->v = arena_floats(act, n);
  if (m->qk_norm) {
    m->qn = arena_floats(act, n);
    m->kn = arena_floats(act, n);
    m->q_rstd = arena_floats(act, rows * H);
    m->k_rstd = arena_floats(act, rows * H);
  }
  if (angles) {
    m->qr = arena_floats(act, n);
    m->kr = arena_floats(act, n);
  }
  m->att = arena_floats(act, n);
  m->lse = arena_floats(act, rows * H);

  size_t mark = act_mark(act);
  float *qkv = arena_floats(act, 3 * n);
  if (scratch_split) {
    m->q = arena_floats(act, n);
    m->k = arena_floats(act, n);
  }
  if (!m->qk_norm) m->qn = m->q, m->kn = m->k;
  if (!angles) m->qr = m->qn, m->kr = m->kn;
  linear_forward(&m->qkv_proj, r, qkv, x, rows);
  k_qkv_split_fwd(m->q, m->k, m->v, qkv, rows, C);
  if (m->qk_norm) {
    k_rmsnorm_fwd(m->qn, m->q_rstd, m->q, rows * H, hd);
    k_rmsnorm_fwd(m->kn, m->k_rstd, m->k, rows * H, hd);
  }
  if (angles) {
    k_rope_fwd(m->qr, m->qn, angles, batch, tokens, C);
    k_rope_fwd(m->kr, m->kn, angles, batch, tokens, C);
  }
  act_release(act, mark); /* qkv, and the split q, k where they are scratch */
  float *work = arena_floats(act, k_attention_workspace_floats(tokens, hd));
  k_attention_fwd(m->att, m->lse, m->qr, m->kr, m->v, mask, batch, tokens, H, hd, work);
  act_release(act, mark);
  if (scratch_split) { /* released: nothing may read them again */
    m->q = m->k = NULL;
    if (!m->qk_norm) m->qn = m->kn = NULL;
  }
  linear_forward(&m->y_proj, r, y, m->att, rows);
}

void mhsa_backward(mhsa *m, param_registry *r, arena *act, float *dx, float *dangles, const float *dy) {
  int64_t C = m->channels, H = m->heads, hd = C / H, rows = m->batch * m->tokens, n = rows * C;
  size_t mark = act_mark(act);
  float *datt = arena_floats(act, n);
  float *dq = arena_floats(act, n), *dk = arena_floats(act, n), *dv = arena_floats(act, n);
  float *tmp = arena_floats(act, n);
  float *work = arena_floats(act, k_attention_workspace_floats(m->tokens, hd));
  linear_backward(&m->y_proj, r, datt, dy, m->att, rows);
  k_attention_bwd(dq, dk, dv, datt, m->qr, m->kr, m->v, m->att, m->lse, m->mask, m->batch, m->tokens, H, hd,
                  work);
  if (m->angles) { /* in place: k_rope_bwd allows dx == dy */
    k_rope_bwd(dq, dangles, dq, m->qr, m->angles, m->batch, m->tokens, C);
    k_rope_bwd(dk, dangles, dk, m->kr, m->angles, m->batch, m->tokens, C);
  }
  if (m->qk_norm) { /* through tmp: the norm's backward may not alias */
    k_rmsnorm_bwd(tmp, dq, m->qn, m->q_rstd, rows * H, hd);
    float *t = dq;
    dq = tmp, tmp = t;
    k_rmsnorm_bwd(tmp, dk, m->kn, m->k_rstd, rows * H, hd);
    t = dk;
    dk = tmp, tmp = t;
  }
  float *dqkv = arena_floats(act, 3 * n);
  k_qkv_split_bwd(dqkv, dq, dk, dv, rows, C);
  linear_backward(&m->qkv_proj, r, dx, dqkv, m->x, rows);
  act_release(act, mark);
}
