#include "euler.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "euler_hllc.h"

/* The face loops ask for SIMD; they get it where sqrt need not set errno
 * (-fno-math-errno, as in `make CFLAGS="-O2 -march=native -fno-math-errno"`,
 * about 2x on AVX-512). Elsewhere clang would warn that it could not comply. */
#ifdef __clang__
#pragma clang diagnostic ignored "-Wpass-failed"
#endif

/* Two ghost cells: the MUSCL slope of the first ghost cell needs the second. */
enum { GHOST = 2 };

/* More steps than this to reach one output time means the solution has blown up. */
#define MAX_STEPS_PER_CALL 1e7

static inline long cell(const euler_solver *s, int i, int j) {
  return (long)(j + GHOST) * s->stride + (i + GHOST);
}

void euler_create(euler_solver *s, const euler_params *par) {
  memset(s, 0, sizeof *s);
  if (par->nx < 4 || par->ny < 4)
    lola_die(LOLA_EXIT_RUNTIME, "euler: grid %d x %d is too small (at least 4 x 4)", par->nx, par->ny);
  if (!(par->gamma > 1.0))
    lola_die(LOLA_EXIT_RUNTIME, "euler: gamma = %g must be greater than 1", par->gamma);
  if (!(par->cfl > 0.0 && par->cfl < 1.0))
    lola_die(LOLA_EXIT_RUNTIME, "euler: cfl = %g must lie in (0, 1)", par->cfl);
  if (!(par->lx > 0.0 && par->ly > 0.0))
    lola_die(LOLA_EXIT_RUNTIME, "euler: domain %g x %g must have positive sides", par->lx, par->ly);
  s->par = *par;
  s->stride = par->nx + 2 * GHOST;
  s->dx = par->lx / par->nx;
  s->dy = par->ly / par->ny;
  /* Below this size a step is too short for thread start-up and barriers to pay. */
  s->threaded = (long)par->nx * par->ny >= 16384;
  long cells = (long)s->stride * (par->ny + 2 * GHOST);
  long fx = (long)par->ny * (par->nx + 1), fy = (long)(par->ny + 1) * par->nx;
  long total = EULER_NVAR * (4 * cells + fx + fy);
  s->block = lola_calloc((size_t)total, sizeof(double), "euler solver arrays");
  double *p = s->block;
  for (int v = 0; v < EULER_NVAR; v++) {
    s->u[v] = p, p += cells;
    s->u_old[v] = p, p += cells;
    s->w[v] = p, p += cells;
    s->slope[v] = p, p += cells;
    s->flux_x[v] = p, p += fx;
    s->flux_y[v] = p, p += fy;
  }
}

void euler_destroy(euler_solver *s) {
  free(s->block);
  memset(s, 0, sizeof *s);
}

void euler_set_quadrants(euler_solver *s, const euler_quadrants *q) {
  double g1 = s->par.gamma - 1.0;
  for (int j = 0; j < s->par.ny; j++) {
    double y = (j + 0.5) * s->dy;
    for (int i = 0; i < s->par.nx; i++) {
      double x = (i + 0.5) * s->dx;
      const euler_state *st = &q->q[(x >= q->x0) + 2 * (y >= q->y0)];
      long c = cell(s, i, j);
      s->u[EULER_RHO][c] = st->rho;
      s->u[EULER_MX][c] = st->rho * st->u;
      s->u[EULER_MY][c] = st->rho * st->v;
      s->u[EULER_E][c] = st->p / g1 + 0.5 * st->rho * (st->u * st->u + st->v * st->v);
    }
  }
  s->t = 0.0;
}

/* Ghost cells: copies of the nearest interior cell (open: zero-gradient
 * extrapolation) or of the opposite side (periodic). Columns first, then whole
 * rows, so the corners are filled too. */
static void fill_ghosts(euler_solver *s) {
  const int nx = s->par.nx, ny = s->par.ny, periodic = s->par.bc == EULER_BC_PERIODIC;
#pragma omp parallel for schedule(static) if (s->threaded)
  for (int j = 0; j < ny; j++) {
    for (int v = 0; v < EULER_NVAR; v++) {
      double *row = s->u[v] + cell(s, 0, j);
      for (int g = 1; g <= GHOST; g++) {
        row[-g] = periodic ? row[nx - g] : row[0];
        row[nx - 1 + g] = periodic ? row[g - 1] : row[nx - 1];
      }
    }
  }
  size_t bytes = sizeof(double) * (size_t)s->stride;
  for (int v = 0; v < EULER_NVAR; v++) {
    for (int g = 1; g <= GHOST; g++) {
      memcpy(s->u[v] + cell(s, -GHOST, -g), s->u[v] + cell(s, -GHOST, periodic ? ny - g : 0), bytes);
      memcpy(s->u[v] + cell(s, -GHOST, ny - 1 + g), s->u[v] + cell(s, -GHOST, periodic ? g - 1 : ny - 1),
             bytes);
    }
  }
}

/* Primitive variables on every cell (ghosts included). Returns the largest
 * (|u| + c)/dx + (|v| + c)/dy over the interior, or -1 when an interior cell
 * is unphysical; then *bad is the linear index of the first such cell. */
static double to_primitive(euler_solver *s, long *bad) {
  const double g = s->par.gamma, g1 = g - 1.0, idx = 1.0 / s->dx, idy = 1.0 / s->dy;
  const int nx = s->par.nx, ny = s->par.ny, stride = s->stride;
  double speed = 0.0;
  long first_bad = LONG_MAX;
#pragma omp parallel for schedule(static) if (s->threaded) reduction(max : speed) reduction(min : first_bad)
  for (int j = -GHOST; j < ny + GHOST; j++) {
    long c0 = cell(s, -GHOST, j);
    const double *r = s->u[EULER_RHO] + c0, *mx = s->u[EULER_MX] + c0, *my = s->u[EULER_MY] + c0,
                 *e = s->u[EULER_E] + c0;
    double *wr = s->w[0] + c0, *wu = s->w[1] + c0, *wv = s->w[2] + c0, *wp = s->w[3] + c0;
    int interior_row = j >= 0 && j < ny;
    int row_bad = 0;
#pragma omp simd reduction(max : speed) reduction(| : row_bad)
    for (int i = 0; i < stride; i++) {
      double inv = 1.0 / r[i];
      double u = mx[i] * inv, v = my[i] * inv;
      double p = g1 * (e[i] - 0.5 * r[i] * (u * u + v * v));
      wr[i] = r[i], wu[i] = u, wv[i] = v, wp[i] = p;
      int inside = interior_row && i >= GHOST && i < nx + GHOST;
      int ok = r[i] > 0.0 && p > 0.0 && r[i] < HUGE_VAL && p < HUGE_VAL; /* false for NaN too */
      row_bad |= inside && !ok;
      double c = sqrt(g * fabs(p) * fabs(inv));
      double sp = (fabs(u) + c) * idx + (fabs(v) + c) * idy;
      speed = inside && sp > speed ? sp : speed;
    }
    if (row_bad) {
      for (int i = 0; i < nx; i++) {
        long k = cell(s, i, j);
        double r = s->w[0][k], p = s->w[3][k];
        if (!(r > 0.0 && p > 0.0 && r < HUGE_VAL && p < HUGE_VAL)) {
          long lin = (long)j * nx + i;
          if (lin < first_bad) first_bad = lin;
          break;
        }
      }
    }
  }
  if (first_bad != LONG_MAX) {
    *bad = first_bad;
    return -1.0;
  }
  return speed;
}

/* Limited slopes along x for interior rows, cells -1 .. nx. */
static void slopes_x(euler_solver *s) {
  const int nx = s->par.nx, ny = s->par.ny;
#pragma omp parallel for schedule(static) if (s->threaded)
  for (int j = 0; j < ny; j++) {
    for (int v = 0; v < EULER_NVAR; v++) {
      const double *w = s->w[v] + cell(s, 0, j);
      double *sl = s->slope[v] + cell(s, 0, j);
#pragma omp simd
      for (int i = -1; i <= nx; i++) sl[i] = mc_slope(w[i] - w[i - 1], w[i + 1] - w[i]);
    }
  }
}

/* Limited slopes along y for rows -1 .. ny, interior columns. */
static void slopes_y(euler_solver *s) {
  const int nx = s->par.nx, ny = s->par.ny;
  const long st = s->stride;
#pragma omp parallel for schedule(static) if (s->threaded)
  for (int j = -1; j <= ny; j++) {
    for (int v = 0; v < EULER_NVAR; v++) {
      const double *w = s->w[v] + cell(s, 0, j);
      double *sl = s->slope[v] + cell(s, 0, j);
#pragma omp simd
      for (int i = 0; i < nx; i++) sl[i] = mc_slope(w[i] - w[i - st], w[i + st] - w[i]);
    }
  }
}

/* HLLC fluxes through the nx + 1 vertical faces of each interior row; face i
 * separates cells i - 1 and i. */
static void fluxes_x(euler_solver *s) {
  const int nx = s->par.nx, ny = s->par.ny;
  const double g = s->par.gamma;
#pragma omp parallel for schedule(static) if (s->threaded)
  for (int j = 0; j < ny; j++) {
    long c = cell(s, 0, j);
    const double *r = s->w[0] + c, *u = s->w[1] + c, *v = s->w[2] + c, *p = s->w[3] + c;
    const double *sr = s->slope[0] + c, *su = s->slope[1] + c, *sv = s->slope[2] + c, *sp = s->slope[3] + c;
    long f = (long)j * (nx + 1);
    double *fm = s->flux_x[0] + f, *fu = s->flux_x[1] + f, *fv = s->flux_x[2] + f, *fe = s->flux_x[3] + f;
#pragma omp simd
    for (int i = 0; i <= nx; i++) {
      hllc_flux(g, r[i - 1] + 0.5 * sr[i - 1], u[i - 1] + 0.5 * su[i - 1], v[i - 1] + 0.5 * sv[i - 1],
                p[i - 1] + 0.5 * sp[i - 1], r[i] - 0.5 * sr[i], u[i] - 0.5 * su[i], v[i] - 0.5 * sv[i],
                p[i] - 0.5 * sp[i], &fm[i], &fu[i], &fv[i], &fe[i]);
    }
  }
}

/* HLLC fluxes through the ny + 1 horizontal faces of each column; face row j
 * separates cell rows j - 1 and j. Normal and tangential velocity are v and u. */
static void fluxes_y(euler_solver *s) {
  const int nx = s->par.nx, ny = s->par.ny;
  const long st = s->stride;
  const double g = s->par.gamma;
#pragma omp parallel for schedule(static) if (s->threaded)
  for (int j = 0; j <= ny; j++) {
    long c = cell(s, 0, j);
    const double *r = s->w[0] + c, *u = s->w[1] + c, *v = s->w[2] + c, *p = s->w[3] + c;
    const double *sr = s->slope[0] + c, *su = s->slope[1] + c, *sv = s->slope[2] + c, *sp = s->slope[3] + c;
    long f = (long)j * nx;
    double *fm = s->flux_y[0] + f, *fu = s->flux_y[1] + f, *fv = s->flux_y[2] + f, *fe = s->flux_y[3] + f;
#pragma omp simd
    for (int i = 0; i < nx; i++) {
      long b = i - st; /* the cell below the face */
      hllc_flux(g, r[b] + 0.5 * sr[b], v[b] + 0.5 * sv[b], u[b] + 0.5 * su[b], p[b] + 0.5 * sp[b],
                r[i] - 0.5 * sr[i], v[i] - 0.5 * sv[i], u[i] - 0.5 * su[i], p[i] - 0.5 * sp[i], &fm[i],
                &fv[i], &fu[i], &fe[i]);
    }
  }
}

/* u = a * u_old + b * (u + dt * L(u)), L the flux divergence (a = 0, b = 1 is
 * forward Euler; a = b = 1/2 the second SSP-RK2 stage). */
static void update(euler_solver *s, double dt, double a, double b) {
  const int nx = s->par.nx, ny = s->par.ny;
  const double kx = dt / s->dx, ky = dt / s->dy;
#pragma omp parallel for schedule(static) if (s->threaded)
  for (int j = 0; j < ny; j++) {
    for (int v = 0; v < EULER_NVAR; v++) {
      double *u = s->u[v] + cell(s, 0, j);
      const double *old = s->u_old[v] + cell(s, 0, j);
      const double *fx = s->flux_x[v] + (long)j * (nx + 1);
      const double *fy0 = s->flux_y[v] + (long)j * nx, *fy1 = fy0 + nx;
#pragma omp simd
      for (int i = 0; i < nx; i++) {
        double stepped = u[i] - kx * (fx[i + 1] - fx[i]) - ky * (fy1[i] - fy0[i]);
        u[i] = a * old[i] + b * stepped;
      }
    }
  }
}

static void fluxes(euler_solver *s) {
  slopes_x(s);
  fluxes_x(s);
  slopes_y(s);
  fluxes_y(s);
}

static int fail_at(const euler_solver *s, long bad, euler_failure *fail) {
  fail->reason = "unphysical state";
  fail->t = s->t;
  fail->i = (int)(bad % s->par.nx);
  fail->j = (int)(bad / s->par.nx);
  long c = cell(s, fail->i, fail->j);
  fail->rho = s->u[EULER_RHO][c];
  fail->p = s->w[3][c];
  return -1;
}

int euler_advance(euler_solver *s, double t_end, euler_failure *fail) {
  const size_t bytes = sizeof(double) * (size_t)s->stride * (size_t)(s->par.ny + 2 * GHOST);
  long bad = 0;
  while (s->t < t_end) {
    fill_ghosts(s);
    double speed = to_primitive(s, &bad);
    if (speed < 0.0) return fail_at(s, bad, fail);
    /* Equal steps to the output time, none above the CFL limit: the last step
     * is never a sliver. A state at rest (speed 0) takes one step. */
    double remaining = t_end - s->t;
    double dt_cfl = speed > 0.0 ? s->par.cfl / speed : remaining;
    double n = ceil(remaining / dt_cfl * (1.0 - 4.0 * DBL_EPSILON));
    if (!(n <= MAX_STEPS_PER_CALL)) { /* wave speeds have run away (or are NaN) */
      fail_at(s, 0, fail);
      fail->reason = "time step collapsed";
      return -1;
    }
    double dt = n > 1.0 ? remaining / n : remaining;

    for (int v = 0; v < EULER_NVAR; v++) memcpy(s->u_old[v], s->u[v], bytes);
    fluxes(s);
    update(s, dt, 0.0, 1.0);

    fill_ghosts(s);
    if (to_primitive(s, &bad) < 0.0) return fail_at(s, bad, fail);
    fluxes(s);
    update(s, dt, 0.5, 0.5);

    s->t = n > 1.0 ? s->t + dt : t_end;
    s->steps++;
  }
  /* The returned state must be physical too. */
  fill_ghosts(s);
  if (to_primitive(s, &bad) < 0.0) return fail_at(s, bad, fail);
  return 0;
}

double euler_total(const euler_solver *s, int var) {
  double sum = 0.0;
  for (int j = 0; j < s->par.ny; j++) {
    const double *row = euler_row(s, var, j);
    for (int i = 0; i < s->par.nx; i++) sum += row[i];
  }
  return sum * s->dx * s->dy;
}
