/* Linear layers and batched products: forward against plain double loops,
 * backward against central finite differences of those loops. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/kernels.h"
#include "gradcheck.h"
#include "harness.h"

typedef struct {
  int64_t rows, in, out;
  bool bias;
  const double *dy;
} linear_case;

/* θ = [x (rows·in), w (out·in), b (out)]; returns Σ dy ⊙ (x·wᵀ + b). */
static double linear_objective(const double *theta, void *ctx) {
  const linear_case *c = ctx;
  const double *x = theta, *w = x + c->rows * c->in, *b = w + c->out * c->in;
  double f = 0.0;
  for (int64_t r = 0; r < c->rows; r++)
    for (int64_t o = 0; o < c->out; o++) {
      double y = c->bias ? b[o] : 0.0;
      for (int64_t i = 0; i < c->in; i++) y += x[r * c->in + i] * w[o * c->in + i];
      f += c->dy[r * c->out + o] * y;
    }
  return f;
}

static void check_linear(int64_t rows, int64_t in, int64_t out, bool bias) {
  int64_t nx = rows * in, nw = out * in, n = nx + nw + out;
  double *theta = malloc((size_t)n * sizeof *theta), *dy = malloc((size_t)(rows * out) * sizeof *dy);
  double *fd = malloc((size_t)n * sizeof *fd);
  float *p = malloc((size_t)n * sizeof *p), *y = malloc((size_t)(rows * out) * sizeof *y);
  float *dyf = malloc((size_t)(rows * out) * sizeof *dyf), *g = malloc((size_t)n * sizeof *g);
  fill_uniform(p, (size_t)n, (unsigned)(rows * 131 + in * 7 + out));
  fill_uniform(dyf, (size_t)(rows * out), 99);
  for (int64_t i = 0; i < n; i++) theta[i] = p[i];
  for (int64_t i = 0; i < rows * out; i++) dy[i] = dyf[i];
  linear_case c = {rows, in, out, bias, dy};

  /* Forward: y against the double loop (one output at a time through the objective's formula). */
  k_linear_fwd(y, p, p + nx, bias ? p + nx + nw : NULL, rows, in, out);
  double worst = 0.0;
  for (int64_t r = 0; r < rows; r++)
    for (int64_t o = 0; o < out; o++) {
      double want = bias ? theta[nx + nw + o] : 0.0;
      for (int64_t i = 0; i < in; i++) want += theta[r * in + i] * theta[nx + o * in + i];
      double e = fabs(y[r * out + o] - want) / (1e-5 + 1e-5 * fabs(want));
      if (e > worst) worst = e;
    }
  CHECK(worst <= 1.0);

  /* Backward: dx overwritten (start from garbage), dw and db accumulate onto 0.5. */
  for (int64_t i = 0; i < nx; i++) g[i] = 1e30f;
  for (int64_t i = nx; i < n; i++) g[i] = 0.5f;
  k_linear_bwd(g, g + nx, bias ? g + nx + nw : NULL, dyf, p, p + nx, rows, in, out);
  fd_gradient(linear_objective, theta, (size_t)(bias ? n : nx + nw), &c, 1e-3, fd);
  for (int64_t i = nx; i < n; i++) fd[i] += 0.5;
  if (!bias)
    for (int64_t i = nx + nw; i < n; i++) fd[i] = 0.5;
  CHECK(max_scaled_error(g, fd, (size_t)n, 1e-5, 1e-4) <= 1.0);
  free(theta), free(dy), free(fd), free(p), free(y), free(dyf), free(g);
}

TEST(linear_matches_finite_differences) {
  check_linear(1, 1, 1, true);
  check_linear(3, 5, 7, true);
  check_linear(13, 4, 9, false);
  check_linear(6, 17, 1, true);
  check_linear(33, 31, 29, true);
}

TEST(linear_skips_absent_gradients) {
  float x[6] = {1, 2, 3, 4, 5, 6}, w[6] = {1, 0, -1, 2, 1, 0}, dy[4] = {1, 2, 3, 4}, dw[6] = {0};
  float y[4];
  k_linear_fwd(y, x, w, NULL, 2, 3, 2); /* rows (1,2,3), (4,5,6); w rows (1,0,-1), (2,1,0) */
  CHECK_NEAR(y[0], -2.0, 0);
  CHECK_NEAR(y[1], 4.0, 0);
  CHECK_NEAR(y[2], -2.0, 0);
  CHECK_NEAR(y[3], 13.0, 0);
  k_linear_bwd(NULL, dw, NULL, dy, x, w, 2, 3, 2);
  /* dw = dyᵀ x: row 0 = 1·(1,2,3) + 3·(4,5,6), row 1 = 2·(1,2,3) + 4·(4,5,6). */
  CHECK_NEAR(dw[0], 13.0, 0);
  CHECK_NEAR(dw[2], 21.0, 0);
  CHECK_NEAR(dw[3], 18.0, 0);
  CHECK_NEAR(dw[5], 30.0, 0);
}

typedef struct {
  int64_t batch, m, n, k;
  bool ta, tb;
  const double *dc;
} bmm_case;

static double bmm_objective(const double *theta, void *ctx) {
  const bmm_case *c = ctx;
  const double *a = theta, *b = theta + c->batch * c->m * c->k;
  double f = 0.0;
  for (int64_t s = 0; s < c->batch; s++)
    for (int64_t i = 0; i < c->m; i++)
      for (int64_t j = 0; j < c->n; j++) {
        double v = 0.0;
        for (int64_t l = 0; l < c->k; l++) {
          double av = c->ta ? a[(s * c->k + l) * c->m + i] : a[(s * c->m + i) * c->k + l];
          double bv = c->tb ? b[(s * c->n + j) * c->k + l] : b[(s * c->k + l) * c->n + j];
          v += av * bv;
        }
        f += c->dc[(s * c->m + i) * c->n + j] * v;
      }
  return f;
}

static void check_bmm(int64_t batch, int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  int64_t na = batch * m * k, nb = batch * k * n, nc = batch * m * n, nt = na + nb;
  double *theta = malloc((size_t)nt * sizeof *theta), *fd = malloc((size_t)nt * sizeof *fd);
  double *dc = malloc((size_t)nc * sizeof *dc);
  float *p = malloc((size_t)nt * sizeof *p), *g = malloc((size_t)nt * sizeof *g);
  float *c = malloc((size_t)nc * sizeof *c), *dcf = malloc((size_t)nc * sizeof *dcf);
  fill_uniform(p, (size_t)nt, (unsigned)(m * 100 + n * 10 + k + ta * 7 + tb * 3));
  fill_uniform(dcf, (size_t)nc, 5);
  for (int64_t i = 0; i < nt; i++) theta[i] = p[i];
  for (int64_t i = 0; i < nc; i++) dc[i] = dcf[i];
  bmm_case cs = {batch, m, n, k, ta, tb, dc};

  /* Forward through the objective with a one-hot dc. */
  k_bmm_fwd(c, p, p + na, batch, m, n, k, ta, tb);
  double *onehot = calloc((size_t)nc, sizeof *onehot);
  bmm_case one = cs;
  one.dc = onehot;
  double worst = 0.0;
  for (int64_t i = 0; i < nc; i++) {
    onehot[i] = 1.0;
    double want = bmm_objective(theta, &one);
    onehot[i] = 0.0;
    double e = fabs(c[i] - want) / (1e-5 + 1e-5 * fabs(want));
    if (e > worst) worst = e;
  }
  CHECK(worst <= 1.0);

  for (int64_t i = 0; i < nt; i++) g[i] = 1e30f; /* both overwritten */
  k_bmm_bwd(g, g + na, dcf, p, p + na, batch, m, n, k, ta, tb);
  fd_gradient(bmm_objective, theta, (size_t)nt, &cs, 1e-3, fd);
  CHECK(max_scaled_error(g, fd, (size_t)nt, 1e-5, 1e-4) <= 1.0);
  free(theta), free(fd), free(dc), free(p), free(g), free(c), free(dcf), free(onehot);
}

TEST(bmm_matches_finite_differences_in_every_transposition) {
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) {
      check_bmm(3, 5, 7, 4, ta, tb);
      check_bmm(2, 1, 9, 11, ta, tb);
    }
}

/* Largest |a - b| / (max |b| + tiny). */
static double max_rel_diff(const float *a, const float *b, size_t n) {
  double worst = 0, scale = 1e-30;
  for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs((double)b[i]));
  for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)a[i] - b[i]));
  return worst / scale;
}

/* Whether OpenBLAS gives the same bits on 1 and 2 threads for the three
 * products of a linear layer of these shapes: its AVX-512 kernels do, its AVX2
 * ones round differently for different splits of the matrix. */
static bool blas_is_thread_invariant(const float *x, const float *w, const float *dy, int rows, int in,
                                     int out) {
  float *c[2][3];
  for (int t = 0; t < 2; t++) {
    openblas_set_num_threads(t + 1);
    c[t][0] = calloc((size_t)rows * out, sizeof(float)), c[t][1] = calloc((size_t)rows * in, sizeof(float));
    c[t][2] = calloc((size_t)in * out, sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, out, in, 1.0f, x, in, w, in, 0.0f, c[t][0],
                out);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, in, out, 1.0f, dy, out, w, in, 0.0f, c[t][1],
                in);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, rows, 1.0f, dy, out, x, in, 0.0f, c[t][2],
                in);
  }
  bool same = memcmp(c[0][0], c[1][0], sizeof(float) * (size_t)rows * out) == 0 &&
              memcmp(c[0][1], c[1][1], sizeof(float) * (size_t)rows * in) == 0 &&
              memcmp(c[0][2], c[1][2], sizeof(float) * (size_t)in * out) == 0;
  for (int t = 0; t < 2; t++) free(c[t][0]), free(c[t][1]), free(c[t][2]);
  return same;
}

/* The linear layer on 1 and 2 threads: lola's own part (the bias and its
 * gradient, summed in blocks of columns in a fixed order) bit for bit; the
 * products bit for bit where the BLAS is, to rounding where it is not. */
TEST(linear_gives_the_same_bits_on_one_and_two_threads) {
  enum { ROWS = 320, IN = 96, OUT = 80 };
  float *x = malloc(ROWS * IN * sizeof *x), *w = malloc(IN * OUT * sizeof *w), *b = malloc(OUT * sizeof *b);
  float *dy = malloc(ROWS * OUT * sizeof *dy);
  float *y[2], *dx[2], *dw[2], *db[2];
  fill_uniform(x, ROWS * IN, 1), fill_uniform(w, IN * OUT, 2), fill_uniform(b, OUT, 3);
  fill_uniform(dy, ROWS * OUT, 4);
  int omp_before = omp_get_max_threads(), blas_before = openblas_get_num_threads();
  bool blas_invariant = blas_is_thread_invariant(x, w, dy, ROWS, IN, OUT);
  for (int t = 0; t < 2; t++) {
    omp_set_num_threads(t + 1);
    openblas_set_num_threads(t + 1);
    y[t] = malloc(ROWS * OUT * sizeof(float)), dx[t] = malloc(ROWS * IN * sizeof(float));
    dw[t] = calloc(IN * OUT, sizeof(float)), db[t] = calloc(OUT, sizeof(float));
    k_linear_fwd(y[t], x, w, b, ROWS, IN, OUT);
    k_linear_bwd(dx[t], dw[t], db[t], dy, x, w, ROWS, IN, OUT);
  }
  omp_set_num_threads(omp_before);
  openblas_set_num_threads(blas_before);
  CHECK(memcmp(db[0], db[1], OUT * sizeof(float)) == 0);
  if (blas_invariant) {
    CHECK(memcmp(y[0], y[1], ROWS * OUT * sizeof(float)) == 0);
    CHECK(memcmp(dx[0], dx[1], ROWS * IN * sizeof(float)) == 0);
    CHECK(memcmp(dw[0], dw[1], IN * OUT * sizeof(float)) == 0);
  } else {
    CHECK(max_rel_diff(y[1], y[0], ROWS * OUT) <= 1e-6);
    CHECK(max_rel_diff(dx[1], dx[0], ROWS * IN) <= 1e-6);
    CHECK(max_rel_diff(dw[1], dw[0], IN * OUT) <= 1e-6);
  }
  for (int t = 0; t < 2; t++) free(y[t]), free(dx[t]), free(dw[t]), free(db[t]);
  free(x), free(w), free(b), free(dy);
}
