/* Winograd F(2x2, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional
 * Neural Networks", 2016): each 2x2 output tile is A^T [(G g G^T) ∘ (B^T d B)] A
 * for the 4x4 input patch d around it, so a layer becomes, for each of the 16
 * transformed positions ξ, the product U_ξ (Cout x Cin) · V_ξ (Cin x tiles).
 * Rows of tiles are numbered over the whole batch and processed in chunks,
 * one chunk per OpenMP thread at a time; patches read zero or wrapped padding.
 * The transforms run along rows, vectorised across the tiles of a row. */
#include "conv_winograd.h"

#include <omp.h>
#include <string.h>

#include "blas_serial.h"
#include "target_clones.h"

/* The 16 transformed matrices of a buffer are WINO_SKEW floats further apart
 * than their size: at power-of-two distances their 16 store streams would map
 * to the same cache sets (measured: transforms 3x slower). */
enum { WINO_SKEW = 16 };

/* Channels from which the transformed products beat im2col (measured), and
 * the chunk size: about this many floats per transformed buffer, within a
 * range of tiles that keeps sgemm's N dimension efficient. */
enum { WINO_MIN_CHANNELS = 16, WINO_CHUNK_FLOATS = 1 << 17, WINO_MIN_TILES = 64, WINO_MAX_TILES = 512 };

bool conv_winograd_applies(const conv_geom *g) {
  return g->kernel[0] == 1 && g->kernel[1] == 3 && g->kernel[2] == 3 && g->pad[0] == 0 && g->pad[1] == 1 &&
         g->pad[2] == 1 && g->stride[0] == 1 && g->stride[1] == 1 && g->stride[2] == 1 &&
         g->cin >= WINO_MIN_CHANNELS && g->cout >= WINO_MIN_CHANNELS && g->in[1] >= 2 && g->in[2] >= 2;
}

/* Tile rows (a row of tiles of one sample) per chunk: about WINO_CHUNK_FLOATS
 * per transformed buffer, within [WINO_MIN_TILES, WINO_MAX_TILES] tiles. */
static int64_t chunk_rows(const conv_geom *g) {
  int64_t widest = g->cin > g->cout ? g->cin : g->cout, tw = (g->in[2] + 1) / 2;
  int64_t t = WINO_CHUNK_FLOATS / (16 * widest);
  if (t < WINO_MIN_TILES) t = WINO_MIN_TILES;
  if (t > WINO_MAX_TILES) t = WINO_MAX_TILES;
  int64_t rows = t / tw;
  return rows < 1 ? 1 : rows;
}

/* Per thread: the two transformed buffers, and rows of scratch. */
static int64_t thread_floats(const conv_geom *g) {
  int64_t tw = (g->in[2] + 1) / 2, tiles = chunk_rows(g) * tw;
  return 16 * (g->cin * tiles + WINO_SKEW) + 16 * (g->cout * tiles + WINO_SKEW) + 32 * tw + 16;
}

int64_t conv_winograd_workspace_floats(const conv_geom *g) {
  return 16 * (g->cout * g->cin + WINO_SKEW) + (int64_t)omp_get_max_threads() * thread_floats(g);
}

/* U_ξ = G g G^T for every (o, c), stored u[ξ][o][c] (vectorised across (o, c)). */
K_CLONES static void transform_weights_range(float *u, const float *w, int64_t ld, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; i++) {
    const float *k = w + i * 9;
    float t[4][3]; /* G g */
    for (int j = 0; j < 3; j++) {
      t[0][j] = k[j];
      t[1][j] = 0.5f * (k[j] + k[3 + j] + k[6 + j]);
      t[2][j] = 0.5f * (k[j] - k[3 + j] + k[6 + j]);
      t[3][j] = k[6 + j];
    }
    for (int r = 0; r < 4; r++) { /* (G g) G^T */
      u[(r * 4 + 0) * ld + i] = t[r][0];
      u[(r * 4 + 1) * ld + i] = 0.5f * (t[r][0] + t[r][1] + t[r][2]);
      u[(r * 4 + 2) * ld + i] = 0.5f * (t[r][0] - t[r][1] + t[r][2]);
      u[(r * 4 + 3) * ld + i] = t[r][2];
    }
  }
}

static void transform_weights(float *u, const float *w, const conv_geom *g) {
  const int64_t oc = g->cout * g->cin, block = 1024;
#pragma omp parallel for schedule(static) if (oc > 4096)
  for (int64_t i0 = 0; i0 < oc; i0 += block)
    transform_weights_range(u, w, oc + WINO_SKEW, i0, i0 + block < oc ? i0 + block : oc);
}

/* Index along a dim of n cells for coordinate i in [-1, n + 1), or -1 for zero. */
static inline int64_t wrap(int64_t i, int64_t n, bool circular) {
  if (i >= 0 && i < n) return i;
  if (!circular || i >= n + 1) return -1; /* n + 1 only feeds outputs past the end */
  return i < 0 ? i + n : i - n;
}

/* One tile row of one channel: v[ξ][j] (stride `stride` between ξ) for the
 * tw tiles of input rows 2ty-1 .. 2ty+2; scratch holds 16·tw floats. */
K_CLONES static void transform_input_row(float *v, int64_t stride, const float *xc, const conv_geom *g,
                                         int64_t ty, float *scratch) {
  const int64_t H = g->in[1], W = g->in[2], tw = (W + 1) / 2;
  float *cols = scratch; /* cols[r][q][tx] */
  for (int r = 0; r < 4; r++) {
    float *c0 = cols + (r * 4) * tw, *c1 = c0 + tw, *c2 = c1 + tw, *c3 = c2 + tw;
    int64_t row = wrap(2 * ty - 1 + r, H, g->circular);
    if (row < 0) {
      memset(c0, 0, (size_t)(4 * tw) * sizeof *c0);
      continue;
    }
    const float *src = xc + row * W;
    /* d B along the row: tiles whose columns 2tx-1 .. 2tx+2 lie inside read
     * the row directly, the first and the last ones through the padding. */
    const int64_t inner_end = (W - 3) / 2 + 1;
#pragma omp simd
    for (int64_t tx = 1; tx < inner_end; tx++) {
      float a = src[2 * tx - 1], b = src[2 * tx], c = src[2 * tx + 1], d = src[2 * tx + 2];
      c0[tx] = a - c;
      c1[tx] = b + c;
      c2[tx] = c - b;
      c3[tx] = b - d;
    }
    for (int64_t tx = 0; tx < tw; tx = (tx == 0 && inner_end > 1) ? inner_end : tx + 1) {
      float e[4];
      for (int q = 0; q < 4; q++) {
        int64_t col = wrap(2 * tx - 1 + q, W, g->circular);
        e[q] = col < 0 ? 0.0f : src[col];
      }
      c0[tx] = e[0] - e[2];
      c1[tx] = e[1] + e[2];
      c2[tx] = e[2] - e[1];
      c3[tx] = e[1] - e[3];
    }
  }
  for (int q = 0; q < 4; q++) { /* B^T (d B) across the rows */
    const float *r0 = cols + q * tw, *r1 = r0 + 4 * tw, *r2 = r1 + 4 * tw, *r3 = r2 + 4 * tw;
    float *v0 = v + q * stride, *v1 = v0 + 4 * stride, *v2 = v1 + 4 * stride, *v3 = v2 + 4 * stride;
#pragma omp simd
    for (int64_t tx = 0; tx < tw; tx++) {
      v0[tx] = r0[tx] - r2[tx];
      v1[tx] = r1[tx] + r2[tx];
      v2[tx] = r2[tx] - r1[tx];
      v3[tx] = r1[tx] - r3[tx];
    }
  }
}

/* One tile row of one output channel: y rows 2ty, 2ty+1 (those inside) from
 * m[ξ][j] (stride between ξ), plus the bias; scratch holds 10·tw floats. */
K_CLONES static void transform_output_row(float *yo, const float *m, int64_t stride, float bias,
                                          const conv_geom *g, int64_t ty, float *scratch) {
  const int64_t H = g->in[1], W = g->in[2], tw = (W + 1) / 2;
  float *f = scratch, *line = scratch + 8 * tw; /* f[r][q][tx], then one output row */
  for (int q = 0; q < 4; q++) {                 /* A^T M down the columns */
    const float *m0 = m + q * stride, *m1 = m0 + 4 * stride, *m2 = m1 + 4 * stride, *m3 = m2 + 4 * stride;
    float *f0 = f + q * tw, *f1 = f0 + 4 * tw;
#pragma omp simd
    for (int64_t tx = 0; tx < tw; tx++) {
      f0[tx] = m0[tx] + m1[tx] + m2[tx];
      f1[tx] = m1[tx] - m2[tx] - m3[tx];
    }
  }
  for (int r = 0; r < 2 && 2 * ty + r < H; r++) { /* (A^T M) A along the row */
    const float *e0 = f + r * 4 * tw, *e1 = e0 + tw, *e2 = e1 + tw, *e3 = e2 + tw;
    for (int64_t tx = 0; tx < tw; tx++) {
      line[2 * tx] = e0[tx] + e1[tx] + e2[tx] + bias;
      line[2 * tx + 1] = e1[tx] - e2[tx] - e3[tx] + bias;
    }
    memcpy(yo + (2 * ty + r) * W, line, (size_t)W * sizeof *yo);
  }
}

void conv_winograd_fwd(float *y, const float *x, const float *w, const float *b, const conv_geom *g,
                       float *work) {
  const int64_t th = (g->in[1] + 1) / 2, tw = (g->in[2] + 1) / 2, oc = g->cout * g->cin;
  const int64_t rows = g->batch * th, per_chunk = chunk_rows(g);
  const int64_t chunks = (rows + per_chunk - 1) / per_chunk;
  const int64_t ldu = oc + WINO_SKEW;
  float *u = work, *per_thread = work + 16 * ldu;
  transform_weights(u, w, g);
  int blas = blas_serial_begin();
#pragma omp parallel
  {
    float *v = per_thread + (int64_t)omp_get_thread_num() * thread_floats(g);
    float *m = v + 16 * (g->cin * per_chunk * tw + WINO_SKEW);
    float *scratch = m + 16 * (g->cout * per_chunk * tw + WINO_SKEW);
#pragma omp for schedule(dynamic, 1)
    for (int64_t k = 0; k < chunks; k++) {
      int64_t R0 = k * per_chunk, R1 = R0 + per_chunk < rows ? R0 + per_chunk : rows, n = (R1 - R0) * tw;
      int64_t ldv = g->cin * n + WINO_SKEW, ldm = g->cout * n + WINO_SKEW;
      for (int64_t c = 0; c < g->cin; c++)
        for (int64_t R = R0; R < R1; R++)
          transform_input_row(v + c * n + (R - R0) * tw, ldv, x + ((R / th) * g->cin + c) * g->vin, g, R % th,
                              scratch);
      for (int xi = 0; xi < 16; xi++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g->cout, (int)n, (int)g->cin, 1.0f,
                    u + xi * ldu, (int)g->cin, v + xi * ldv, (int)n, 0.0f, m + xi * ldm, (int)n);
      for (int64_t o = 0; o < g->cout; o++)
        for (int64_t R = R0; R < R1; R++)
          transform_output_row(y + ((R / th) * g->cout + o) * g->vout, m + o * n + (R - R0) * tw, ldm,
                               b ? b[o] : 0.0f, g, R % th, scratch);
    }
  }
  blas_serial_end(blas);
}
