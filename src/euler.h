/* 2D compressible Euler equations for an ideal gas, finite volumes on a uniform
 * Cartesian grid (the solver behind The Well's euler_multi_quadrants_* data).
 *
 *   U_t + F(U)_x + G(U)_y = 0,  U = (rho, rho u, rho v, e),
 *   e = p / (gamma - 1) + rho (u^2 + v^2) / 2                (dataset README)
 *
 * Second order in space and time: MUSCL reconstruction of the primitive
 * variables with the monotonized-central limiter, HLLC fluxes (Toro, "Riemann
 * Solvers and Numerical Methods for Fluid Dynamics", 3rd ed., sec. 10.4), and
 * the two-stage SSP Runge-Kutta scheme (Shu & Osher 1988), unsplit in x and y.
 * Steps are CFL-limited and land exactly on the requested output times.
 *
 * Arrays are row-major with x fastest: cell (i, j) is x index i, y index j.
 * Work is spread over OpenMP threads by rows on grids of 128 x 128 cells and
 * more (smaller grids run faster on one thread: prefer MPI ranks for many small
 * trajectories); results do not depend on the thread count (the only
 * reduction is a maximum). */
#ifndef LOLA_EULER_H
#define LOLA_EULER_H

#include <stdint.h>

typedef enum { EULER_BC_OPEN, EULER_BC_PERIODIC } euler_bc;

/* Conserved variables, in the order the solver stores them. */
enum { EULER_RHO, EULER_MX, EULER_MY, EULER_E, EULER_NVAR };

typedef struct {
  int nx, ny;    /* cells along x and y (>= 4 each) */
  double lx, ly; /* domain [0, lx] x [0, ly] */
  double gamma;  /* ratio of specific heats, > 1 */
  double cfl;    /* Courant number of the unsplit scheme, in (0, 1) */
  euler_bc bc;   /* same kind on all four sides */
} euler_params;

/* One constant state, in primitive variables. */
typedef struct {
  double rho, u, v, p;
} euler_state;

/* Piecewise-constant initial data in four quadrants around (x0, y0):
 * q[0] x < x0, y < y0;  q[1] x >= x0, y < y0;  q[2] x < x0, y >= y0;  q[3] x >= x0, y >= y0.
 * A cell takes the state of the quadrant holding its centre. */
typedef struct {
  double x0, y0;
  euler_state q[4];
} euler_quadrants;

/* Where and when a run stopped being physical (NaN or infinite values, rho <= 0
 * or p <= 0), or a time step collapsed (the cell is then the fastest one's row 0). */
typedef struct {
  const char *reason; /* "unphysical state" or "time step collapsed" */
  double t;
  int i, j;
  double rho, p;
} euler_failure;

typedef struct {
  euler_params par;
  int stride; /* row length including ghost cells */
  double dx, dy;
  int threaded;               /* OpenMP over rows (grids of 128 x 128 cells and more) */
  double t;                   /* current time */
  long steps;                 /* time steps taken since euler_create */
  double *u[EULER_NVAR];      /* conserved variables, with ghost cells */
  double *u_old[EULER_NVAR];  /* state at the start of the step (RK stage 1) */
  double *w[EULER_NVAR];      /* primitives rho, u, v, p, with ghost cells */
  double *slope[EULER_NVAR];  /* limited slopes of w along the current direction */
  double *flux_x[EULER_NVAR]; /* ny rows of nx + 1 faces */
  double *flux_y[EULER_NVAR]; /* ny + 1 rows of nx faces */
  double *block;              /* one allocation behind all the arrays */
} euler_solver;

/* Allocate every buffer the solver will use; dies (runtime) naming a bad
 * parameter, which the caller should have validated. Time starts at 0. */
void euler_create(euler_solver *s, const euler_params *par);
void euler_destroy(euler_solver *s);

/* Set the state from four quadrants; time is reset to 0. */
void euler_set_quadrants(euler_solver *s, const euler_quadrants *q);

/* Advance to exactly t_end (>= current time) with CFL-limited steps.
 * Returns 0, or -1 with *fail filled when the state becomes unphysical. */
int euler_advance(euler_solver *s, double t_end, euler_failure *fail);

/* Interior row j (0 <= j < ny) of conserved variable `var`: nx values. */
static inline double *euler_row(const euler_solver *s, int var, int j) {
  return s->u[var] + (long)(j + 2) * s->stride + 2;
}

/* Pressure of one cell from the conserved variables. */
static inline double euler_pressure(const euler_solver *s, int i, int j) {
  double rho = euler_row(s, EULER_RHO, j)[i], mx = euler_row(s, EULER_MX, j)[i];
  double my = euler_row(s, EULER_MY, j)[i], e = euler_row(s, EULER_E, j)[i];
  return (s->par.gamma - 1.0) * (e - 0.5 * (mx * mx + my * my) / rho);
}

/* Sum over interior cells of conserved variable `var` times the cell area. */
double euler_total(const euler_solver *s, int var);

#endif
