/* Convolution geometry and the im2col / col2im copies over output-row tiles. */
#include "conv_geom.h"

#include <string.h>

#include "../../src/error.h"

/* Column tiles of about this many floats (256 KiB, half a core's L2 cache
 * with room for sgemm's packed panels), but of at least this many output
 * positions, so that sgemm's N dimension stays efficient (measured). */
enum { CONV_TILE_FLOATS = 1 << 16, CONV_TILE_MIN_POSITIONS = 512 };

void conv_geom_init(conv_geom *g, const k_conv_shape *s) {
  if (s->dims < 1 || s->dims > K_CONV_MAX_DIMS)
    lola_die(LOLA_EXIT_RUNTIME, "conv: %d spatial dims (1 to %d supported)", s->dims, K_CONV_MAX_DIMS);
  if (s->batch < 0 || s->cin < 1 || s->cout < 1)
    lola_die(LOLA_EXIT_RUNTIME, "conv: bad sizes batch %lld, cin %lld, cout %lld", (long long)s->batch,
             (long long)s->cin, (long long)s->cout);
  memset(g, 0, sizeof *g);
  g->batch = s->batch;
  g->cin = s->cin;
  g->cout = s->cout;
  g->circular = s->circular;
  int lead = 3 - s->dims;
  for (int d = 0; d < 3; d++) {
    if (d < lead) {
      g->in[d] = g->out[d] = 1;
      g->kernel[d] = g->stride[d] = 1;
      g->pad[d] = 0;
      continue;
    }
    int e = d - lead;
    g->in[d] = s->in[e];
    g->kernel[d] = s->kernel[e];
    g->stride[d] = s->stride[e];
    g->pad[d] = s->pad[e];
    if (g->in[d] < 1 || g->kernel[d] < 1 || g->stride[d] < 1 || g->pad[d] < 0)
      lola_die(LOLA_EXIT_RUNTIME,
               "conv: bad geometry in spatial dim %d (in %lld, kernel %d, stride %d, pad %d)", e,
               (long long)g->in[d], g->kernel[d], g->stride[d], g->pad[d]);
    if (s->circular && g->pad[d] > g->in[d])
      lola_die(LOLA_EXIT_RUNTIME, "conv: circular padding %d wider than the input (%lld) in spatial dim %d",
               g->pad[d], (long long)g->in[d], e);
    int64_t span = g->in[d] + 2 * g->pad[d] - g->kernel[d];
    if (span < 0)
      lola_die(LOLA_EXIT_RUNTIME, "conv: kernel %d larger than the padded input %lld in spatial dim %d",
               g->kernel[d], (long long)(g->in[d] + 2 * g->pad[d]), e);
    g->out[d] = span / g->stride[d] + 1;
  }
  g->kvol = (int64_t)g->kernel[0] * g->kernel[1] * g->kernel[2];
  g->ck = g->cin * g->kvol;
  g->vin = g->in[0] * g->in[1] * g->in[2];
  g->vout = g->out[0] * g->out[1] * g->out[2];
  g->rows = g->out[0] * g->out[1];
  g->wo = g->out[2];
  g->pointwise = g->kvol == 1 && g->stride[0] == 1 && g->stride[1] == 1 && g->stride[2] == 1 &&
                 g->pad[0] == 0 && g->pad[1] == 0 && g->pad[2] == 0;
}

int64_t conv_geom_tile_rows(const conv_geom *g) {
  int64_t per_row = g->ck * g->wo;
  int64_t rows = CONV_TILE_FLOATS / (per_row > 0 ? per_row : 1);
  int64_t min_rows = (CONV_TILE_MIN_POSITIONS + g->wo - 1) / g->wo;
  if (rows < min_rows) rows = min_rows;
  if (rows > g->rows) rows = g->rows;
  return rows;
}

/* Source index along one dim for output coordinate o and tap t, or -1 where
 * zero padding applies. */
static inline int64_t source_index(int64_t o, int t, int stride, int pad, int64_t n, bool circular) {
  int64_t i = o * stride - pad + t;
  if (i >= 0 && i < n) return i;
  if (!circular) return -1;
  return i < 0 ? i + n : i - n; /* pad <= n: one wrap is enough */
}

/* Output columns [lo, hi) of a stride-1 row read inside the source row of
 * length n when shifted by `shift`; the columns left of lo read before its
 * start, those from hi on past its end (pad <= n: one wrap at most). */
static inline void interior(int64_t wo, int64_t n, int shift, int64_t *lo, int64_t *hi) {
  int64_t a = shift < 0 ? -shift : 0, b = n - shift;
  if (a > wo) a = wo;
  if (b > wo) b = wo;
  if (b < a) b = a;
  *lo = a, *hi = b;
}

/* dst[x] = src[x·stride + shift] along the innermost dim (0 or wrapped outside). */
static inline void fill_row(float *restrict dst, const float *restrict src, int64_t wo, int64_t n, int stride,
                            int shift, bool circular) {
  if (stride == 1) {
    int64_t lo, hi;
    interior(wo, n, shift, &lo, &hi);
    for (int64_t x = 0; x < lo; x++) dst[x] = circular ? src[x + shift + n] : 0.0f;
#pragma omp simd
    for (int64_t x = lo; x < hi; x++) dst[x] = src[x + shift];
    for (int64_t x = hi; x < wo; x++) dst[x] = circular ? src[x + shift - n] : 0.0f;
    return;
  }
  for (int64_t x = 0; x < wo; x++) {
    int64_t i = source_index(x, 0, stride, -shift, n, circular);
    dst[x] = i < 0 ? 0.0f : src[i];
  }
}

/* dst[x·stride + shift] += col[x]: the adjoint of fill_row. */
static inline void add_row(float *restrict dst, const float *restrict col, int64_t wo, int64_t n, int stride,
                           int shift, bool circular) {
  if (stride == 1) {
    int64_t lo, hi;
    interior(wo, n, shift, &lo, &hi);
    if (circular)
      for (int64_t x = 0; x < lo; x++) dst[x + shift + n] += col[x];
#pragma omp simd
    for (int64_t x = lo; x < hi; x++) dst[x + shift] += col[x];
    if (circular)
      for (int64_t x = hi; x < wo; x++) dst[x + shift - n] += col[x];
    return;
  }
  for (int64_t x = 0; x < wo; x++) {
    int64_t i = source_index(x, 0, stride, -shift, n, circular);
    if (i >= 0) dst[i] += col[x];
  }
}

/* The input row (offset within one channel) that output row r reads through
 * taps (t0, t1), or -1 where it lies in zero padding. */
static inline int64_t source_row(const conv_geom *g, int64_t o0, int64_t o1, int t0, int t1) {
  int64_t i0 = source_index(o0, t0, g->stride[0], g->pad[0], g->in[0], g->circular);
  int64_t i1 = source_index(o1, t1, g->stride[1], g->pad[1], g->in[1], g->circular);
  return (i0 < 0 || i1 < 0) ? -1 : (i0 * g->in[1] + i1) * g->in[2];
}

void conv_im2col(float *col, const float *x, const conv_geom *g, int64_t r0, int64_t r1) {
  const int64_t pt = (r1 - r0) * g->wo, wo = g->wo, k2 = g->kernel[2];
  for (int64_t ci = 0; ci < g->cin; ci++)
    for (int t0 = 0; t0 < g->kernel[0]; t0++)
      for (int t1 = 0; t1 < g->kernel[1]; t1++) {
        float *rows = col + (((ci * g->kernel[0] + t0) * g->kernel[1] + t1) * k2) * pt;
        int64_t o0 = r0 / g->out[1], o1 = r0 % g->out[1];
        for (int64_t r = r0; r < r1; r++) {
          int64_t src = source_row(g, o0, o1, t0, t1);
          for (int t2 = 0; t2 < k2; t2++) {
            float *dst = rows + t2 * pt + (r - r0) * wo;
            if (src < 0)
              memset(dst, 0, (size_t)wo * sizeof *dst);
            else
              fill_row(dst, x + ci * g->vin + src, wo, g->in[2], g->stride[2], t2 - g->pad[2], g->circular);
          }
          if (++o1 == g->out[1]) o1 = 0, o0++;
        }
      }
}

void conv_col2im(float *dx, const float *col, const conv_geom *g, int64_t r0, int64_t r1) {
  const int64_t pt = (r1 - r0) * g->wo, wo = g->wo, k2 = g->kernel[2];
  for (int64_t ci = 0; ci < g->cin; ci++)
    for (int t0 = 0; t0 < g->kernel[0]; t0++)
      for (int t1 = 0; t1 < g->kernel[1]; t1++) {
        const float *rows = col + (((ci * g->kernel[0] + t0) * g->kernel[1] + t1) * k2) * pt;
        int64_t o0 = r0 / g->out[1], o1 = r0 % g->out[1];
        for (int64_t r = r0; r < r1; r++) {
          int64_t src = source_row(g, o0, o1, t0, t1);
          if (src >= 0)
            for (int t2 = 0; t2 < k2; t2++)
              add_row(dx + ci * g->vin + src, rows + t2 * pt + (r - r0) * wo, wo, g->in[2], g->stride[2],
                      t2 - g->pad[2], g->circular);
          if (++o1 == g->out[1]) o1 = 0, o0++;
        }
      }
}
