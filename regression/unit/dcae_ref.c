/* The double-precision DCAE of the tests (regression/unit/dcae_ref.h). */
#include "dcae_ref.h"

#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double *dref_param_copy(const param_registry *r) {
  double *pv = calloc((size_t)r->total + 1, sizeof *pv);
  for (int64_t i = 0; i < r->total; i++) pv[i] = r->values[i];
  return pv;
}

const double *dref_param(const param_registry *r, const double *pv, int index) {
  return pv + r->entries[index].offset;
}

/* Spatial extents padded to three dims, outermost first. */
static void pad3(int64_t out[3], const dcae_grid *g) {
  for (int d = 0; d < 3; d++) out[d] = d < 3 - g->dims ? 1 : g->ext[d - (3 - g->dims)];
}

void dref_conv(double *y, const double *x, const double *w, const double *b, int64_t batch,
               const conv_module_config *c, const dcae_grid *in) {
  int64_t n[3], o[3];
  int k[3], s[3];
  pad3(n, in);
  for (int d = 0; d < 3; d++) {
    int e = d - (3 - c->dims);
    k[d] = e < 0 ? 1 : c->kernel[e];
    s[d] = e < 0 ? 1 : c->stride[e];
    o[d] = (n[d] + 2 * (k[d] / 2) - k[d]) / s[d] + 1;
  }
  int64_t vin = n[0] * n[1] * n[2], vout = o[0] * o[1] * o[2];
  for (int64_t bi = 0; bi < batch; bi++)
    for (int64_t co = 0; co < c->cout; co++)
      for (int64_t p0 = 0; p0 < o[0]; p0++)
        for (int64_t p1 = 0; p1 < o[1]; p1++)
          for (int64_t p2 = 0; p2 < o[2]; p2++) {
            double acc = b[co];
            for (int64_t ci = 0; ci < c->cin; ci++)
              for (int t0 = 0; t0 < k[0]; t0++)
                for (int t1 = 0; t1 < k[1]; t1++)
                  for (int t2 = 0; t2 < k[2]; t2++) {
                    int64_t i[3] = {p0 * s[0] + t0 - k[0] / 2, p1 * s[1] + t1 - k[1] / 2,
                                    p2 * s[2] + t2 - k[2] / 2};
                    bool inside = true;
                    for (int d = 0; d < 3; d++) {
                      if (c->circular) i[d] = ((i[d] % n[d]) + n[d]) % n[d];
                      if (i[d] < 0 || i[d] >= n[d]) inside = false;
                    }
                    if (!inside) continue;
                    double wv = w[(((co * c->cin + ci) * k[0] + t0) * k[1] + t1) * k[2] + t2];
                    acc += wv * x[(bi * c->cin + ci) * vin + (i[0] * n[1] + i[1]) * n[2] + i[2]];
                  }
            y[(bi * c->cout + co) * vout + (p0 * o[1] + p1) * o[2] + p2] = acc;
          }
}

void dref_conv_module(double *y, const double *x, const conv_module *m, const param_registry *r,
                      const double *pv, int64_t batch, const dcae_grid *in) {
  dref_conv(y, x, dref_param(r, pv, m->weight), dref_param(r, pv, m->bias), batch, &m->cfg, in);
}

void dref_layernorm_channels(double *y, const double *x, int64_t batch, int64_t channels, int64_t positions) {
  for (int64_t b = 0; b < batch; b++)
    for (int64_t p = 0; p < positions; p++) {
      const double *xs = x + b * channels * positions + p;
      double *ys = y + b * channels * positions + p;
      double mean = 0, var = 0;
      for (int64_t c = 0; c < channels; c++) mean += xs[c * positions];
      mean /= (double)channels;
      for (int64_t c = 0; c < channels; c++) var += (xs[c * positions] - mean) * (xs[c * positions] - mean);
      var /= (double)(channels - 1);
      for (int64_t c = 0; c < channels; c++)
        ys[c * positions] = (xs[c * positions] - mean) / sqrt(var + 1e-5);
    }
}

void dref_groupnorm(double *y, const double *x, int64_t batch, int64_t channels, int64_t groups,
                    int64_t positions) {
  int64_t n = channels / groups * positions;
  for (int64_t s = 0; s < batch * groups; s++) {
    const double *xs = x + s * n;
    double mean = 0, var = 0;
    for (int64_t i = 0; i < n; i++) mean += xs[i];
    mean /= (double)n;
    for (int64_t i = 0; i < n; i++) var += (xs[i] - mean) * (xs[i] - mean);
    var /= (double)n;
    for (int64_t i = 0; i < n; i++) y[s * n + i] = (xs[i] - mean) / sqrt(var + 1e-5);
  }
}

void dref_attention(double *y, const double *x, const self_attention_nd *m, const param_registry *r,
                    const double *pv, int64_t batch, int64_t tokens) {
  int64_t C = m->cfg.channels, H = m->cfg.heads, Dh = C / H, N = tokens;
  const double *wi = dref_param(r, pv, m->in_w), *bi = dref_param(r, pv, m->in_b);
  const double *wo = dref_param(r, pv, m->out_w), *bo = dref_param(r, pv, m->out_b);
  double *qkv = malloc(sizeof(double) * (size_t)(N * 3 * C)), *o = malloc(sizeof(double) * (size_t)(N * C));
  double *sc = malloc(sizeof(double) * (size_t)N);
  for (int64_t b = 0; b < batch; b++) {
    const double *xb = x + b * C * N;
    for (int64_t n = 0; n < N; n++)
      for (int64_t f = 0; f < 3 * C; f++) {
        double acc = bi[f];
        for (int64_t c = 0; c < C; c++) acc += wi[f * C + c] * xb[c * N + n];
        qkv[n * 3 * C + f] = acc;
      }
    for (int64_t h = 0; h < H; h++)
      for (int64_t i = 0; i < N; i++) {
        double mx = -INFINITY, sum = 0;
        for (int64_t j = 0; j < N; j++) {
          double s = 0;
          for (int64_t e = 0; e < Dh; e++) s += qkv[i * 3 * C + h * Dh + e] * qkv[j * 3 * C + C + h * Dh + e];
          sc[j] = s / sqrt((double)Dh);
          mx = fmax(mx, sc[j]);
        }
        for (int64_t j = 0; j < N; j++) sum += (sc[j] = exp(sc[j] - mx));
        for (int64_t e = 0; e < Dh; e++) {
          double acc = 0;
          for (int64_t j = 0; j < N; j++) acc += sc[j] / sum * qkv[j * 3 * C + 2 * C + h * Dh + e];
          o[i * C + h * Dh + e] = acc;
        }
      }
    for (int64_t n = 0; n < N; n++)
      for (int64_t c = 0; c < C; c++) {
        double acc = bo[c];
        for (int64_t k = 0; k < C; k++) acc += wo[c * C + k] * o[n * C + k];
        y[b * C * N + c * N + n] = acc;
      }
  }
  free(qkv);
  free(o);
  free(sc);
}

void dref_resblock(double *y, const double *x, const resblock *m, const param_registry *r, const double *pv,
                   const dcae_pass *p, int64_t batch, const dcae_grid *g) {
  const resblock_config *c = &m->cfg;
  int64_t C = c->channels, P = dcae_grid_volume(g), hid = (int64_t)c->ffn_factor * C;
  double *yn = malloc(sizeof(double) * (size_t)(batch * C * P));
  double *h = malloc(sizeof(double) * (size_t)(batch * hid * P));
  if (c->norm == RESBLOCK_LAYER_NORM)
    dref_layernorm_channels(yn, x, batch, C, P);
  else
    dref_groupnorm(yn, x, batch, C, C < 16 ? C : 16, P);
  if (c->attention_heads > 0) {
    double *a = malloc(sizeof(double) * (size_t)(batch * C * P));
    dref_attention(a, yn, &m->attn, r, pv, batch, P);
    for (int64_t i = 0; i < batch * C * P; i++) yn[i] += a[i];
    free(a);
  }
  dref_conv_module(h, yn, &m->ffn_in, r, pv, batch, g);
  for (int64_t i = 0; i < batch * hid * P; i++) h[i] = h[i] / (1 + exp(-h[i]));
  if (p->train && c->dropout > 0) {
    float *u = malloc(sizeof(float) * (size_t)(hid * P));
    for (int64_t b = 0; b < batch; b++) {
      rng_uniform(u, hid * P, dcae_dropout_key(p, m->layer_id), p->first_sample + (uint64_t)b, 0);
      for (int64_t e = 0; e < hid * P; e++)
        h[b * hid * P + e] = u[e] >= c->dropout ? h[b * hid * P + e] / (1.0 - c->dropout) : 0.0;
    }
    free(u);
  }
  dref_conv_module(y, h, &m->ffn_out, r, pv, batch, g);
  for (int64_t i = 0; i < batch * C * P; i++) y[i] += x[i];
  free(yn);
  free(h);
}

/* Offset of full-resolution element (c, i0, i1, i2) in the patched layout. */
static int64_t patched_index(int64_t b, int64_t c, const int64_t *i, int64_t channels, const int64_t *n,
                             const int *pt) {
  int64_t q[3], cc = c;
  for (int d = 0; d < 3; d++) {
    q[d] = n[d] / pt[d];
    cc = cc * pt[d] + i[d] % pt[d];
  }
  int64_t cp = channels * pt[0] * pt[1] * pt[2];
  return ((b * cp + cc) * q[0] + i[0] / pt[0]) * q[1] * q[2] + (i[1] / pt[1]) * q[2] + i[2] / pt[2];
}

static void patch_walk(double *y, const double *x, int64_t batch, int64_t channels, const dcae_grid *in,
                       const int *patch, bool forward) {
  int64_t n[3];
  int pt[3];
  pad3(n, in);
  for (int d = 0; d < 3; d++) pt[d] = d < 3 - in->dims ? 1 : patch[d - (3 - in->dims)];
  for (int64_t b = 0; b < batch; b++)
    for (int64_t c = 0; c < channels; c++)
      for (int64_t i0 = 0; i0 < n[0]; i0++)
        for (int64_t i1 = 0; i1 < n[1]; i1++)
          for (int64_t i2 = 0; i2 < n[2]; i2++) {
            int64_t i[3] = {i0, i1, i2};
            int64_t full = ((b * channels + c) * n[0] + i0) * n[1] * n[2] + i1 * n[2] + i2;
            int64_t pat = patched_index(b, c, i, channels, n, pt);
            if (forward)
              y[pat] = x[full];
            else
              y[full] = x[pat];
          }
}

void dref_patchify(double *y, const double *x, int64_t batch, int64_t channels, const dcae_grid *in,
                   const int *patch) {
  patch_walk(y, x, batch, channels, in, patch, true);
}

void dref_unpatchify(double *y, const double *x, int64_t batch, int64_t channels, const dcae_grid *in,
                     const int *patch) {
  patch_walk(y, x, batch, channels, in, patch, false);
}

/* max |a - b| / (1e-3·|b| + 1e-4·max|b|) */
static double scaled_error(const float *a, const double *b, int64_t n) {
  double bmax = 0, err = 0;
  for (int64_t i = 0; i < n; i++) bmax = fmax(bmax, fabs(b[i]));
  for (int64_t i = 0; i < n; i++)
    err = fmax(err, fabs(a[i] - b[i]) / (1e-3 * fabs(b[i]) + 1e-4 * bmax + 1e-300));
  return err;
}

static double objective(dref_forward_fn f, void *ctx, const double *x, const double *pv, const float *dy,
                        double *y, int64_t ny) {
  f(y, x, pv, ctx);
  double s = 0;
  for (int64_t i = 0; i < ny; i++) s += dy[i] * y[i];
  return s;
}

dref_report dref_gradcheck(dref_forward_fn f, void *ctx, const float *x, int64_t nx, const float *y,
                           int64_t ny, const float *dy, const float *dx, const param_registry *r,
                           int64_t param_stride) {
  const double h = 1e-6;
  dref_report rep = {0};
  double *xd = calloc((size_t)nx + 1, sizeof(double)), *yd = calloc((size_t)ny + 1, sizeof(double));
  double *pv = dref_param_copy(r);
  for (int64_t i = 0; i < nx; i++) xd[i] = x[i];
  f(yd, xd, pv, ctx);
  rep.y_err = scaled_error(y, yd, ny);

  double *g = calloc((size_t)nx + 1, sizeof(double));
  for (int64_t i = 0; dx && i < nx; i++) {
    double keep = xd[i];
    xd[i] = keep + h;
    double fp = objective(f, ctx, xd, pv, dy, yd, ny);
    xd[i] = keep - h;
    double fm = objective(f, ctx, xd, pv, dy, yd, ny);
    xd[i] = keep;
    g[i] = (fp - fm) / (2 * h);
  }
  if (dx) rep.x_err = scaled_error(dx, g, nx);

  int64_t checked = 0;
  for (int e = 0; e < r->count; e++) checked += (r->entries[e].numel + param_stride - 1) / param_stride;
  float *got = malloc(sizeof(float) * (size_t)(checked + 1));
  double *want = malloc(sizeof(double) * (size_t)(checked + 1));
  int64_t k = 0;
  for (int e = 0; e < r->count; e++)
    for (int64_t j = 0; j < r->entries[e].numel; j += param_stride) {
      int64_t i = r->entries[e].offset + j;
      double keep = pv[i];
      pv[i] = keep + h;
      double fp = objective(f, ctx, xd, pv, dy, yd, ny);
      pv[i] = keep - h;
      double fm = objective(f, ctx, xd, pv, dy, yd, ny);
      pv[i] = keep;
      want[k] = (fp - fm) / (2 * h);
      got[k++] = r->grads[i];
    }
  rep.param_err = scaled_error(got, want, k);
  free(got);
  free(want);
  free(g);
  free(xd);
  free(yd);
  free(pv);
  return rep;
}

void dref_fill_params(param_registry *r, double scale, unsigned seed) {
  for (int e = 0; e < r->count; e++) {
    float *v = params_value(r, e);
    fill_uniform(v, (size_t)r->entries[e].numel, seed + (unsigned)e);
    for (int64_t i = 0; i < r->entries[e].numel; i++) v[i] = (float)(v[i] * scale);
  }
}

static void dref_upsample(double *y, const double *x, int64_t rows, const dcae_grid *in, const int *factor) {
  int64_t n[3], o[3];
  int f[3];
  pad3(n, in);
  for (int d = 0; d < 3; d++) {
    f[d] = d < 3 - in->dims ? 1 : factor[d - (3 - in->dims)];
    o[d] = n[d] * f[d];
  }
  for (int64_t r = 0; r < rows; r++)
    for (int64_t a = 0; a < o[0]; a++)
      for (int64_t b = 0; b < o[1]; b++)
        for (int64_t c = 0; c < o[2]; c++)
          y[((r * o[0] + a) * o[1] + b) * o[2] + c] =
              x[((r * n[0] + a / f[0]) * n[1] + b / f[1]) * n[2] + c / f[2]];
}

int64_t dref_dcae(double *y, const double *x, const dcae_stack *m, const param_registry *r, const double *pv,
                  const dcae_pass *p, int64_t batch, const dcae_grid *in, dcae_grid *out) {
  int dims = m->cfg.spatial;
  int64_t c = m->layers[0].kind == DCAE_CONV ? m->layers[0].conv.cfg.cin : m->cfg.in_channels;
  dcae_grid g = *in;
  /* Generous ping-pong buffers: the largest tensor of a test-sized stack. */
  int64_t cap = batch * 4096;
  double *cur = malloc(sizeof(double) * (size_t)cap), *nxt = malloc(sizeof(double) * (size_t)cap);
  memcpy(cur, x, sizeof(double) * (size_t)(batch * c * dcae_grid_volume(&g)));
  for (int i = 0; i < m->count; i++) {
    const dcae_layer *l = &m->layers[i];
    dcae_grid ng = g;
    int64_t nc = c, f = 1;
    for (int d = 0; d < dims; d++) f *= l->factor[d];
    /* the output shape first, so that a too-small buffer is caught before it is written */
    for (int d = 0; d < dims; d++) {
      if (l->kind == DCAE_CONV)
        ng.ext[d] =
            (g.ext[d] + 2 * (l->conv.cfg.kernel[d] / 2) - l->conv.cfg.kernel[d]) / l->conv.cfg.stride[d] + 1;
      if (l->kind == DCAE_PATCH) ng.ext[d] = g.ext[d] / l->factor[d];
      if (l->kind == DCAE_UNPATCH || l->kind == DCAE_UPSAMPLE) ng.ext[d] = g.ext[d] * l->factor[d];
    }
    if (l->kind == DCAE_CONV) nc = l->conv.cfg.cout;
    if (l->kind == DCAE_PATCH) nc = c * f;
    if (l->kind == DCAE_UNPATCH) nc = c / f;
    if (batch * nc * dcae_grid_volume(&ng) > cap) {
      fprintf(stderr, "dref_dcae: layer %d output exceeds the reference's buffers (test sizes only)\n", i);
      abort();
    }
    switch (l->kind) {
      case DCAE_CONV:
        dref_conv_module(nxt, cur, &l->conv, r, pv, batch, &g);
        break;
      case DCAE_RESBLOCK:
        dref_resblock(nxt, cur, &l->block, r, pv, p, batch, &g);
        break;
      case DCAE_PATCH:
        dref_patchify(nxt, cur, batch, c, &g, l->factor);
        break;
      case DCAE_UNPATCH:
        dref_unpatchify(nxt, cur, batch, nc, &ng, l->factor);
        break;
      case DCAE_UPSAMPLE:
        dref_upsample(nxt, cur, batch * c, &g, l->factor);
        break;
    }
    double *t = cur;
    cur = nxt;
    nxt = t;
    c = nc;
    g = ng;
  }
  memcpy(y, cur, sizeof(double) * (size_t)(batch * c * dcae_grid_volume(&g)));
  free(cur);
  free(nxt);
  *out = g;
  return c;
}
