/* Rayleigh–Bénard solver internals shared by src/rayleigh_benard*.c (not a public API).
 *
 * Staggered (MAC) grid, stored row-major with x fastest ([j][i], row j along y):
 *   b, p  at cell centres   (x_i, y_j)        i < nx, j < ny      b[j*nx + i]
 *   u     at x-faces        (x_i + dx/2, y_j) i < nx, j < ny      u[j*nx + i]
 *   v     at y-faces        (x_i, yf_j)       i < nx, j <= ny     v[j*nx + i], rows 0, ny = walls = 0
 * y_j are the Chebyshev–Gauss nodes, yf_j the Chebyshev–Gauss–Lobatto nodes between them
 * (yf_0 = 0, yf_ny = 1): every centre is the mid-point of its cell in the angle variable
 * θ (y = (1 - cos θ)/2), so plain averages interpolate to second order in Δθ. */
#ifndef LOLA_RAYLEIGH_BENARD_INTERNAL_H
#define LOLA_RAYLEIGH_BENARD_INTERNAL_H

#include <fftw3.h>
#include <stdbool.h>

#include "rayleigh_benard.h"

/* A tridiagonal operator along y, the same for every Fourier mode m but for its diagonal:
 * row j reads lower[j]·x[j-1] + (diag[j] + diag_k·kx2[m])·x[j] + upper[j]·x[j+1]; with its
 * Thomas factors per (row, mode): inv = 1/pivot and cp = upper/pivot ((ny+1)·nm each).
 * theta: the implicit weight it was built for (Helmholtz operators). */
typedef struct {
  int n;
  bool valid;
  double theta, diag_k;
  double *lower, *diag, *upper;
  double *inv, *cp;
} rb_factor;

struct rb_solver {
  rb_params par;
  int nx, ny, nm; /* nm = nx/2 + 1 Fourier modes of a real row */
  double dx, kappa, nu;
  double t, blowup_t;
  long steps;
  bool finite;
  bool threaded;                               /* grids large enough for OpenMP to pay */
  double plan_t_end, plan_steps_left, plan_dt; /* the step plan of rb_advance_to */

  /* y metrics (double): yc[ny] centres, yf[ny+1] faces, dyc[j] = yf[j+1] - yf[j] (cell
   * heights), hf[j] = yc[j] - yc[j-1] for 1 <= j < ny, with hf[0] = yc[0] and
   * hf[ny] = 1 - yc[ny-1] (centre-to-wall distances). */
  double *yc, *yf, *dyc, *hf;
  /* Centre-row Laplacian couplings: (A f)_j = up_c[j](f_{j+1} - f_j) - lo_c[j](f_j - f_{j-1}),
   * with the walls (Dirichlet) reached through hf[0] and hf[ny]. Face rows likewise. */
  double *lo_c, *up_c, *lo_f, *up_f;
  double *kx2; /* modified wavenumbers (2 sin(π m/nx)/dx)², the symbols of the 3-point x stencils */

  /* Factored operators: Helmholtz per Runge–Kutta stage and field (u, v, b), Poisson. */
  rb_factor helmholtz[3][3], poisson;

  /* Constant rows standing for the wall values beyond y = 0 and y = 1. */
  float *zero_row, *one_row;

  /* Fields. */
  float *u, *v, *b, *p;
  /* Explicit terms (advection, buoyancy) at this stage and the previous one. */
  float *hu, *hv, *hb, *hu_old, *hv_old, *hb_old;

  /* Scratch: a physical right-hand side ((ny+1) rows), its spectrum, and the Thomas
   * sweep registers in double. */
  float *work_r;
  fftwf_complex *work_c;
  double *sweep_x; /* 2*(ny+1)*nm: one complex right-hand side in double */
  fftwf_plan r2c_row, c2r_row;
};

/* rayleigh_benard_grid.c */
void rb_grid_init(rb_solver *s);

/* rayleigh_benard_ops.c: explicit finite-volume operators (row loops, OpenMP over rows). */
void rb_explicit_terms(rb_solver *s); /* hu, hv, hb from u, v, b: -(u·∇)· + b e_y */
/* Right-hand side of the increment δ = f* - f of one Runge–Kutta stage into work_r:
 *   δ-rhs = dt (gamma·h + zeta·h_old - 2·alpha·∇p + 2·alpha·D·L f)
 * (Rai & Moin 1991, eq. for the RK3/CN substep; no pressure term for b). Centre fields fill
 * rows [0, ny), v fills rows [1, ny). */
typedef enum { RB_FIELD_U, RB_FIELD_V, RB_FIELD_B } rb_field;
void rb_stage_rhs(rb_solver *s, rb_field f, double dt, double gamma, double zeta, double alpha);
/* work_r rows [0, ny) = scale · (D u)(centres). */
void rb_divergence_rows(rb_solver *s, double scale);
/* With φ in work_r rows [0, ny): p += φ - (ν/2) D u, then u -= c Gx φ, v -= c Gy φ. */
void rb_project(rb_solver *s, double c);
double rb_divergence_at(const rb_solver *s, int i, int j);

/* rayleigh_benard_solve.c: FFT along x, tridiagonal solves along y. */
void rb_plans_create(rb_solver *s);
void rb_plans_destroy(rb_solver *s);
/* Rows [row0, row0 + rows) of work_r -> the same rows of work_c, and back (scaled by 1/nx). */
void rb_rows_forward(rb_solver *s, int row0, int rows);
void rb_rows_inverse(rb_solver *s, int row0, int rows);
/* Solve (I - theta·L) x = rhs in place on the rows from row0 of work_c, L the diffusion
 * operator of centre rows (faces = false, ny rows) or interior face rows (faces = true,
 * ny - 1 rows); f keeps the factors and is refactored when theta changes. */
void rb_helmholtz(rb_solver *s, rb_factor *f, double theta, bool faces, int row0);
/* Solve (D G) φ = rhs in place on rows [0, ny) of work_c (Neumann walls, φ_0 = 0 in mode 0);
 * rb_poisson_factor must have run once. */
void rb_poisson_factor(rb_solver *s);
void rb_poisson(rb_solver *s);

/* rayleigh_benard_step.c */
double rb_cfl_dt(rb_solver *s); /* NAN when the state is not finite */
void rb_step(rb_solver *s, double dt);

#endif
