/* Convolution forward and backward: im2col tiles and single-threaded sgemm on
 * each OpenMP thread (kernels/conv.h). */
#include "../conv.h"
#include "kernels_cpu.h"

#include <omp.h>
#include <string.h>

#include "blas_serial.h"
#include "conv_geom.h"
#include "conv_winograd.h"

/* The weight gradient is summed per group of samples, then over groups in a
 * fixed order, so it does not depend on the thread count: at most this many
 * groups (partial gradients in the workspace), and about one group per this
 * many output positions, but at least two (for two threads) when there are two
 * samples. Weights are reduced in blocks of CONV_REDUCE_BLOCK. */
enum { CONV_GRAD_GROUPS = 8, CONV_GROUP_POSITIONS = 1024, CONV_REDUCE_BLOCK = 256 };

/* Input channels from which the input gradient is computed by gathering. */
enum { CONV_GATHER_MIN_CIN = 16 };

k_conv_shape k_conv_same(int64_t batch, int64_t cin, int64_t cout, int dims, const int64_t *in, int k,
                         bool circular) {
  k_conv_shape s = {.batch = batch, .cin = cin, .cout = cout, .dims = dims, .circular = circular};
  for (int d = 0; d < dims && d < K_CONV_MAX_DIMS; d++) {
    s.in[d] = in[d];
    s.kernel[d] = k;
    s.stride[d] = 1;
    s.pad[d] = k / 2;
  }
  return s;
}

int64_t k_conv_out_shape(const k_conv_shape *s, int64_t out[K_CONV_MAX_DIMS]) {
  conv_geom g;
  conv_geom_init(&g, s);
  for (int d = 0; d < s->dims; d++) out[d] = g.out[3 - s->dims + d];
  return g.vout;
}

int64_t k_conv_weight_numel(const k_conv_shape *s) {
  conv_geom g;
  conv_geom_init(&g, s);
  return g.cout * g.ck;
}

static int64_t group_count(const conv_geom *g) {
  int64_t groups = g->batch * g->vout / CONV_GROUP_POSITIONS;
  if (groups < 2) groups = 2;
  if (groups > CONV_GRAD_GROUPS) groups = CONV_GRAD_GROUPS;
  return groups < g->batch ? groups : g->batch;
}

/* Scratch of forward_conv on geometry g. */
static int64_t forward_workspace(const conv_geom *g) {
  if (conv_winograd_applies(g)) return conv_winograd_workspace_floats(g);
  if (g->pointwise) return 0;
  return (int64_t)omp_get_max_threads() * g->ck * conv_geom_tile_rows(g) * g->wo;
}

int64_t kcpu_conv_fwd_workspace_floats(const k_conv_shape *s) {
  conv_geom g;
  conv_geom_init(&g, s);
  return forward_workspace(&g);
}

static bool adjoint_geometry(const conv_geom *g, conv_geom *adj);

int64_t kcpu_conv_bwd_workspace_floats(const k_conv_shape *s) {
  conv_geom g, adj;
  conv_geom_init(&g, s);
  const int64_t wn = g.cout * g.ck;
  int64_t tile = g.pointwise ? 0 : 2 * g.ck * conv_geom_tile_rows(&g) * g.wo;
  int64_t flipped = 0;
  if (adjoint_geometry(&g, &adj)) {
    flipped = wn;
  }
  int64_t tiles = (int64_t)omp_get_max_threads() * tile;
  if (flipped && forward_workspace(&adj) > tiles) tiles = forward_workspace(&adj);
  return group_count(&g) * wn + flipped + tiles;
}

/* y = conv(x, w) + b on geometry g: OpenMP over (sample, row tile), one
 * column tile per thread in work. */
static void forward_tiles(float *y, const float *x, const float *w, const float *b, const conv_geom *g,
                          float *work) {
  const int64_t tile_rows = conv_geom_tile_rows(g);
  const int64_t tiles = (g->rows + tile_rows - 1) / tile_rows;
  const int64_t items = g->batch * tiles;
  const int64_t col_floats = g->ck * tile_rows * g->wo;
  int blas = blas_serial_begin();
#pragma omp parallel
  {
    float *col = work + (int64_t)omp_get_thread_num() * col_floats;
#pragma omp for schedule(dynamic, 1)
    for (int64_t item = 0; item < items; item++) {
      int64_t n = item / tiles, r0 = (item % tiles) * tile_rows;
      int64_t r1 = r0 + tile_rows < g->rows ? r0 + tile_rows : g->rows;
      int64_t pt = (r1 - r0) * g->wo;
      const float *xn = x + n * g->cin * g->vin;
      float *yt = y + n * g->cout * g->vout + r0 * g->wo;
      const float *bmat = xn + r0 * g->wo;
      int64_t ldb = g->vout;
      if (!g->pointwise) {
        conv_im2col(col, xn, g, r0, r1);
        bmat = col;
        ldb = pt;
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g->cout, (int)pt, (int)g->ck, 1.0f, w,
                  (int)g->ck, bmat, (int)ldb, 0.0f, yt, (int)g->vout);
      if (b)
        for (int64_t o = 0; o < g->cout; o++) {
          float bo = b[o], *yo = yt + o * g->vout;
#pragma omp simd
          for (int64_t p = 0; p < pt; p++) yo[p] += bo;
        }
    }
  }
  blas_serial_end(blas);
}

/* The forward on geometry g: Winograd where it applies, else im2col. */
static void forward_conv(float *y, const float *x, const float *w, const float *b, const conv_geom *g,
                         float *work) {
  if (conv_winograd_applies(g))
    conv_winograd_fwd(y, x, w, b, g, work);
  else
    forward_tiles(y, x, w, b, g, work);
}

void kcpu_conv_fwd(float *y, const float *x, const float *w, const float *b, const k_conv_shape *s,
                   float *work) {
  conv_geom g;
  conv_geom_init(&g, s);
  forward_conv(y, x, w, b, &g, work);
}

/* For stride 1 (and, with circular padding, an output the size of the input)
 * the input gradient is itself a convolution: of dy, with the kernel flipped,
 * its channel axes swapped and padding k - 1 - pad. Computing it so gathers
 * (sgemm with K = Cout·kvol) instead of scattering through col2im (K = Cout),
 * which is faster once Cin is large enough to fill sgemm's M dimension
 * (measured: not at Cin = 5). Returns false when that does not hold; else
 * fills the adjoint geometry. */
static bool adjoint_geometry(const conv_geom *g, conv_geom *adj) {
  if (g->pointwise || g->cin < CONV_GATHER_MIN_CIN) return false;
  k_conv_shape s = {.batch = g->batch, .cin = g->cout, .cout = g->cin, .dims = 3, .circular = g->circular};
  for (int d = 0; d < 3; d++) {
    if (g->stride[d] != 1 || g->pad[d] > g->kernel[d] - 1) return false;
    if (g->circular && g->out[d] != g->in[d]) return false;
    s.in[d] = g->out[d];
    s.kernel[d] = g->kernel[d];
    s.stride[d] = 1;
    s.pad[d] = g->kernel[d] - 1 - g->pad[d];
  }
  conv_geom_init(adj, &s);
  return true;
}

/* flipped[ci, co, t] = w[co, ci, kvol - 1 - t]: reversing the flat tap index flips every spatial dim. */
static void flip_weight(float *flipped, const float *w, const conv_geom *g) {
#pragma omp parallel for schedule(static) if (g->cout * g->ck > 65536)
  for (int64_t ci = 0; ci < g->cin; ci++)
    for (int64_t co = 0; co < g->cout; co++) {
      const float *src = w + co * g->ck + ci * g->kvol;
      float *dst = flipped + (ci * g->cout + co) * g->kvol;
      for (int64_t t = 0; t < g->kvol; t++) dst[t] = src[g->kvol - 1 - t];
    }
}

/* One group of samples: dx for each, and this group's partial weight gradient. */
static void backward_group(float *dx, float *dw_part, const float *dy, const float *x, const float *w,
                           const conv_geom *g, int64_t n0, int64_t n1, float *col, float *dcol) {
  const int64_t tile_rows = conv_geom_tile_rows(g);
  bool first = true;
  for (int64_t n = n0; n < n1; n++) {
    const float *xn = x + n * g->cin * g->vin;
    const float *dyn = dy + n * g->cout * g->vout;
    float *dxn = dx ? dx + n * g->cin * g->vin : NULL;
    if (dxn && !g->pointwise) memset(dxn, 0, (size_t)(g->cin * g->vin) * sizeof *dxn);
    for (int64_t r0 = 0; r0 < g->rows; r0 += tile_rows) {
      int64_t r1 = r0 + tile_rows < g->rows ? r0 + tile_rows : g->rows;
      int64_t pt = (r1 - r0) * g->wo;
      const float *dyt = dyn + r0 * g->wo;
      if (g->pointwise) {
        /* The column matrix is x itself, and dcol is dx itself. */
        if (dw_part)
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)g->cout, (int)g->ck, (int)pt, 1.0f, dyt,
                      (int)g->vout, xn + r0 * g->wo, (int)g->vout, first ? 0.0f : 1.0f, dw_part, (int)g->ck);
        if (dxn)
          cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g->ck, (int)pt, (int)g->cout, 1.0f, w,
                      (int)g->ck, dyt, (int)g->vout, 0.0f, dxn + r0 * g->wo, (int)g->vout);
      } else {
        if (dw_part) {
          conv_im2col(col, xn, g, r0, r1);
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)g->cout, (int)g->ck, (int)pt, 1.0f, dyt,
                      (int)g->vout, col, (int)pt, first ? 0.0f : 1.0f, dw_part, (int)g->ck);
        }
        if (dxn) {
          cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g->ck, (int)pt, (int)g->cout, 1.0f, w,
                      (int)g->ck, dyt, (int)g->vout, 0.0f, dcol, (int)pt);
          conv_col2im(dxn, dcol, g, r0, r1);
        }
      }
      first = false;
    }
  }
}

void kcpu_conv_bwd(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                   const k_conv_shape *s, float *work) {
  conv_geom g, adj;
  conv_geom_init(&g, s);
  const int64_t groups = group_count(&g);
  const int64_t wn = g.cout * g.ck;
  const int64_t tile_floats = g.pointwise ? 0 : g.ck * conv_geom_tile_rows(&g) * g.wo;
  const bool gather = adjoint_geometry(&g, &adj);
  const int64_t thread_floats = 2 * tile_floats;
  float *parts = work, *flipped = work + groups * wn;
  float *tiles = flipped + (gather ? wn : 0);
  if (db) {
    /* Per channel in double, samples then positions in order. */
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < g.cout; o++) {
      double sum = 0.0;
      for (int64_t n = 0; n < g.batch; n++) {
        const float *d = dy + (n * g.cout + o) * g.vout;
#pragma omp simd reduction(+ : sum)
        for (int64_t p = 0; p < g.vout; p++) sum += d[p];
      }
      db[o] += (float)sum;
    }
  }
  if (dx && gather) {
    flip_weight(flipped, w, &g);
    forward_conv(dx, dy, flipped, NULL, &adj, tiles);
    dx = NULL; /* done */
  }
  if ((!dx && !dw) || groups == 0) return;
  int blas = blas_serial_begin();
#pragma omp parallel
  {
    float *col = tiles + (int64_t)omp_get_thread_num() * thread_floats;
    float *dcol = col + tile_floats;
#pragma omp for schedule(dynamic, 1)
    for (int64_t grp = 0; grp < groups; grp++) {
      int64_t n0 = grp * g.batch / groups, n1 = (grp + 1) * g.batch / groups;
      backward_group(dx, dw ? parts + grp * wn : NULL, dy, x, w, &g, n0, n1, col, dcol);
    }
    if (dw) {
#pragma omp for schedule(static)
      for (int64_t i0 = 0; i0 < wn; i0 += CONV_REDUCE_BLOCK) {
        const int64_t n = wn - i0 < CONV_REDUCE_BLOCK ? wn - i0 : CONV_REDUCE_BLOCK;
        double sum[CONV_REDUCE_BLOCK] = {0};
        for (int64_t grp = 0; grp < groups; grp++) {
          const float *part = parts + grp * wn + i0;
#pragma omp simd
          for (int64_t j = 0; j < n; j++) sum[j] += part[j];
        }
#pragma omp simd
        for (int64_t j = 0; j < n; j++) dw[i0 + j] += (float)sum[j];
      }
    }
  }
  blas_serial_end(blas);
}

void k_conv_identity_init(float *w, const k_conv_shape *s) {
  conv_geom g;
  conv_geom_init(&g, s);
  int64_t centre =
      ((int64_t)(g.kernel[0] / 2) * g.kernel[1] + g.kernel[1] / 2) * g.kernel[2] + g.kernel[2] / 2;
  for (int64_t i = 0; i < g.cout * g.ck; i++) w[i] *= 1e-2f;
  for (int64_t o = 0; o < g.cout; o++) w[o * g.ck + (o % g.cin) * g.kvol + centre] += 1.0f;
}
