/* Samplers on a Gaussian toy problem with an exact analytic denoiser: sample
 * moments converge to the true ones, Adams-Bashforth coefficients match the
 * textbook ones, and a member's sample does not depend on its batch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/diffusion_sampler.h"
#include "harness.h"

enum { DIMS = 3 };
static const double MU[DIMS] = {1.5, -0.5, 0.0}, SD[DIMS] = {0.5, 1.0, 2.0};

/* log-linear schedule (alpha = 1), sigma from 1e-3 to 1e2, as lola's LogLinearSchedule */
static void schedule(void *user, double t, double *alpha, double *sigma) {
  (void)user;
  *alpha = 1.0;
  *sigma = exp(log(1e-3) * (1 - t) + log(1e2) * t);
}

/* E[X | x_t] for X ~ N(mu, sd²) per dimension: mu + a sd² / (a² sd² + s²) (x_t - a mu). */
static void exact_mean(void *user, const float *x, double t, float *mean, int count) {
  (void)user;
  double a, s;
  schedule(NULL, t, &a, &s);
  for (int c = 0; c < count; c++)
    for (int d = 0; d < DIMS; d++) {
      double v = SD[d] * SD[d];
      mean[c * DIMS + d] = (float)(MU[d] + a * v / (a * a * v + s * s) * (x[c * DIMS + d] - a * MU[d]));
    }
}

static const gaussian_denoiser toy = {.mean = exact_mean, .schedule = schedule, .user = NULL};

/* Largest error over dimensions of the sample mean (in sd units) and of sd ratio. */
static void moments(const sampler_config *c, int n, double *mean_err, double *sd_err) {
  float *x = malloc(sizeof(float) * (size_t)n * DIMS);
  float *work = malloc(sizeof(float) * (size_t)sampler_workspace_floats(c, n, DIMS));
  uint64_t *ids = malloc(sizeof(uint64_t) * (size_t)n);
  for (int i = 0; i < n; i++) ids[i] = (uint64_t)i;
  sampler_init(c, &toy, x, n, DIMS, 11, 0, ids);
  sampler_run(c, &toy, x, n, DIMS, work, 11, 0, ids);
  *mean_err = *sd_err = 0;
  for (int d = 0; d < DIMS; d++) {
    double m = 0, v = 0;
    for (int i = 0; i < n; i++) m += x[i * DIMS + d];
    m /= n;
    for (int i = 0; i < n; i++) v += (x[i * DIMS + d] - m) * (x[i * DIMS + d] - m);
    v /= n - 1;
    *mean_err = fmax(*mean_err, fabs(m - MU[d]) / SD[d]);
    *sd_err = fmax(*sd_err, fabs(sqrt(v) / SD[d] - 1));
  }
  free(x), free(work), free(ids);
}

TEST(diffusion_samplers_reach_the_true_moments) {
  const char *names[] = {"ddpm", "ddim", "euler", "heun", "ab", "eab", "pc"};
  const int steps[] = {256, 256, 256, 64, 64, 64, 256}; /* first-order methods need more */
  for (int a = 0; a < 7; a++) {
    sampler_config c = sampler_defaults((sampler_algorithm)sampler_from_name(names[a]), steps[a]);
    double me, se;
    moments(&c, 4000, &me, &se);
    /* 4000 samples: the sample mean is within ~0.05 sd, the sd within ~4% by chance alone */
    if (!CHECK(me < 0.06 && se < 0.05))
      fprintf(stderr, "  %s: mean err %.3g sd err %.3g\n", names[a], me, se);
  }
}

/* The probability-flow ODE of the Gaussian toy has a closed form (alpha = 1):
 * x - mu grows as sqrt(sd² + sigma²), so x_0 = mu + (x_T - mu) sqrt(sd² + s_0²)/sqrt(sd² + s_T²).
 * Largest error of a deterministic sampler against it, in sd units. */
static double ode_error(const sampler_config *c, int n) {
  float *x = malloc(sizeof(float) * (size_t)n * DIMS), *x0 = malloc(sizeof(float) * (size_t)n * DIMS);
  float *work = malloc(sizeof(float) * (size_t)sampler_workspace_floats(c, n, DIMS));
  uint64_t *ids = malloc(sizeof(uint64_t) * (size_t)n);
  for (int i = 0; i < n; i++) ids[i] = (uint64_t)i;
  sampler_init(c, &toy, x, n, DIMS, 5, 0, ids);
  memcpy(x0, x, sizeof(float) * (size_t)n * DIMS);
  sampler_run(c, &toy, x, n, DIMS, work, 5, 0, ids);
  double a, s_start, s_stop, worst = 0;
  schedule(NULL, c->start, &a, &s_start);
  schedule(NULL, c->stop, &a, &s_stop);
  for (int i = 0; i < n; i++)
    for (int d = 0; d < DIMS; d++) {
      double v = SD[d] * SD[d];
      double exact =
          MU[d] + (x0[i * DIMS + d] - MU[d]) * sqrt(v + s_stop * s_stop) / sqrt(v + s_start * s_start);
      worst = fmax(worst, fabs(x[i * DIMS + d] - exact) / SD[d]);
    }
  free(x), free(x0), free(work), free(ids);
  return worst;
}

TEST(diffusion_deterministic_samplers_converge_at_their_order) {
  /* Doubling the steps divides the error by about 2^order (AB/EAB start at lower orders). */
  const char *names[] = {"ddim", "euler", "heun", "ab", "eab"};
  const double order[] = {1, 1, 2, 3, 3};
  for (int a = 0; a < 5; a++) {
    sampler_config c = sampler_defaults((sampler_algorithm)sampler_from_name(names[a]), 32);
    double e32 = ode_error(&c, 200);
    c.steps = 64;
    double e64 = ode_error(&c, 200);
    double rate = log2(e32 / e64);
    if (!CHECK(rate > 0.8 * order[a]))
      fprintf(stderr, "  %s: error %.3g (32 steps) %.3g (64 steps): rate %.2f\n", names[a], e32, e64, rate);
  }
}

TEST(diffusion_adams_bashforth_coefficients_are_the_textbook_ones) {
  double t[] = {0.0, 0.5, 1.0, 1.5}, c[3];
  adams_bashforth_coefficients(t, 1, 1, false, c);
  CHECK_NEAR(c[0], 0.5, 1e-12); /* Euler */
  adams_bashforth_coefficients(t, 2, 2, false, c);
  CHECK_NEAR(c[0], -0.5 * 0.5, 1e-12); /* AB2: h (-1/2, 3/2) */
  CHECK_NEAR(c[1], 1.5 * 0.5, 1e-12);
  adams_bashforth_coefficients(t, 3, 3, false, c);
  CHECK_NEAR(c[0], 5.0 / 12 * 0.5, 1e-12); /* AB3: h (5, -16, 23)/12 */
  CHECK_NEAR(c[1], -16.0 / 12 * 0.5, 1e-12);
  CHECK_NEAR(c[2], 23.0 / 12 * 0.5, 1e-12);
  /* Exponential, order 1: ∫ e^u du from t0 to t1. */
  double u[] = {-1.0, -0.5};
  adams_bashforth_coefficients(u, 1, 1, true, c);
  CHECK_NEAR(c[0], exp(-0.5) - exp(-1.0), 1e-12);
  /* Exponential, order 2, exact for z linear in u: ∫ e^u (u) du = [e^u (u - 1)]. */
  double w[] = {0.0, 0.3, 0.7}, c2[2];
  adams_bashforth_coefficients(w, 2, 2, true, c2);
  double exact = exp(0.7) * (0.7 - 1) - exp(0.3) * (0.3 - 1);
  CHECK_NEAR(c2[0] * 0.0 + c2[1] * 0.3, exact, 1e-12);
}

TEST(diffusion_members_sample_does_not_depend_on_its_batch) {
  sampler_config c = sampler_defaults(SAMPLER_DDPM, 8);
  uint64_t both[2] = {5, 6}, one[1] = {6};
  float x2[2 * DIMS], x1[DIMS], work[64 * DIMS];
  sampler_init(&c, &toy, x2, 2, DIMS, 3, 7, both);
  sampler_run(&c, &toy, x2, 2, DIMS, work, 3, 7, both);
  sampler_init(&c, &toy, x1, 1, DIMS, 3, 7, one);
  sampler_run(&c, &toy, x1, 1, DIMS, work, 3, 7, one);
  CHECK(memcmp(x1, x2 + DIMS, sizeof x1) == 0);
  /* Another window draws other numbers. */
  sampler_init(&c, &toy, x1, 1, DIMS, 3, 8, one);
  sampler_run(&c, &toy, x1, 1, DIMS, work, 3, 8, one);
  CHECK(memcmp(x1, x2 + DIMS, sizeof x1) != 0);
}
