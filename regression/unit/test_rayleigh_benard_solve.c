/* Rayleigh–Bénard solver: the FFT + tridiagonal solves invert the finite-volume operators.
 * The operators are applied here by direct stencils in double, independently of the
 * solver's Fourier symbols and Thomas sweeps. */
#include <math.h>
#include <stdlib.h>

#include "../../src/rayleigh_benard_internal.h"
#include "gradcheck.h"
#include "harness.h"

enum { NX = 24, NY = 12 };

static double random_field(double *f, int n, unsigned seed) {
  srand(seed);
  double mean = 0.0;
  for (int k = 0; k < n; k++) mean += f[k] = 2.0 * rand() / RAND_MAX - 1.0;
  return mean / n;
}

/* Periodic second difference along x of row-major [j][i] data. */
static double d2x(const double *f, int i, int j, double dx) {
  const double *r = f + j * NX;
  return (r[(i + 1) % NX] - 2.0 * r[i] + r[(i + NX - 1) % NX]) / (dx * dx);
}

TEST(rayleigh_benard_poisson_inverts_divergence_of_gradient) {
  rb_params p = rb_default_params(NX, NY);
  rb_solver *s = rb_create(&p);
  static double phi[NX * NY], rhs[NX * NY];
  random_field(phi, NX * NY, 7);
  for (int j = 0; j < NY; j++)
    for (int i = 0; i < NX; i++) {
      /* Neumann walls: no flux below row 0 nor above row NY-1. */
      double up = j + 1 < NY ? (phi[(j + 1) * NX + i] - phi[j * NX + i]) / s->hf[j + 1] : 0.0;
      double dn = j > 0 ? (phi[j * NX + i] - phi[(j - 1) * NX + i]) / s->hf[j] : 0.0;
      rhs[j * NX + i] = d2x(phi, i, j, s->dx) + (up - dn) / s->dyc[j];
    }
  for (int k = 0; k < NX * NY; k++) s->work_r[k] = (float)rhs[k];
  rb_rows_forward(s, 0, NY);
  rb_poisson(s);
  rb_rows_inverse(s, 0, NY);
  /* φ is defined up to a constant: compare after removing the offset at one cell. */
  double offset = s->work_r[0] - phi[0], worst = 0.0;
  for (int k = 0; k < NX * NY; k++) worst = fmax(worst, fabs(s->work_r[k] - offset - phi[k]));
  CHECK(worst < 2e-4);
  rb_destroy(s);
}

static void check_helmholtz(bool faces, double theta) {
  rb_params p = rb_default_params(NX, NY);
  rb_solver *s = rb_create(&p);
  static double x[NX * (NY + 1)], rhs[NX * (NY + 1)];
  random_field(x, NX * (NY + 1), faces ? 11 : 13);
  const int row0 = faces ? 1 : 0, rows = faces ? NY - 1 : NY;
  for (int i = 0; i < NX; i++) {
    if (faces) x[i] = x[NY * NX + i] = 0.0; /* v vanishes on the walls */
  }
  for (int j = row0; j < row0 + rows; j++)
    for (int i = 0; i < NX; i++) {
      double lap_y;
      if (faces) { /* control volume [yc_{j-1}, yc_j] of height hf[j] */
        lap_y = ((x[(j + 1) * NX + i] - x[j * NX + i]) / s->dyc[j] -
                 (x[j * NX + i] - x[(j - 1) * NX + i]) / s->dyc[j - 1]) /
                s->hf[j];
      } else { /* zero Dirichlet walls at distance hf[0], hf[NY] from the edge centres */
        double above = j + 1 < NY ? x[(j + 1) * NX + i] : 0.0, below = j > 0 ? x[(j - 1) * NX + i] : 0.0;
        lap_y = ((above - x[j * NX + i]) / s->hf[j + 1] - (x[j * NX + i] - below) / s->hf[j]) / s->dyc[j];
      }
      rhs[j * NX + i] = x[j * NX + i] - theta * (d2x(x, i, j, s->dx) + lap_y);
    }
  for (int k = row0 * NX; k < (row0 + rows) * NX; k++) s->work_r[k] = (float)rhs[k];
  rb_rows_forward(s, row0, rows);
  rb_helmholtz(s, &s->helmholtz[0][faces ? 1 : 0], theta, faces, row0);
  rb_rows_inverse(s, row0, rows);
  double worst = 0.0;
  for (int k = row0 * NX; k < (row0 + rows) * NX; k++) worst = fmax(worst, fabs(s->work_r[k] - x[k]));
  CHECK(worst < 1e-5);
  rb_destroy(s);
}

TEST(rayleigh_benard_helmholtz_inverts_centre_diffusion) {
  check_helmholtz(false, 1e-3);
  check_helmholtz(false, 10.0);
}

TEST(rayleigh_benard_helmholtz_inverts_face_diffusion) {
  check_helmholtz(true, 1e-3);
  check_helmholtz(true, 10.0);
}
