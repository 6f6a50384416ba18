/* Grid metrics of the Rayleigh–Bénard solver: Chebyshev–Gauss centres, Chebyshev–Gauss–Lobatto
 * faces along y (The Well's / Dedalus' ChebyshevT grid), uniform periodic x. */
#include <math.h>

#include "rayleigh_benard_internal.h"

void rb_grid_init(rb_solver *s) {
  const int ny = s->ny;
  for (int j = 0; j <= ny; j++) s->yf[j] = 0.5 * (1.0 - cos(M_PI * j / ny));
  s->yf[0] = 0.0;
  s->yf[ny] = 1.0;
  for (int j = 0; j < ny; j++) {
    s->yc[j] = 0.5 * (1.0 - cos(M_PI * (j + 0.5) / ny));
    s->dyc[j] = s->yf[j + 1] - s->yf[j];
  }
  s->hf[0] = s->yc[0];
  s->hf[ny] = 1.0 - s->yc[ny - 1];
  for (int j = 1; j < ny; j++) s->hf[j] = s->yc[j] - s->yc[j - 1];

  /* Centre rows: flux through face j is (f_j - f_{j-1})/hf[j]; the wall faces reach the
   * Dirichlet value at distance hf[0] / hf[ny]. Divided by the cell height dyc[j]. */
  for (int j = 0; j < ny; j++) {
    s->lo_c[j] = 1.0 / (s->dyc[j] * s->hf[j]);
    s->up_c[j] = 1.0 / (s->dyc[j] * s->hf[j + 1]);
  }
  /* Face rows j = 1 .. ny-1: control volume [yc_{j-1}, yc_j] of height hf[j]; fluxes through
   * centres (v_{j+1} - v_j)/dyc[j]; v vanishes on the walls (rows 0 and ny). */
  for (int j = 1; j < ny; j++) {
    s->lo_f[j] = 1.0 / (s->hf[j] * s->dyc[j - 1]);
    s->up_f[j] = 1.0 / (s->hf[j] * s->dyc[j]);
  }
  s->lo_f[0] = s->up_f[0] = s->lo_f[ny] = s->up_f[ny] = 0.0;

  for (int m = 0; m < s->nm; m++) {
    double k = 2.0 * sin(M_PI * m / s->nx) / s->dx;
    s->kx2[m] = k * k;
  }
}
