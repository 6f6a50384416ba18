/* The double-precision ViT of vit_reference.h: naive loops, no shared code
 * with the modules under test beyond the registry's name → offset map. */
#include "vit_reference.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/elementwise.h"
#include "../../src/error.h"
#include "gradcheck.h"

const double *ref_param(const param_registry *names, const double *P, const char *fmt, ...) {
  char name[PARAM_NAME_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(name, sizeof name, fmt, ap);
  va_end(ap);
  int i = params_find(names, name);
  if (i < 0) lola_die(LOLA_EXIT_RUNTIME, "reference ViT: no parameter '%s'", name);
  return P + names->entries[i].offset;
}

static void ref_linear(const double *x, int64_t rows, int64_t in, int64_t out, const double *w,
                       const double *b, double *y) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t o = 0; o < out; o++) {
      double s = b ? b[o] : 0.0;
      for (int64_t i = 0; i < in; i++) s += x[r * in + i] * w[o * in + i];
      y[r * out + o] = s;
    }
}

#define PRE(c) ((c)->prefix ? (c)->prefix : "")
#define DOT(c) ((c)->prefix && (c)->prefix[0] ? "." : "")

static double silu(double v) { return v / (1.0 + exp(-v)); }

void ref_mlp(const param_registry *names, const double *P, const char *prefix, int first, const double *x,
             int64_t rows, int64_t in, int64_t hidden, int64_t out, double *y) {
  double *h = malloc(sizeof *h * (size_t)(rows * hidden));
  ref_linear(x, rows, in, hidden, ref_param(names, P, "%s.%d.weight", prefix, first),
             ref_param(names, P, "%s.%d.bias", prefix, first), h);
  for (int64_t i = 0; i < rows * hidden; i++) h[i] = silu(h[i]);
  ref_linear(h, rows, hidden, out, ref_param(names, P, "%s.%d.weight", prefix, first + 2),
             ref_param(names, P, "%s.%d.bias", prefix, first + 2), y);
  free(h);
}

void ref_sine(const double *x, int64_t n, int64_t features, double *e) {
  int64_t F = features / 2;
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < F; j++) {
      double t = F > 1 ? (double)j / (double)(F - 1) : 0.0;
      double f = (float)pow(1e3, -t); /* numpy linspace in double, stored as float32 */
      e[i * features + j] = sin(x[i] * f);
      e[i * features + F + j] = cos(x[i] * f);
    }
}

/* One ViTBlock._forward on tokens x (B, L, C) with skip; y may not alias x. */
static void ref_block(const ref_vit_cfg *c, const param_registry *names, const double *P, int blk,
                      const double *x, const double *skip, const double *mod, const double *coo,
                      const bool *mask, int64_t L, double *y) {
  int64_t B = c->batch, C = c->channels, H = c->heads, Ch = C / H, F = c->ffn_factor * C;
  double *ada = malloc(sizeof *ada * (size_t)(B * 4 * C));
  if (c->mod_features > 0) {
    char prefix[PARAM_NAME_MAX];
    snprintf(prefix, sizeof prefix, "%s%sblocks.%d.ada_zero", PRE(c), DOT(c), blk);
    ref_mlp(names, P, prefix, 0, mod, B, c->mod_features, c->mod_features, 4 * C, ada);
  } else {
    const double *p = ref_param(names, P, "%s%sblocks.%d.ada_zero", PRE(c), DOT(c), blk);
    for (int64_t b = 0; b < B; b++) memcpy(ada + b * 4 * C, p, sizeof *p * (size_t)(4 * C));
  }
  double *h = malloc(sizeof *h * (size_t)(B * L * C));
  double *qkv = malloc(sizeof *qkv * (size_t)(B * L * 3 * C));
  double *att = malloc(sizeof *att * (size_t)(B * L * C));
  double *msa = malloc(sizeof *msa * (size_t)(B * L * C));
  double *f = malloc(sizeof *f * (size_t)(B * L * F));
  double *s = malloc(sizeof *s * (size_t)L);
  /* y = (a + 1)·LayerNorm(x) + b */
  for (int64_t b = 0; b < B; b++)
    for (int64_t l = 0; l < L; l++) {
      const double *xt = x + (b * L + l) * C;
      double mean = 0, var = 0;
      for (int64_t k = 0; k < C; k++) mean += xt[k];
      mean /= (double)C;
      for (int64_t k = 0; k < C; k++) var += (xt[k] - mean) * (xt[k] - mean);
      var /= (double)C;
      for (int64_t k = 0; k < C; k++)
        h[(b * L + l) * C + k] =
            (ada[b * 4 * C + k] + 1) * (xt[k] - mean) / sqrt(var + 1e-5) + ada[b * 4 * C + C + k];
    }
  /* attention */
  ref_linear(h, B * L, C, 3 * C,
             ref_param(names, P, "%s%sblocks.%d.msa.qkv_proj.weight", PRE(c), DOT(c), blk), NULL, qkv);
  const double *theta = c->rope ? ref_param(names, P, "%s%sblocks.%d.theta", PRE(c), DOT(c), blk) : NULL;
  for (int64_t b = 0; b < B; b++)
    for (int64_t l = 0; l < L; l++)
      for (int n = 0; n < 2; n++) /* q and k: RMSNorm per head, then RoPE */
        for (int64_t hd = 0; hd < H; hd++) {
          double *v = qkv + (b * L + l) * 3 * C + n * C + hd * Ch;
          if (c->qk_norm) {
            double ms = 0;
            for (int64_t k = 0; k < Ch; k++) ms += v[k] * v[k];
            double rs = 1.0 / sqrt(ms / (double)Ch + 1e-5);
            for (int64_t k = 0; k < Ch; k++) v[k] *= rs;
          }
          if (theta)
            for (int64_t i = 0; i < Ch / 2; i++) {
              int64_t m = hd * (Ch / 2) + i;
              double ang = 0;
              for (int d = 0; d < c->spatial; d++) ang += coo[l * c->spatial + d] * theta[d * (C / 2) + m];
              double re = v[2 * i], im = v[2 * i + 1];
              v[2 * i] = re * cos(ang) - im * sin(ang);
              v[2 * i + 1] = re * sin(ang) + im * cos(ang);
            }
        }
  for (int64_t b = 0; b < B; b++)
    for (int64_t hd = 0; hd < H; hd++)
      for (int64_t i = 0; i < L; i++) {
        const double *q = qkv + (b * L + i) * 3 * C + hd * Ch;
        double mx = -INFINITY;
        for (int64_t j = 0; j < L; j++) {
          const double *k = qkv + (b * L + j) * 3 * C + C + hd * Ch;
          double dot = 0;
          for (int64_t e = 0; e < Ch; e++) dot += q[e] * k[e];
          s[j] = (mask && !mask[i * L + j]) ? -INFINITY : dot / sqrt((double)Ch);
          if (s[j] > mx) mx = s[j];
        }
        double z = 0;
        for (int64_t j = 0; j < L; j++) z += (s[j] = exp(s[j] - mx));
        for (int64_t e = 0; e < Ch; e++) {
          double acc = 0;
          for (int64_t j = 0; j < L; j++) acc += s[j] * qkv[(b * L + j) * 3 * C + 2 * C + hd * Ch + e];
          att[(b * L + i) * C + hd * Ch + e] = acc / z;
        }
      }
  ref_linear(att, B * L, C, C, ref_param(names, P, "%s%sblocks.%d.msa.y_proj.weight", PRE(c), DOT(c), blk),
             ref_param(names, P, "%s%sblocks.%d.msa.y_proj.bias", PRE(c), DOT(c), blk), msa);
  for (int64_t i = 0; i < B * L * C; i++) h[i] += msa[i];
  /* FFN */
  ref_linear(h, B * L, C, F, ref_param(names, P, "%s%sblocks.%d.ffn.0.weight", PRE(c), DOT(c), blk),
             ref_param(names, P, "%s%sblocks.%d.ffn.0.bias", PRE(c), DOT(c), blk), f);
  for (int64_t i = 0; i < B * L * F; i++) f[i] = silu(f[i]);
  if (c->mode && c->mode->training && c->dropout > 0) {
    float *keep = malloc(sizeof *keep * (size_t)(B * L * F)),
          *ones = malloc(sizeof *ones * (size_t)(B * L * F));
    for (int64_t i = 0; i < B * L * F; i++) ones[i] = 1.0f;
    k_dropout_fwd(keep, ones, B, L * F, c->dropout, nn_mode_site_key(c->mode, (uint64_t)blk),
                  c->mode->first_sample);
    for (int64_t i = 0; i < B * L * F; i++) f[i] *= keep[i];
    free(keep), free(ones);
  }
  ref_linear(f, B * L, F, C, ref_param(names, P, "%s%sblocks.%d.ffn.3.weight", PRE(c), DOT(c), blk),
             ref_param(names, P, "%s%sblocks.%d.ffn.3.bias", PRE(c), DOT(c), blk), h);
  /* residual and skip mixing */
  for (int64_t b = 0; b < B; b++)
    for (int64_t l = 0; l < L; l++)
      for (int64_t k = 0; k < C; k++) {
        int64_t i = (b * L + l) * C + k;
        double cc = ada[b * 4 * C + 2 * C + k], dd = ada[b * 4 * C + 3 * C + k];
        double v = (x[i] + cc * h[i]) / sqrt(1 + cc * cc);
        y[i] = skip ? (v + dd * skip[i]) / sqrt(1 + dd * dd) : v;
      }
  free(ada), free(h), free(qkv), free(att), free(msa), free(f), free(s);
}

void ref_vit_forward(const ref_vit_cfg *c, const param_registry *names, const double *P, const double *x,
                     const double *mod, const double *cond, double *y) {
  int N = c->spatial;
  int64_t B = c->batch, C = c->channels, Ci = c->in_channels + c->cond_channels, Co = c->out_channels;
  int64_t grid[4] = {1, 1, 1, 1}, full[4] = {1, 1, 1, 1}, pt[4] = {1, 1, 1, 1};
  int64_t L = 1, S = 1, pp = 1;
  for (int d = 0; d < N; d++) {
    full[d] = c->shape[d];
    pt[d] = c->patch[d];
    grid[d] = c->shape[d] / c->patch[d];
    L *= grid[d];
    S *= full[d];
    pp *= pt[d];
  }
  /* cat((x, cond), dim=1), then Patchify channel-last: feature (c, l, h, w), token (L, H, W) */
  const char *pre = c->prefix ? c->prefix : "";
  const char *dot = pre[0] ? "." : "";
  double *tok = malloc(sizeof *tok * (size_t)(B * L * Ci * pp));
  for (int64_t b = 0; b < B; b++)
    for (int64_t ch = 0; ch < Ci; ch++)
      for (int64_t s = 0; s < S; s++) {
        int64_t idx[4], rem = s;
        for (int d = N - 1; d >= 0; d--) idx[d] = rem % full[d], rem /= full[d];
        int64_t t = 0, f = ch;
        for (int d = 0; d < N; d++) {
          t = t * grid[d] + idx[d] / pt[d];
          f = f * pt[d] + idx[d] % pt[d];
        }
        double v = ch < c->in_channels ? x[(b * c->in_channels + ch) * S + s]
                                       : cond[(b * c->cond_channels + ch - c->in_channels) * S + s];
        tok[(b * L + t) * Ci * pp + f] = v;
      }
  double *h = malloc(sizeof *h * (size_t)(B * L * C));
  double *skip = malloc(sizeof *skip * (size_t)(B * L * C));
  ref_linear(tok, B * L, Ci * pp, C, ref_param(names, P, "%s%sin_proj.weight", pre, dot),
             ref_param(names, P, "%s%sin_proj.bias", pre, dot), h);
  /* coordinates, positional embedding, window mask */
  double *coo = malloc(sizeof *coo * (size_t)(L * N));
  for (int64_t t = 0; t < L; t++) {
    int64_t rem = t;
    for (int d = N - 1; d >= 0; d--) coo[t * N + d] = (double)(rem % grid[d]), rem /= grid[d];
  }
  double *enc = malloc(sizeof *enc * (size_t)(L * N * C));
  ref_sine(coo, L * N, C, enc); /* (L, N, C) → (L, N·C) */
  double *pos = malloc(sizeof *pos * (size_t)(L * C));
  ref_linear(enc, L, N * C, C, ref_param(names, P, "%s%spositional_embedding.2.weight", pre, dot),
             ref_param(names, P, "%s%spositional_embedding.2.bias", pre, dot), pos);
  /* x = skip = flatten(x); x = x + positional_embedding(coo): the skip has no position */
  for (int64_t b = 0; b < B; b++)
    for (int64_t i = 0; i < L * C; i++) {
      skip[b * L * C + i] = h[b * L * C + i];
      h[b * L * C + i] += pos[i];
    }
  bool *mask = NULL;
  if (c->window[0] > 0) {
    mask = malloc(sizeof *mask * (size_t)(L * L));
    for (int64_t i = 0; i < L; i++)
      for (int64_t j = 0; j < L; j++) {
        bool ok = true;
        for (int d = 0; d < N; d++) {
          int64_t dl = llabs((int64_t)coo[i * N + d] - (int64_t)coo[j * N + d]);
          if (grid[d] - dl < dl) dl = grid[d] - dl;
          ok = ok && dl <= c->window[d] / 2;
        }
        mask[i * L + j] = ok;
      }
  }
  double *next = malloc(sizeof *next * (size_t)(B * L * C));
  for (int blk = 0; blk < c->blocks; blk++) {
    ref_block(c, names, P, blk, h, skip, mod, coo, mask, L, next);
    memcpy(h, next, sizeof *h * (size_t)(B * L * C));
  }
  double *out = malloc(sizeof *out * (size_t)(B * L * Co * pp));
  ref_linear(h, B * L, C, Co * pp, ref_param(names, P, "%s%sout_proj.weight", pre, dot),
             ref_param(names, P, "%s%sout_proj.bias", pre, dot), out);
  /* Unpatchify */
  for (int64_t b = 0; b < B; b++)
    for (int64_t ch = 0; ch < Co; ch++)
      for (int64_t s = 0; s < S; s++) {
        int64_t idx[4], rem = s;
        for (int d = N - 1; d >= 0; d--) idx[d] = rem % full[d], rem /= full[d];
        int64_t t = 0, f = ch;
        for (int d = 0; d < N; d++) {
          t = t * grid[d] + idx[d] / pt[d];
          f = f * pt[d] + idx[d] % pt[d];
        }
        y[(b * Co + ch) * S + s] = out[(b * L + t) * Co * pp + f];
      }
  free(tok), free(h), free(skip), free(coo), free(enc), free(pos), free(mask), free(next), free(out);
}

void ref_fill_params(param_registry *r, unsigned seed) {
  fill_uniform(r->values, (size_t)r->total, seed);
  for (int i = 0; i < r->count; i++) { /* keep the padding at zero */
    int64_t end = i + 1 < r->count ? r->entries[i + 1].offset : r->total;
    for (int64_t j = r->entries[i].offset + r->entries[i].numel; j < end; j++) r->values[j] = 0;
  }
}

bool ref_check_param_grads(const param_registry *r, const double *fd, double atol, double rtol) {
  bool ok = true;
  for (int i = 0; i < r->count; i++) {
    const param_entry *e = &r->entries[i];
    double err = max_scaled_error(r->grads + e->offset, fd + e->offset, (size_t)e->numel, atol, rtol);
    if (!(err <= 1)) {
      fprintf(stderr, "  gradient of %s: scaled error %g\n", e->name, err);
      ok = false;
    }
  }
  return ok;
}
