/* Time stepping of the Rayleigh–Bénard solver: the low-storage three-stage Runge–Kutta /
 * Crank–Nicolson projection scheme of Rai & Moin (J. Comput. Phys. 96, 1991) and Spalart,
 * Moser & Rogers (J. Comput. Phys. 96, 1991). Per stage k, for f in {u, v, b}:
 *   f* - f = dt [γ_k H(f) + ζ_k H_old - 2α_k ∇p + α_k D L (f* + f)]      (H: advection, buoyancy)
 *   D G φ = ∇·u* / (2α_k dt),   u = u* - 2α_k dt ∇φ,   p += φ - (ν/2) ∇·u*
 * Advection and buoyancy are explicit (CFL-limited), diffusion implicit, and the projection
 * uses the same discrete D and G as the divergence check, so ∇·u = 0 to round-off. */
#include <math.h>

#include "error.h"
#include "rayleigh_benard_internal.h"

static const double RK_GAMMA[3] = {8.0 / 15.0, 5.0 / 12.0, 3.0 / 4.0};
static const double RK_ZETA[3] = {0.0, -17.0 / 60.0, -5.0 / 12.0};
static const double RK_ALPHA[3] = {4.0 / 15.0, 1.0 / 15.0, 1.0 / 6.0}; /* = β_k */

/* Free-fall velocities are O(1); a speed beyond this means the run has diverged. */
#define RB_SPEED_LIMIT 1.0e4

double rb_cfl_dt(rb_solver *s) {
  const int nx = s->nx, ny = s->ny;
  double rate = 0.0, poison = 0.0; /* poison turns NaN when any value is not finite */
#pragma omp parallel for schedule(static) reduction(max : rate) reduction(+ : poison) if (s->threaded)
  for (int j = 0; j < ny; j++) {
    const float *u = s->u + (size_t)j * nx, *v = s->v + (size_t)j * nx;
    const float *b = s->b + (size_t)j * nx, *p = s->p + (size_t)j * nx;
    for (int i = 0; i < nx; i++) {
      float uc = 0.5f * (u[i] + u[i == 0 ? nx - 1 : i - 1]), vc = 0.5f * (v[i] + v[i + nx]);
      double r = fabsf(uc) / s->dx + fabsf(vc) / s->dyc[j];
      rate = r > rate ? r : rate;
      poison += 0.0 * (double)(u[i] + v[i] + b[i] + p[i]);
      if (fabsf(uc) > RB_SPEED_LIMIT || fabsf(vc) > RB_SPEED_LIMIT) poison = NAN;
    }
  }
  if (isnan(poison)) return NAN;
  const double cfl = s->par.cfl > 0 ? s->par.cfl : 0.5;
  return rate > 0 ? cfl / rate : INFINITY;
}

static void add_rows(const rb_solver *s, float *field, int row0, int rows) {
  const size_t begin = (size_t)row0 * s->nx, end = (size_t)(row0 + rows) * s->nx;
#pragma omp parallel for schedule(static) if (s->threaded)
  for (size_t k = begin; k < end; k++) field[k] += s->work_r[k];
}

static void swap(float **a, float **b) {
  float *t = *a;
  *a = *b;
  *b = t;
}

void rb_step(rb_solver *s, double dt) {
  const int ny = s->ny;
  for (int k = 0; k < 3; k++) {
    const double g = RK_GAMMA[k], z = RK_ZETA[k], a = RK_ALPHA[k];
    rb_explicit_terms(s);

    rb_stage_rhs(s, RB_FIELD_U, dt, g, z, a);
    rb_rows_forward(s, 0, ny);
    rb_helmholtz(s, &s->helmholtz[k][0], a * dt * s->nu, false, 0);
    rb_rows_inverse(s, 0, ny);
    add_rows(s, s->u, 0, ny);

    rb_stage_rhs(s, RB_FIELD_V, dt, g, z, a);
    rb_rows_forward(s, 1, ny - 1);
    rb_helmholtz(s, &s->helmholtz[k][1], a * dt * s->nu, true, 1);
    rb_rows_inverse(s, 1, ny - 1);
    add_rows(s, s->v, 1, ny - 1);

    rb_stage_rhs(s, RB_FIELD_B, dt, g, z, a);
    rb_rows_forward(s, 0, ny);
    rb_helmholtz(s, &s->helmholtz[k][2], a * dt * s->kappa, false, 0);
    rb_rows_inverse(s, 0, ny);
    add_rows(s, s->b, 0, ny);

    rb_divergence_rows(s, 1.0 / (2.0 * a * dt));
    rb_rows_forward(s, 0, ny);
    rb_poisson(s);
    rb_rows_inverse(s, 0, ny);
    rb_project(s, 2.0 * a * dt);

    swap(&s->hu, &s->hu_old);
    swap(&s->hv, &s->hv_old);
    swap(&s->hb, &s->hb_old);
  }
}

bool rb_advance_to(rb_solver *s, double t_end) {
  if (!s->finite) return false;
  if (!(t_end >= s->t))
    lola_die(LOLA_EXIT_RUNTIME, "rayleigh_benard: cannot advance from t = %.17g back to t = %.17g", s->t,
             t_end);
  const double dt_max = s->par.dt_max > 0 ? s->par.dt_max : 0.05;
  for (;;) {
    const double dt_cfl = rb_cfl_dt(s);
    if (isnan(dt_cfl)) {
      s->finite = false;
      s->blowup_t = s->t;
      return false;
    }
    if (s->t >= t_end) return true;
    /* Equal steps no longer than the limits, the last one landing exactly on t_end. While
     * the count of steps left just counts down, the step is kept bit for bit, so the
     * factored Helmholtz operators are reused. */
    const double remaining = t_end - s->t, limit = fmin(dt_cfl, dt_max);
    const double n = fmax(1.0, ceil(remaining / limit - 1e-9));
    double dt = remaining / n;
    if (t_end == s->plan_t_end && n == s->plan_steps_left - 1 && s->plan_dt <= limit) dt = s->plan_dt;
    s->plan_t_end = t_end;
    s->plan_steps_left = n;
    s->plan_dt = dt;
    rb_step(s, dt);
    s->steps++;
    s->t = n <= 1.0 ? t_end : s->t + dt;
  }
}
