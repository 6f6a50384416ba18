/* 2D Rayleigh–Bénard convection (Boussinesq), as The Well's `rayleigh_benard` dataset.
 *
 * Equations (the_well/datasets/rayleigh_benard/README.md), free-fall units:
 *   db/dt + u·∇b = κ Δb,            κ = (Ra·Pr)^(-1/2)
 *   du/dt + u·∇u = -∇p + ν Δu + b e_y,   ν = (Ra/Pr)^(-1/2),   ∇·u = 0
 * on 0 <= x < Lx (periodic; The Well uses Lx = 4), 0 <= y <= 1 between no-slip walls,
 * b = 1 at y = 0 and b = 0 at y = 1. Pressure gauge: ∫p = 0.
 * Initial state (README "Initial conditions"): b = (1 - y)·initial_slope + y(1 - y)·ε with ε
 * Gaussian white noise of standard deviation noise_amplitude (10^-3 in The Well), keyed by
 * (seed, cell) so a trajectory does not depend on the rank or thread count; u = p = 0.
 *
 * Grid (the grid The Well stores): nx points x_i = i·Lx/nx, and ny points in y at the
 * Chebyshev–Gauss nodes y_j = (1 - cos(π(j + 1/2)/ny))/2 (Dedalus' ChebyshevT grid on [0, 1]),
 * ascending, refined at the walls where the boundary layers are.
 *
 * Memory order of every field this API fills: The Well's (x, y[, component]) order, i.e.
 *   scalar field  out[i*ny + j]            (i along x, j along y)
 *   vector field  out[(i*ny + j)*2 + c]    (c = 0: velocity_x, c = 1: velocity_y)
 * which is one (time step, trajectory) slice of a t0_fields / t1_fields dataset
 * (n_traj, n_steps, x, y[, 2]).
 *
 * Scheme (see rayleigh_benard_step.c): staggered (MAC) finite volumes, second order in x and in
 * the Chebyshev angle; FFT along x and tridiagonal solves along y; the three-stage low-storage
 * Runge–Kutta / Crank–Nicolson projection scheme of Rai & Moin (1991) — advection and buoyancy
 * explicit, diffusion implicit, an exact discrete projection so the discrete divergence is
 * zero to round-off. Time steps are CFL-limited, equal within an output interval, and land
 * exactly on the time asked of rb_advance_to. Single precision fields (FFTW fftw3f), Thomas
 * sweeps and diagnostics in double.
 *
 * Threads: OpenMP over rows and Fourier modes on grids of 16384 cells or more (256 x 64 up);
 * results do not depend on the thread count. rb_create calls FFTW's planner, which is not
 * thread-safe: create solvers from one thread at a time. A solver is used by one thread. */
#ifndef LOLA_RAYLEIGH_BENARD_H
#define LOLA_RAYLEIGH_BENARD_H

#include <stdbool.h>
#include <stdint.h>

/* The Well's rayleigh_benard dataset: 512 x 128 grid, 200 stored states 0.25 apart
 * (t = 0 ... 49.75), Ra in {1e6 .. 1e10}, Pr in {0.1 .. 10}. */
#define RB_WELL_LX 4.0
#define RB_WELL_NX 512
#define RB_WELL_NY 128
#define RB_WELL_DT 0.25
#define RB_WELL_STEPS 200

typedef struct {
  int nx, ny;             /* grid points along x (even, >= 4) and y (>= 4) */
  double lx;              /* domain width (height is 1); The Well: 4 */
  double rayleigh;        /* Ra > 0 */
  double prandtl;         /* Pr > 0 */
  double initial_slope;   /* δb0 of the initial background (1 - y)·δb0; The Well: 0.2 ... 1 */
  double noise_amplitude; /* std of the initial white noise ε; The Well: 1e-3 */
  uint64_t seed;          /* noise key */
  double cfl;             /* advective Courant number per step (<= 1); 0 means the default 0.5 */
  double dt_max;          /* longest step; 0 means the default 0.05 */
} rb_params;

/* Defaults for The Well's set-up at grid nx x ny: lx 4, Ra 1e6, Pr 1, slope 1, noise 1e-3,
 * seed 0, default cfl and dt_max. */
rb_params rb_default_params(int nx, int ny);

typedef struct rb_solver rb_solver;

/* Allocates everything the solver will ever use (no allocation while stepping) and sets
 * the initial state at t = 0. Bad parameters die with LOLA_EXIT_DECK naming the field. */
rb_solver *rb_create(const rb_params *params);
void rb_destroy(rb_solver *s);

/* Integrate to the absolute time t_end (>= the current time), ending exactly on it.
 * Returns true on success; false if the state became non-finite, in which case the
 * solver stops and rb_blowup_time tells the time of the step that produced it. */
bool rb_advance_to(rb_solver *s, double t_end);
double rb_time(const rb_solver *s);
long rb_step_count(const rb_solver *s);    /* time steps taken since creation */
double rb_blowup_time(const rb_solver *s); /* NAN while the state is finite */
bool rb_state_is_finite(const rb_solver *s);

/* Fields at the current time on the grid above, in The Well's memory order. */
void rb_get_buoyancy(const rb_solver *s, float *out); /* nx*ny */
void rb_get_pressure(const rb_solver *s, float *out); /* nx*ny, zero mean (∫p = 0) */
void rb_get_velocity(const rb_solver *s, float *out); /* nx*ny*2, components last */
void rb_get_x_coords(const rb_solver *s, float *out); /* nx */
void rb_get_y_coords(const rb_solver *s, float *out); /* ny, ascending */

/* Diagnostics (double reductions over the domain, cell volumes as weights). */
double rb_kinetic_energy(const rb_solver *s); /* (1/|Ω|) ∫ |u|²/2 */
double rb_nusselt(const rb_solver *s);        /* 1 + <v b>/κ (volume average) */
double rb_nusselt_wall(const rb_solver *s);   /* -∂b/∂y averaged over both walls */
double rb_max_divergence(const rb_solver *s); /* max |∇·u| of the discrete velocity */

#endif
