/* Implicit solves of the Rayleigh–Bénard solver: real FFTs along the periodic x rows and, for
 * every Fourier mode, a tridiagonal (Thomas) solve along y. The 3-point x stencils of the
 * finite-volume operators are diagonal in Fourier space with the symbol -kx2[m], so the
 * Helmholtz and Poisson problems of the discrete operators are solved exactly.
 *
 * The LU factors (Thomas multipliers) of each operator are kept: the Poisson operator never
 * changes, and the Helmholtz operators only change with the time step, which stays the same
 * over the steps of an output interval (rayleigh_benard_step.c keeps it so). */
#include <math.h>

#include "error.h"
#include "rayleigh_benard_internal.h"

/* FFTW's planner is not thread-safe: rb_create must not run concurrently. FFTW_ESTIMATE
 * keeps the chosen algorithm, hence the round-off, the same from run to run. Rows are
 * transformed one by one (new-array execution) so OpenMP can share them out. */
void rb_plans_create(rb_solver *s) {
  const unsigned flags = FFTW_ESTIMATE | FFTW_UNALIGNED;
  s->r2c_row = fftwf_plan_dft_r2c_1d(s->nx, s->work_r, s->work_c, flags);
  s->c2r_row = fftwf_plan_dft_c2r_1d(s->nx, s->work_c, s->work_r, flags | FFTW_DESTROY_INPUT);
  if (!s->r2c_row || !s->c2r_row)
    lola_die(LOLA_EXIT_RUNTIME, "rayleigh_benard: FFTW could not plan %d-point rows", s->nx);
}

void rb_plans_destroy(rb_solver *s) {
  if (s->r2c_row) fftwf_destroy_plan(s->r2c_row);
  if (s->c2r_row) fftwf_destroy_plan(s->c2r_row);
  s->r2c_row = s->c2r_row = NULL;
}

void rb_rows_forward(rb_solver *s, int row0, int rows) {
#pragma omp parallel for schedule(static) if (s->threaded)
  for (int j = row0; j < row0 + rows; j++)
    fftwf_execute_dft_r2c(s->r2c_row, s->work_r + (size_t)j * s->nx, s->work_c + (size_t)j * s->nm);
}

void rb_rows_inverse(rb_solver *s, int row0, int rows) {
  const float scale = 1.0f / (float)s->nx;
#pragma omp parallel for schedule(static) if (s->threaded)
  for (int j = row0; j < row0 + rows; j++) {
    float *r = s->work_r + (size_t)j * s->nx;
    fftwf_execute_dft_c2r(s->c2r_row, s->work_c + (size_t)j * s->nm, r);
    for (int i = 0; i < s->nx; i++) r[i] *= scale;
  }
}

/* Factor the operator held in f->lower/diag/upper (row j: lower[j] x[j-1] +
 * (diag[j] + diag_k kx2[m]) x[j] + upper[j] x[j+1]) for modes m >= m_begin:
 * inv[j][m] = 1 / pivot, cp[j][m] = upper[j] / pivot. */
static void factor(const rb_solver *s, rb_factor *f, int m_begin) {
  const int n = f->n, nm = s->nm;
  for (int j = 0; j < n; j++) {
    double *cp = f->cp + (size_t)j * nm, *inv = f->inv + (size_t)j * nm;
    const double upper = j + 1 < n ? f->upper[j] : 0.0;
    for (int m = m_begin; m < nm; m++) {
      double pivot = f->diag[j] + f->diag_k * s->kx2[m];
      if (j > 0) pivot -= f->lower[j] * cp[m - nm];
      inv[m] = 1.0 / pivot;
      cp[m] = upper * inv[m];
    }
  }
  f->valid = true;
}

/* Forward and back substitution on rows [row0, row0 + n) of work_c, in double. Blocks of
 * modes go to threads; within a block the inner loop runs over modes (vectorises). */
enum { MODE_BLOCK = 32 };
static void substitute(rb_solver *s, const rb_factor *f, int row0, int m_begin) {
  const int n = f->n, nm = s->nm;
  const int blocks = (nm - m_begin + MODE_BLOCK - 1) / MODE_BLOCK;
#pragma omp parallel for schedule(static) if (s->threaded)
  for (int blk = 0; blk < blocks; blk++) {
    const int mb = m_begin + blk * MODE_BLOCK, me = mb + MODE_BLOCK < nm ? mb + MODE_BLOCK : nm;
    for (int j = 0; j < n; j++) {
      const fftwf_complex *row = s->work_c + (size_t)(row0 + j) * nm;
      const double *inv = f->inv + (size_t)j * nm, lower = j > 0 ? f->lower[j] : 0.0;
      double *x = s->sweep_x + 2 * (size_t)j * nm;
      const double *x_prev = j > 0 ? x - 2 * (size_t)nm : x; /* unused at j = 0 (lower = 0) */
#pragma omp simd
      for (int m = mb; m < me; m++) {
        x[2 * m] = (row[m][0] - lower * x_prev[2 * m]) * inv[m];
        x[2 * m + 1] = (row[m][1] - lower * x_prev[2 * m + 1]) * inv[m];
      }
    }
    for (int j = n - 1; j >= 0; j--) {
      fftwf_complex *row = s->work_c + (size_t)(row0 + j) * nm;
      const double *cp = f->cp + (size_t)j * nm;
      double *x = s->sweep_x + 2 * (size_t)j * nm;
      if (j + 1 < n) {
        const double *x_next = x + 2 * (size_t)nm;
#pragma omp simd
        for (int m = mb; m < me; m++) {
          x[2 * m] -= cp[m] * x_next[2 * m];
          x[2 * m + 1] -= cp[m] * x_next[2 * m + 1];
        }
      }
#pragma omp simd
      for (int m = mb; m < me; m++) {
        row[m][0] = (float)x[2 * m];
        row[m][1] = (float)x[2 * m + 1];
      }
    }
  }
}

void rb_helmholtz(rb_solver *s, rb_factor *f, double theta, bool faces, int row0) {
  if (!f->valid || f->theta != theta) {
    const int n = faces ? s->ny - 1 : s->ny;
    const double *lo = faces ? s->lo_f + 1 : s->lo_c, *up = faces ? s->up_f + 1 : s->up_c;
    f->n = n;
    f->theta = theta;
    f->diag_k = theta;
    for (int r = 0; r < n; r++) {
      f->lower[r] = -theta * lo[r];
      f->upper[r] = -theta * up[r];
      f->diag[r] = 1.0 + theta * (lo[r] + up[r]); /* wall couplings stay on the diagonal */
    }
    factor(s, f, 0);
  }
  substitute(s, f, row0, 0);
}

void rb_poisson_factor(rb_solver *s) {
  rb_factor *f = &s->poisson;
  const int ny = s->ny;
  f->n = ny;
  f->diag_k = -1.0;
  for (int j = 0; j < ny; j++) {
    f->lower[j] = j > 0 ? s->lo_c[j] : 0.0; /* no flux through the walls (Neumann) */
    f->upper[j] = j + 1 < ny ? s->up_c[j] : 0.0;
    f->diag[j] = -(f->lower[j] + f->upper[j]);
  }
  factor(s, f, 1);
}

void rb_poisson(rb_solver *s) {
  substitute(s, &s->poisson, 0, 1);
  /* Mode 0 is singular (φ up to a constant): integrate D G φ = r from the bottom wall,
   * where the flux F_0 = ∂φ/∂y vanishes, and fix φ_0 = 0. */
  double flux = 0.0, phi = 0.0;
  for (int j = 0; j < s->ny; j++) {
    if (j > 0) phi += s->hf[j] * flux;
    fftwf_complex *c = s->work_c + (size_t)j * s->nm;
    flux += c[0][0] * s->dyc[j];
    c[0][0] = (float)phi;
    c[0][1] = 0.0f;
  }
}
