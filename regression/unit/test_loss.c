/* Losses of the reference's AutoEncoderLoss: values against hand results and
 * double loops, gradients against central finite differences. */
#include <stdlib.h>

#include "../../kernels/kernels.h"
#include "gradcheck.h"
#include "harness.h"

typedef struct {
  int kind; /* 0 mse, 1 mae, 2 vrmse, 3 similarity */
  int64_t B, C, S;
  const double *target;
} loss_case;

static double vrmse_ref(const double *p, const double *t, int64_t B, int64_t C, int64_t S) {
  double total = 0.0;
  for (int64_t r = 0; r < B * C; r++) {
    double mean = 0.0, var = 0.0, mse = 0.0;
    for (int64_t s = 0; s < S; s++) mean += t[r * S + s] / (double)S;
    for (int64_t s = 0; s < S; s++) {
      var += (t[r * S + s] - mean) * (t[r * S + s] - mean) / (double)(S - 1);
      mse += (p[r * S + s] - t[r * S + s]) * (p[r * S + s] - t[r * S + s]) / (double)S;
    }
    total += sqrt(mse / (var + 1e-2));
  }
  return total / (double)(B * C);
}

static double similarity_ref(const double *z, int64_t B, int64_t D) {
  double total = 0.0;
  int64_t pairs = 0;
  for (int64_t i = 0; i < B; i++)
    for (int64_t j = i + 1; j < B; j++) {
      double dot = 0.0, ni = 0.0, nj = 0.0;
      for (int64_t d = 0; d < D; d++) {
        dot += z[i * D + d] * z[j * D + d];
        ni += z[i * D + d] * z[i * D + d];
        nj += z[j * D + d] * z[j * D + d];
      }
      total += dot / (sqrt(ni) * sqrt(nj));
      pairs++;
    }
  return total / (double)pairs;
}

static double loss_objective(const double *p, void *ctx) {
  const loss_case *c = ctx;
  int64_t n = c->B * c->C * c->S;
  double f = 0.0;
  switch (c->kind) {
    case 0:
      for (int64_t i = 0; i < n; i++) f += (p[i] - c->target[i]) * (p[i] - c->target[i]) / (double)n;
      return f;
    case 1:
      for (int64_t i = 0; i < n; i++) f += fabs(p[i] - c->target[i]) / (double)n;
      return f;
    case 2:
      return vrmse_ref(p, c->target, c->B, c->C, c->S);
    default:
      return similarity_ref(p, c->B, c->C * c->S);
  }
}

static void check_loss(int kind, int64_t B, int64_t C, int64_t S) {
  int64_t n = B * C * S;
  float *p = malloc((size_t)n * sizeof *p), *t = malloc((size_t)n * sizeof *t),
        *g = malloc((size_t)n * sizeof *g);
  double *pd = malloc((size_t)n * sizeof *pd), *td = malloc((size_t)n * sizeof *td),
         *fd = malloc((size_t)n * sizeof *fd);
  fill_uniform(p, (size_t)n, (unsigned)(kind * 97 + n));
  fill_uniform(t, (size_t)n, (unsigned)(kind * 89 + n + 1));
  for (int64_t i = 0; i < n; i++) {
    t[i] = 0.7f * t[i] + 0.2f; /* a target with a mean and a variance of its own */
    pd[i] = p[i];
    td[i] = t[i];
  }
  loss_case c = {kind, B, C, S, td};
  double got = 0.0, dloss = 1.7;
  switch (kind) {
    case 0:
      got = k_mse_fwd(p, t, n), k_mse_bwd(g, p, t, n, dloss);
      break;
    case 1:
      got = k_mae_fwd(p, t, n), k_mae_bwd(g, p, t, n, dloss);
      break;
    case 2:
      got = k_vrmse_fwd(p, t, B, C, S), k_vrmse_bwd(g, p, t, B, C, S, dloss);
      break;
    default:
      got = k_similarity_fwd(p, B, C * S), k_similarity_bwd(g, p, B, C * S, dloss);
      break;
  }
  CHECK_REL(got, loss_objective(pd, &c), 1e-9);
  fd_gradient(loss_objective, pd, (size_t)n, &c, 1e-5, fd);
  for (int64_t i = 0; i < n; i++) fd[i] *= dloss;
  CHECK(max_scaled_error(g, fd, (size_t)n, 1e-6, 1e-4) <= 1.0);
  free(p), free(t), free(g), free(pd), free(td), free(fd);
}

TEST(losses_match_double_references_and_finite_differences) {
  for (int kind = 0; kind < 4; kind++) {
    check_loss(kind, 2, 3, 5);
    check_loss(kind, 3, 1, 17);
    check_loss(kind, 5, 4, 2);
  }
}

TEST(mse_on_a_long_array_takes_the_parallel_path) {
  /* Several reduction chunks and threads; the gradient against 2(y - x)/n in
   * double (finite differences would cost n² here). */
  enum { N = 100003 };
  float *p = malloc(N * sizeof *p), *t = malloc(N * sizeof *t), *g = malloc(N * sizeof *g);
  double *want = malloc(N * sizeof *want);
  fill_uniform(p, N, 1), fill_uniform(t, N, 2);
  double sum = 0.0;
  for (int i = 0; i < N; i++) {
    double d = (double)p[i] - t[i];
    sum += d * d;
    want[i] = 2.0 * 0.5 * d / N;
  }
  CHECK_REL(k_mse_fwd(p, t, N), sum / N, 1e-12);
  k_mse_bwd(g, p, t, N, 0.5);
  CHECK(max_scaled_error(g, want, N, 1e-12, 1e-6) <= 1.0);
  free(p), free(t), free(g), free(want);
}

TEST(losses_hand_values) {
  float t[4] = {0, 2, 1, 1}, p[4] = {1, 2, 1, 3};
  CHECK_NEAR(k_mse_fwd(p, t, 4), (1.0 + 0 + 0 + 4) / 4, 1e-12);
  CHECK_NEAR(k_mae_fwd(p, t, 4), (1.0 + 0 + 0 + 2) / 4, 1e-12);
  /* Rows (0, 2) -> (1, 2): unbiased var 2, mse 0.5; (1, 1) -> (1, 3): var 0, mse 2. */
  CHECK_NEAR(k_vrmse_fwd(p, t, 1, 2, 2), (sqrt(0.5 / 2.01) + sqrt(2.0 / 0.01)) / 2, 1e-9);
  float z[6] = {1, 0, 0, 1, 1, 1};
  CHECK_NEAR(k_similarity_fwd(z, 3, 2), (0.0 + 2.0 / sqrt(2.0)) / 3, 1e-7);
  /* A perfect reconstruction: VRMSE 0 with a zero (not NaN) gradient. */
  float g[4];
  k_vrmse_bwd(g, t, t, 1, 2, 2, 1.0);
  CHECK(g[0] == 0.0f && g[3] == 0.0f);
}

TEST(losses_reject_degenerate_shapes) {
  float x[2] = {1, 2};
  lola_error_trap trap;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_RUNTIME, k_vrmse_fwd(x, x, 2, 1, 1)));
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_RUNTIME, k_similarity_fwd(x, 1, 2)));
}
