/* Rayleigh–Bénard solver: grid, memory order of the accessors, parameter checks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/rayleigh_benard_internal.h"
#include "harness.h"

TEST(rayleigh_benard_coordinates_are_the_wells_grid) {
  rb_params p = rb_default_params(16, 8);
  rb_solver *s = rb_create(&p);
  float x[16], y[8];
  rb_get_x_coords(s, x);
  rb_get_y_coords(s, y);
  for (int i = 0; i < 16; i++) CHECK_NEAR(x[i], 0.25 * i, 1e-6); /* 4/16 apart, from 0 */
  for (int j = 0; j < 8; j++) {
    /* Chebyshev–Gauss nodes on [0, 1]: (1 - cos θ)/2 = sin²(θ/2), θ = π(j + 1/2)/8 */
    double half = sin(M_PI * (j + 0.5) / 16.0);
    CHECK_NEAR(y[j], half * half, 1e-7);
    CHECK_NEAR(y[j] + y[7 - j], 1.0, 1e-6);
    if (j > 0) CHECK(y[j] > y[j - 1]);
  }
  /* Faces bracket the centres and close the layer. */
  CHECK(s->yf[0] == 0.0 && s->yf[8] == 1.0);
  for (int j = 0; j < 8; j++) CHECK(s->yf[j] < s->yc[j] && s->yc[j] < s->yf[j + 1]);
  rb_destroy(s);
}

TEST(rayleigh_benard_accessors_use_x_then_y_order) {
  const int nx = 8, ny = 6;
  rb_params p = rb_default_params(nx, ny);
  p.noise_amplitude = 0.0;
  p.initial_slope = 0.5;
  rb_solver *s = rb_create(&p);
  float b[8 * 6], vel[8 * 6 * 2], pr[8 * 6], y[6];
  rb_get_y_coords(s, y);
  rb_get_buoyancy(s, b);
  for (int i = 0; i < nx; i++)
    for (int j = 0; j < ny; j++) CHECK_NEAR(b[i * ny + j], 0.5 * (1.0 - y[j]), 1e-6);

  /* Staggered components are averaged to the centres: u from the x-faces i-1/2, i+1/2,
   * v from the y-faces below and above. */
  for (int j = 0; j < ny; j++)
    for (int i = 0; i < nx; i++) {
      s->u[j * nx + i] = (float)(100 * i + j);
      s->p[j * nx + i] = (float)(i - 2 * j);
    }
  for (int j = 1; j < ny; j++)
    for (int i = 0; i < nx; i++) s->v[j * nx + i] = (float)(10 * j + i);
  rb_get_velocity(s, vel);
  rb_get_pressure(s, pr);
  double mean = 0.0;
  for (int j = 0; j < ny; j++)
    for (int i = 0; i < nx; i++) mean += (i - 2 * j) * s->dyc[j] / nx;
  for (int i = 0; i < nx; i++)
    for (int j = 0; j < ny; j++) {
      int im = (i + nx - 1) % nx;
      double want_u = 0.5 * ((100 * im + j) + (100 * i + j));
      double v_lo = j > 0 ? 10 * j + i : 0.0, v_hi = j + 1 < ny ? 10 * (j + 1) + i : 0.0;
      CHECK_NEAR(vel[(i * ny + j) * 2 + 0], want_u, 1e-4);
      CHECK_NEAR(vel[(i * ny + j) * 2 + 1], 0.5 * (v_lo + v_hi), 1e-4);
      CHECK_NEAR(pr[i * ny + j], (i - 2 * j) - mean, 1e-5);
    }
  rb_destroy(s);
}

TEST(rayleigh_benard_rejects_bad_parameters) {
  lola_error_trap trap;
  rb_params p = rb_default_params(15, 8);
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DECK, rb_create(&p)));
  CHECK(strstr(trap.message, "nx = 15") != NULL);
  p = rb_default_params(16, 2);
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DECK, rb_create(&p)));
  p = rb_default_params(16, 8);
  p.rayleigh = -1.0;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DECK, rb_create(&p)));
  CHECK(strstr(trap.message, "Rayleigh") != NULL);
  p = rb_default_params(16, 8);
  p.prandtl = 0.0;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DECK, rb_create(&p)));
  CHECK(strstr(trap.message, "Prandtl") != NULL);
  p = rb_default_params(16, 8);
  p.cfl = 2.0;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DECK, rb_create(&p)));
}

/* The Well's initial state: b = (1 - y)·δb0 + y(1 - y)·ε with ε white Gaussian noise of the
 * given standard deviation, u = 0. Recover ε from b and check its first two moments. */
TEST(rayleigh_benard_initial_noise_is_damped_white_noise) {
  const int nx = 64, ny = 32, n = nx * ny;
  rb_params p = rb_default_params(nx, ny);
  p.noise_amplitude = 0.1;
  p.initial_slope = 0.6;
  p.seed = 45;
  rb_solver *s = rb_create(&p);
  static float b[64 * 32], y[32], vel[64 * 32 * 2];
  rb_get_buoyancy(s, b);
  rb_get_y_coords(s, y);
  double sum = 0.0, sum2 = 0.0, lag = 0.0;
  for (int i = 0; i < nx; i++)
    for (int j = 0; j < ny; j++) {
      double eps = (b[i * ny + j] - 0.6 * (1.0 - y[j])) / (y[j] * (1.0 - y[j]));
      sum += eps;
      sum2 += eps * eps;
      if (i > 0) lag += eps * (b[(i - 1) * ny + j] - 0.6 * (1.0 - y[j])) / (y[j] * (1.0 - y[j]));
    }
  double mean = sum / n, std = sqrt(sum2 / n - mean * mean);
  CHECK(fabs(mean) < 4.0 * 0.1 / sqrt(n)); /* 4 standard errors */
  CHECK_REL(std, 0.1, 0.06);
  CHECK(fabs(lag / (n - ny)) < 4.0 * 0.01 / sqrt(n - ny)); /* neighbours uncorrelated */
  rb_get_velocity(s, vel);
  for (int k = 0; k < 2 * n; k++) CHECK(vel[k] == 0.0f);
  rb_destroy(s);
}
