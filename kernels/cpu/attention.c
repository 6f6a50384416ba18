/* Flash-attention style multi-head attention on OpenBLAS sgemm tiles
 * (kernels/attention.h). Tiles are (query block × key block); each OpenMP
 * thread owns one tile's scratch and calls single-threaded sgemm. */
#include "../attention.h"
#include "kernels_cpu.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#include "blas_serial.h"
#include "softmax_exp.h"
#include "target_clones.h"

/* Query rows per tile, and the largest key block (keys are split into equal
 * blocks of at most this many). */
enum { ATT_BR = 64, ATT_BC_MAX = 512 };

typedef struct {
  int64_t batch, tokens, heads, dim, hd; /* hd = heads·dim: the token stride */
  int64_t br, bc;                        /* tile sizes */
  float scale;
  const bool *mask;
} att_geom;

static att_geom geom_of(int64_t batch, int64_t tokens, int64_t heads, int64_t dim, const bool *mask) {
  att_geom g = {batch, tokens, heads, dim, heads * dim, 0, 0, (float)(1.0 / sqrt((double)dim)), mask};
  g.br = tokens < ATT_BR ? tokens : ATT_BR;
  int64_t blocks = (tokens + ATT_BC_MAX - 1) / ATT_BC_MAX;
  g.bc = (tokens + blocks - 1) / blocks;
  g.bc = (g.bc + 7) / 8 * 8;
  if (g.bc > tokens) g.bc = tokens;
  return g;
}

static int64_t tile_floats(const att_geom *g) { return 2 * g->br * g->bc + g->br * g->dim + 4 * g->br; }

int64_t kcpu_attention_workspace_floats(int64_t tokens, int64_t head_dim) {
  att_geom g = geom_of(1, tokens, 1, head_dim, NULL);
  return (int64_t)omp_get_max_threads() * tile_floats(&g);
}

/* Whether query rows [i0, i0+br) may attend to any of keys [j0, j0+bc). */
static bool block_live(const att_geom *g, int64_t i0, int64_t br, int64_t j0, int64_t bc) {
  if (!g->mask) return true;
  for (int64_t r = 0; r < br; r++) {
    const bool *row = g->mask + (i0 + r) * g->tokens + j0;
    for (int64_t c = 0; c < bc; c++)
      if (row[c]) return true;
  }
  return false;
}

/* Masked-out scores become -inf, which the exponential turns into 0. */
static void mask_row(float *s, const bool *allowed, int64_t bc) {
  for (int64_t c = 0; c < bc; c++)
    if (!allowed[c]) s[c] = -INFINITY;
}

/* Online softmax step for one row of scores s[bc]: s becomes exp(s - m_new)
 * (0 where masked), l and m are updated; returns the factor exp(m_old - m_new)
 * by which the row's running output must be rescaled. */
K_CLONES static float online_row(float *s, const bool *allowed, int64_t bc, float *m, float *l) {
  if (allowed) mask_row(s, allowed, bc);
  float m_new = fmaxf(*m, softmax_max_row(s, bc));
  if (m_new == -INFINITY) { /* nothing allowed so far */
    memset(s, 0, (size_t)bc * sizeof *s);
    return 1.0f;
  }
  float sum = softmax_exp_row(s, bc, m_new);
  float corr = *m == -INFINITY ? 0.0f : expf(*m - m_new);
  *l = *l * corr + sum;
  *m = m_new;
  return corr;
}

/* One query block of one (sample, head): stream the key blocks. */
static void forward_tile(float *y, float *lse, const float *q, const float *k, const float *v,
                         const att_geom *g, int64_t b, int64_t h, int64_t i0, float *ws) {
  const int64_t br = g->tokens - i0 < g->br ? g->tokens - i0 : g->br, D = g->dim, hd = g->hd;
  float *s = ws, *o = s + g->br * g->bc, *m = o + g->br * D, *l = m + g->br;
  for (int64_t r = 0; r < br; r++) m[r] = -INFINITY, l[r] = 0.0f;
  const int64_t head = b * g->tokens * hd + h * D;
  const float *qi = q + head + i0 * hd;
  bool first = true; /* o holds nothing yet: the first product overwrites it */
  for (int64_t j0 = 0; j0 < g->tokens; j0 += g->bc) {
    const int64_t bc = g->tokens - j0 < g->bc ? g->tokens - j0 : g->bc;
    if (!block_live(g, i0, br, j0, bc)) continue;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)br, (int)bc, (int)D, g->scale, qi, (int)hd,
                k + head + j0 * hd, (int)hd, 0.0f, s, (int)g->bc);
    for (int64_t r = 0; r < br; r++) {
      const bool *allowed = g->mask ? g->mask + (i0 + r) * g->tokens + j0 : NULL;
      float corr = online_row(s + r * g->bc, allowed, bc, m + r, l + r);
      if (!first && corr != 1.0f)
        for (int64_t d = 0; d < D; d++) o[r * D + d] *= corr;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)br, (int)D, (int)bc, 1.0f, s, (int)g->bc,
                v + head + j0 * hd, (int)hd, first ? 0.0f : 1.0f, o, (int)D);
    first = false;
  }
  if (first) memset(o, 0, (size_t)(br * D) * sizeof *o);
  for (int64_t r = 0; r < br; r++) {
    float *yr = y + head + (i0 + r) * hd;
    float inv = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;
    for (int64_t d = 0; d < D; d++) yr[d] = o[r * D + d] * inv;
    lse[(b * g->heads + h) * g->tokens + i0 + r] = l[r] > 0.0f ? m[r] + logf(l[r]) : INFINITY;
  }
}

void kcpu_attention_fwd(float *y, float *lse, const float *q, const float *k, const float *v,
                        const bool *mask, int64_t batch, int64_t tokens, int64_t heads, int64_t head_dim,
                        float *work) {
  att_geom g = geom_of(batch, tokens, heads, head_dim, mask);
  if (batch == 0 || tokens == 0) return;
  const int64_t qblocks = (tokens + g.br - 1) / g.br, items = batch * heads * qblocks;
  const int64_t per_thread = tile_floats(&g);
  int blas = blas_serial_begin();
#pragma omp parallel
  {
    float *ws = work + (int64_t)omp_get_thread_num() * per_thread;
#pragma omp for schedule(dynamic, 1)
    for (int64_t item = 0; item < items; item++) {
      int64_t qb = item % qblocks, bh = item / qblocks;
      forward_tile(y, lse, q, k, v, &g, bh / heads, bh % heads, qb * g.br, ws);
    }
  }
  blas_serial_end(blas);
}

/* p = exp(s - lse) (0 where masked or for rows with no allowed key). */
K_CLONES static void probabilities_row(float *s, const bool *allowed, int64_t bc, float lse) {
  if (lse == INFINITY) {
    memset(s, 0, (size_t)bc * sizeof *s);
    return;
  }
  if (allowed) mask_row(s, allowed, bc);
  softmax_exp_row(s, bc, lse);
}

/* dS = P∘(dP − Δ)·scale, in place in dp. */
K_CLONES static void score_grad_row(float *dp, const float *p, int64_t bc, float delta, float scale) {
#pragma omp simd
  for (int64_t c = 0; c < bc; c++) dp[c] = p[c] * (dp[c] - delta) * scale;
}

/* Every query and key block of one (sample, head): dq for each query block,
 * dk and dv accumulated over the query blocks in order. */
static void backward_head(float *dq, float *dk, float *dv, const float *dy, const float *q, const float *k,
                          const float *v, const float *y, const float *lse, const att_geom *g, int64_t b,
                          int64_t h, float *ws) {
  const int64_t D = g->dim, hd = g->hd, L = g->tokens;
  const int64_t head = b * L * hd + h * D;
  const float *lse_bh = lse + (b * g->heads + h) * L;
  float *p = ws, *dp = p + g->br * g->bc, *delta = dp + g->br * g->bc;
  for (int64_t t = 0; t < L; t++) {
    memset(dk + head + t * hd, 0, (size_t)D * sizeof *dk);
    memset(dv + head + t * hd, 0, (size_t)D * sizeof *dv);
    memset(dq + head + t * hd, 0, (size_t)D * sizeof *dq);
  }
  for (int64_t i0 = 0; i0 < L; i0 += g->br) {
    const int64_t br = L - i0 < g->br ? L - i0 : g->br;
    const float *qi = q + head + i0 * hd, *doi = dy + head + i0 * hd;
    float *dqi = dq + head + i0 * hd;
    for (int64_t r = 0; r < br; r++) { /* Δ = rowsum(dO∘O) */
      const float *a = doi + r * hd, *o = y + head + (i0 + r) * hd;
      double t = 0.0;
      for (int64_t d = 0; d < D; d++) t += (double)a[d] * o[d];
      delta[r] = (float)t;
    }
    for (int64_t j0 = 0; j0 < L; j0 += g->bc) {
      const int64_t bc = L - j0 < g->bc ? L - j0 : g->bc;
      if (!block_live(g, i0, br, j0, bc)) continue;
      const float *kj = k + head + j0 * hd, *vj = v + head + j0 * hd;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)br, (int)bc, (int)D, g->scale, qi, (int)hd,
                  kj, (int)hd, 0.0f, p, (int)g->bc);
      for (int64_t r = 0; r < br; r++)
        probabilities_row(p + r * g->bc, g->mask ? g->mask + (i0 + r) * L + j0 : NULL, bc, lse_bh[i0 + r]);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)bc, (int)D, (int)br, 1.0f, p, (int)g->bc, doi,
                  (int)hd, 1.0f, dv + head + j0 * hd, (int)hd);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)br, (int)bc, (int)D, 1.0f, doi, (int)hd, vj,
                  (int)hd, 0.0f, dp, (int)g->bc);
      for (int64_t r = 0; r < br; r++) score_grad_row(dp + r * g->bc, p + r * g->bc, bc, delta[r], g->scale);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)br, (int)D, (int)bc, 1.0f, dp, (int)g->bc,
                  kj, (int)hd, 1.0f, dqi, (int)hd);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)bc, (int)D, (int)br, 1.0f, dp, (int)g->bc, qi,
                  (int)hd, 1.0f, dk + head + j0 * hd, (int)hd);
    }
  }
}

void kcpu_attention_bwd(float *dq, float *dk, float *dv, const float *dy, const float *q, const float *k,
                        const float *v, const float *y, const float *lse, const bool *mask, int64_t batch,
                        int64_t tokens, int64_t heads, int64_t head_dim, float *work) {
  att_geom g = geom_of(batch, tokens, heads, head_dim, mask);
  if (batch == 0 || tokens == 0) return;
  const int64_t per_thread = tile_floats(&g);
  int blas = blas_serial_begin();
#pragma omp parallel
  {
    float *ws = work + (int64_t)omp_get_thread_num() * per_thread;
#pragma omp for schedule(dynamic, 1)
    for (int64_t bh = 0; bh < batch * heads; bh++)
      backward_head(dq, dk, dv, dy, q, k, v, y, lse, &g, bh / heads, bh % heads, ws);
  }
  blas_serial_end(blas);
}

void kcpu_qkv_split_fwd(float *q, float *k, float *v, const float *qkv, int64_t rows, int64_t channels) {
  const size_t bytes = (size_t)channels * sizeof *q;
#pragma omp parallel for schedule(static) if (rows * channels > 65536)
  for (int64_t r = 0; r < rows; r++) {
    const float *src = qkv + r * 3 * channels;
    memcpy(q + r * channels, src, bytes);
    memcpy(k + r * channels, src + channels, bytes);
    memcpy(v + r * channels, src + 2 * channels, bytes);
  }
}

void kcpu_qkv_split_bwd(float *dqkv, const float *dq, const float *dk, const float *dv, int64_t rows,
                        int64_t channels) {
  const size_t bytes = (size_t)channels * sizeof *dq;
#pragma omp parallel for schedule(static) if (rows * channels > 65536)
  for (int64_t r = 0; r < rows; r++) {
    float *dst = dqkv + r * 3 * channels;
    memcpy(dst, dq + r * channels, bytes);
    memcpy(dst + channels, dk + r * channels, bytes);
    memcpy(dst + 2 * channels, dv + r * channels, bytes);
  }
}
