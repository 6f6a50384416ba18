/* Sine encoding against the reference's formula evaluated in double, and its
 * backward against central finite differences. */
#include <stdlib.h>

#include "../../kernels/embedding.h"
#include "gradcheck.h"
#include "harness.h"

TEST(sine_freqs_are_the_reference_buffer) {
  float f[4];
  k_sine_freqs(f, 4, K_SINE_OMEGA); /* linspace(0, 1, 2) → ω^0, ω^-1 */
  CHECK(f[0] == 1.0f);
  CHECK_REL(f[1], 1e-3, 1e-7);
  float g[8];
  k_sine_freqs(g, 16, K_SINE_OMEGA); /* ω^(-i/7) */
  int ok = 1;
  for (int i = 0; i < 8; i++)
    ok &= fabs(g[i] - exp(-log(1e3) * i / 7.0)) <= 1e-7 * exp(-log(1e3) * i / 7.0) + 1e-12;
  CHECK(ok);
  lola_error_trap trap;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_RUNTIME, k_sine_freqs(g, 5, K_SINE_OMEGA)));
}

typedef struct {
  const float *freqs;
  int64_t n, d;
  const double *dy;
} sine_ctx;

static void ref_sine(double *y, const double *x, const float *freqs, int64_t n, int64_t d) {
  int64_t f = d / 2;
  for (int64_t r = 0; r < n; r++)
    for (int64_t i = 0; i < f; i++) {
      y[r * d + i] = sin(x[r] * freqs[i]);
      y[r * d + f + i] = cos(x[r] * freqs[i]);
    }
}

static double sine_objective(const double *x, void *vctx) {
  sine_ctx *c = vctx;
  double *y = malloc((size_t)(c->n * c->d) * 8), s = 0;
  ref_sine(y, x, c->freqs, c->n, c->d);
  for (int64_t i = 0; i < c->n * c->d; i++) s += c->dy[i] * y[i];
  free(y);
  return s;
}

TEST(sine_encoding_values_and_gradient) {
  enum { N = 7, D = 12 };
  float freqs[D / 2], x[N], y[N * D], dyf[N * D], dx[N];
  double xd[N], yd[N * D], dy[N * D], grad[N];
  k_sine_freqs(freqs, D, K_SINE_OMEGA);
  fill_uniform(x, N, 61);
  for (int i = 0; i < N; i++) x[i] *= 20.0f, xd[i] = x[i]; /* positions / noise levels of either sign */
  fill_uniform(dyf, N * D, 62);
  for (int i = 0; i < N * D; i++) dy[i] = dyf[i];
  ref_sine(yd, xd, freqs, N, D);
  k_sine_encoding_fwd(y, x, freqs, N, D);
  CHECK(max_scaled_error(y, yd, N * D, 1e-6, 1e-6) <= 1);
  /* e(0) = [0 … 0, 1 … 1] */
  float zero = 0.0f, e0[D];
  k_sine_encoding_fwd(e0, &zero, freqs, 1, D);
  CHECK(e0[0] == 0.0f && e0[D / 2 - 1] == 0.0f && e0[D / 2] == 1.0f && e0[D - 1] == 1.0f);
  sine_ctx ctx = {freqs, N, D, dy};
  fd_gradient(sine_objective, xd, N, &ctx, 1e-5, grad);
  k_sine_encoding_bwd(dx, dyf, x, freqs, N, D);
  CHECK(max_scaled_error(dx, grad, N, 1e-5, 1e-5) <= 1);
}
