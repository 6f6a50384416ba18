/* Attention against a plain double-precision softmax(q·kᵀ/√D)·v written here:
 * the backward against central finite differences on small shapes (odd
 * lengths, masks), and against the textbook double backward on a length that
 * spans several query and key blocks. */
#include <stdlib.h>
#include <string.h>

#include "../../kernels/attention.h"
#include "gradcheck.h"
#include "harness.h"

typedef struct {
  int64_t b, l, h, d;
  const bool *mask;
  const double *dy;
  double *y;
} att_ctx;

/* y = softmax(q kᵀ/√D, masked) v per (sample, head); p (L, L) scratch for one head. */
static void ref_attention(double *y, const double *q, const double *k, const double *v, const att_ctx *c,
                          double *p_all) {
  int64_t hd = c->h * c->d;
  for (int64_t b = 0; b < c->b; b++)
    for (int64_t h = 0; h < c->h; h++)
      for (int64_t i = 0; i < c->l; i++) {
        double *p = p_all ? p_all + ((b * c->h + h) * c->l + i) * c->l : NULL, row[512], mx = -INFINITY,
               sum = 0;
        for (int64_t j = 0; j < c->l; j++) {
          double s = 0;
          for (int64_t d = 0; d < c->d; d++)
            s += q[(b * c->l + i) * hd + h * c->d + d] * k[(b * c->l + j) * hd + h * c->d + d];
          row[j] = (c->mask && !c->mask[i * c->l + j]) ? -INFINITY : s / sqrt((double)c->d);
          if (row[j] > mx) mx = row[j];
        }
        for (int64_t j = 0; j < c->l; j++) {
          row[j] = mx == -INFINITY ? 0.0 : exp(row[j] - mx);
          sum += row[j];
        }
        for (int64_t d = 0; d < c->d; d++) {
          double acc = 0;
          for (int64_t j = 0; j < c->l; j++) acc += row[j] * v[(b * c->l + j) * hd + h * c->d + d];
          y[(b * c->l + i) * hd + h * c->d + d] = sum > 0 ? acc / sum : 0.0;
        }
        if (p)
          for (int64_t j = 0; j < c->l; j++) p[j] = sum > 0 ? row[j] / sum : 0.0;
      }
}

static double att_objective(const double *params, void *vctx) {
  att_ctx *c = vctx;
  int64_t n = c->b * c->l * c->h * c->d;
  ref_attention(c->y, params, params + n, params + 2 * n, c, NULL);
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += c->dy[i] * c->y[i];
  return s;
}

typedef struct {
  float *q, *k, *v, *dy, *y, *lse, *dq, *dk, *dv, *work;
  double *qd, *kd, *vd, *dyd, *yd;
  int64_t n;
} att_data;

static att_data att_data_new(const att_ctx *c, unsigned seed, float spread) {
  att_data a = {.n = c->b * c->l * c->h * c->d};
  size_t nf = (size_t)a.n * 4, nd = (size_t)a.n * 8;
  a.q = malloc(nf), a.k = malloc(nf), a.v = malloc(nf), a.dy = malloc(nf), a.y = malloc(nf);
  a.dq = malloc(nf), a.dk = malloc(nf), a.dv = malloc(nf);
  a.lse = malloc((size_t)(c->b * c->h * c->l) * 4);
  a.work = malloc((size_t)k_attention_workspace_floats(c->l, c->d) * 4);
  a.qd = malloc(3 * nd), a.kd = a.qd + a.n, a.vd = a.kd + a.n, a.dyd = malloc(nd), a.yd = malloc(nd);
  fill_uniform(a.q, (size_t)a.n, seed), fill_uniform(a.k, (size_t)a.n, seed + 1);
  fill_uniform(a.v, (size_t)a.n, seed + 2), fill_uniform(a.dy, (size_t)a.n, seed + 3);
  for (int64_t i = 0; i < a.n; i++) {
    a.q[i] *= spread, a.k[i] *= spread; /* sharper or flatter softmax */
    a.qd[i] = a.q[i], a.kd[i] = a.k[i], a.vd[i] = a.v[i], a.dyd[i] = a.dy[i];
  }
  return a;
}

static void att_data_free(att_data *a) {
  free(a->q), free(a->k), free(a->v), free(a->dy), free(a->y), free(a->dq), free(a->dk), free(a->dv);
  free(a->lse), free(a->work), free(a->qd), free(a->dyd), free(a->yd);
}

static void check_attention_fd(att_ctx c, unsigned seed, float spread) {
  att_data a = att_data_new(&c, seed, spread);
  ref_attention(a.yd, a.qd, a.kd, a.vd, &c, NULL);
  k_attention_fwd(a.y, a.lse, a.q, a.k, a.v, c.mask, c.b, c.l, c.h, c.d, a.work);
  CHECK(max_scaled_error(a.y, a.yd, (size_t)a.n, 1e-5, 1e-5) <= 1);
  double *grad = malloc((size_t)(3 * a.n) * 8);
  c.dy = a.dyd, c.y = a.yd;
  fd_gradient(att_objective, a.qd, (size_t)(3 * a.n), &c, 1e-4, grad);
  for (int64_t i = 0; i < a.n; i++) a.dq[i] = a.dk[i] = a.dv[i] = 7.0f; /* overwritten */
  k_attention_bwd(a.dq, a.dk, a.dv, a.dy, a.q, a.k, a.v, a.y, a.lse, c.mask, c.b, c.l, c.h, c.d, a.work);
  CHECK(max_scaled_error(a.dq, grad, (size_t)a.n, 1e-4, 1e-4) <= 1);
  CHECK(max_scaled_error(a.dk, grad + a.n, (size_t)a.n, 1e-4, 1e-4) <= 1);
  CHECK(max_scaled_error(a.dv, grad + 2 * a.n, (size_t)a.n, 1e-4, 1e-4) <= 1);
  free(grad);
  att_data_free(&a);
}

TEST(attention_small_shapes_values_and_gradients) {
  check_attention_fd((att_ctx){.b = 2, .l = 7, .h = 2, .d = 4}, 81, 1.0f);
  check_attention_fd((att_ctx){.b = 1, .l = 5, .h = 3, .d = 6}, 82, 3.0f); /* peaked softmax */
}

TEST(attention_masked_values_and_gradients) {
  enum { L = 9 };
  bool mask[L * L];
  /* A periodic window of half-width 2 (the ViT's local attention), plus one
   * query that may attend to nothing (output and gradients zero). */
  for (int i = 0; i < L; i++)
    for (int j = 0; j < L; j++) {
      int d = abs(i - j);
      if (L - d < d) d = L - d;
      mask[i * L + j] = d <= 2 && i != 4;
    }
  att_ctx c = {.b = 2, .l = L, .h = 2, .d = 3, .mask = mask};
  check_attention_fd(c, 83, 2.0f);
  att_data a = att_data_new(&c, 84, 1.0f);
  k_attention_fwd(a.y, a.lse, a.q, a.k, a.v, mask, c.b, c.l, c.h, c.d, a.work);
  CHECK(a.y[4 * 6] == 0.0f && a.y[4 * 6 + 5] == 0.0f);
  att_data_free(&a);
}

/* dq, dk, dv by the textbook formulas from the full probability matrix. */
static void ref_attention_bwd(double *dq, double *dk, double *dv, const att_data *a, const att_ctx *c,
                              const double *p_all) {
  int64_t hd = c->h * c->d, L = c->l, D = c->d;
  double scale = 1.0 / sqrt((double)D);
  memset(dq, 0, (size_t)a->n * 8), memset(dk, 0, (size_t)a->n * 8), memset(dv, 0, (size_t)a->n * 8);
  double *ds = malloc((size_t)L * 8);
  for (int64_t b = 0; b < c->b; b++)
    for (int64_t h = 0; h < c->h; h++)
      for (int64_t i = 0; i < L; i++) {
        const double *p = p_all + ((b * c->h + h) * L + i) * L;
        double dot = 0;
        for (int64_t j = 0; j < L; j++) {
          double dpj = 0;
          for (int64_t d = 0; d < D; d++) {
            dpj += a->dyd[(b * L + i) * hd + h * D + d] * a->vd[(b * L + j) * hd + h * D + d];
            dv[(b * L + j) * hd + h * D + d] += p[j] * a->dyd[(b * L + i) * hd + h * D + d];
          }
          ds[j] = dpj;
          dot += p[j] * dpj;
        }
        for (int64_t j = 0; j < L; j++) {
          double g = p[j] * (ds[j] - dot) * scale;
          for (int64_t d = 0; d < D; d++) {
            dq[(b * L + i) * hd + h * D + d] += g * a->kd[(b * L + j) * hd + h * D + d];
            dk[(b * L + j) * hd + h * D + d] += g * a->qd[(b * L + i) * hd + h * D + d];
          }
        }
      }
  free(ds);
}

TEST(attention_many_blocks_match_textbook_backward) {
  enum { L = 300 }; /* 5 query blocks, 2 key blocks */
  bool *mask = malloc(L * L);
  for (int i = 0; i < L; i++)
    for (int j = 0; j < L; j++) mask[i * L + j] = abs(i - j) <= 70; /* some tiles entirely masked */
  for (int masked = 0; masked < 2; masked++) {
    att_ctx c = {.b = 2, .l = L, .h = 2, .d = 8, .mask = masked ? mask : NULL};
    att_data a = att_data_new(&c, 85 + masked, 2.5f);
    double *p = malloc((size_t)(c.b * c.h * L * L) * 8), *g = malloc((size_t)(3 * a.n) * 8);
    ref_attention(a.yd, a.qd, a.kd, a.vd, &c, p);
    ref_attention_bwd(g, g + a.n, g + 2 * a.n, &a, &c, p);
    k_attention_fwd(a.y, a.lse, a.q, a.k, a.v, c.mask, c.b, L, c.h, c.d, a.work);
    k_attention_bwd(a.dq, a.dk, a.dv, a.dy, a.q, a.k, a.v, a.y, a.lse, c.mask, c.b, L, c.h, c.d, a.work);
    CHECK(max_scaled_error(a.y, a.yd, (size_t)a.n, 1e-5, 1e-4) <= 1);
    CHECK(max_scaled_error(a.dq, g, (size_t)a.n, 1e-5, 1e-4) <= 1);
    CHECK(max_scaled_error(a.dk, g + a.n, (size_t)a.n, 1e-5, 1e-4) <= 1);
    CHECK(max_scaled_error(a.dv, g + 2 * a.n, (size_t)a.n, 1e-5, 1e-4) <= 1);
    free(p), free(g);
    att_data_free(&a);
  }
  free(mask);
}

TEST(attention_qkv_split_round_trip) {
  float qkv[2 * 9], q[6], k[6], v[6], back[18];
  for (int i = 0; i < 18; i++) qkv[i] = (float)i;
  k_qkv_split_fwd(q, k, v, qkv, 2, 3);
  CHECK(q[0] == 0 && k[0] == 3 && v[0] == 6 && q[3] == 9 && k[5] == 14 && v[5] == 17);
  k_qkv_split_bwd(back, q, k, v, 2, 3);
  CHECK(memcmp(back, qkv, sizeof qkv) == 0);
}
