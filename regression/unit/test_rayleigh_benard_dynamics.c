/* Rayleigh–Bénard solver: conduction state, onset of convection, divergence, determinism,
 * time landing and blow-up reports. Small grids and short times (each test < 1 s). */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "../../src/rayleigh_benard_internal.h"
#include "harness.h"

static rb_params small(int nx, int ny, double ra, double pr) {
  rb_params p = rb_default_params(nx, ny);
  p.rayleigh = ra;
  p.prandtl = pr;
  return p;
}

/* b = 1 - y with u = 0 is steady (the discrete Laplacian of a linear profile vanishes and the
 * pressure absorbs the buoyancy): it must stay put to round-off. */
TEST(rayleigh_benard_conduction_state_is_steady) {
  rb_params p = small(32, 16, 1e6, 1.0);
  p.noise_amplitude = 0.0;
  rb_solver *s = rb_create(&p);
  CHECK(rb_advance_to(s, 5.0));
  float b[32 * 16], y[16];
  rb_get_buoyancy(s, b);
  rb_get_y_coords(s, y);
  double worst = 0.0;
  for (int i = 0; i < 32; i++)
    for (int j = 0; j < 16; j++) worst = fmax(worst, fabs(b[i * 16 + j] - (1.0 - y[j])));
  CHECK(worst < 1e-6);
  CHECK(rb_kinetic_energy(s) < 1e-24);
  CHECK_NEAR(rb_nusselt_wall(s), 1.0, 1e-5);
  /* Hydrostatic pressure p = y - y²/2 + c balances b = 1 - y. */
  float pr[32 * 16];
  rb_get_pressure(s, pr);
  double hydro_mean = 0.0;
  for (int j = 0; j < 16; j++) hydro_mean += (s->yc[j] - 0.5 * s->yc[j] * s->yc[j]) * s->dyc[j];
  for (int j = 0; j < 16; j++)
    CHECK_NEAR(pr[3 * 16 + j], s->yc[j] - 0.5 * s->yc[j] * s->yc[j] - hydro_mean, 2e-3);
  rb_destroy(s);
}

/* Below Ra_c ≈ 1708 (rigid walls; Chandrasekhar 1961) perturbations decay, above they grow. */
TEST(rayleigh_benard_subcritical_perturbations_decay) {
  rb_params p = small(64, 16, 1500.0, 1.0);
  p.noise_amplitude = 1e-2;
  rb_solver *s = rb_create(&p);
  CHECK(rb_advance_to(s, 10.0));
  double e10 = rb_kinetic_energy(s), previous = e10;
  bool monotone = true;
  for (double t = 15.0; t <= 40.0; t += 5.0) {
    CHECK(rb_advance_to(s, t));
    monotone = monotone && rb_kinetic_energy(s) < previous;
    previous = rb_kinetic_energy(s);
  }
  CHECK(monotone);
  CHECK(previous < 0.1 * e10);
  CHECK(e10 > 0.0);
  rb_destroy(s);
}

TEST(rayleigh_benard_supercritical_convection_starts) {
  rb_params p = small(64, 16, 1e4, 1.0);
  rb_solver *s = rb_create(&p);
  CHECK(rb_advance_to(s, 5.0));
  double e5 = rb_kinetic_energy(s);
  CHECK(rb_advance_to(s, 20.0));
  CHECK(rb_kinetic_energy(s) > 1e4 * e5);
  CHECK(rb_advance_to(s, 40.0)); /* saturated rolls carry heat */
  CHECK(rb_nusselt(s) > 2.0);
  rb_destroy(s);
}

/* After every step the discrete divergence is round-off relative to its terms. Steps of
 * 0.02 (below the CFL limit here) make each rb_advance_to call exactly one step. */
TEST(rayleigh_benard_velocity_stays_divergence_free) {
  rb_params p = small(64, 16, 1e5, 1.0);
  p.noise_amplitude = 0.1;
  p.dt_max = 0.02;
  rb_solver *s = rb_create(&p);
  double worst = 0.0;
  bool one_step_each = true;
  for (int n = 1; n <= 1500; n++) {
    CHECK(rb_advance_to(s, 0.02 * n));
    one_step_each = one_step_each && rb_step_count(s) == n;
    double terms = 0.0, div = 0.0;
    for (int j = 0; j < s->ny; j++)
      for (int i = 0; i < s->nx; i++) {
        const int k = j * s->nx + i, im = i ? k - 1 : k + s->nx - 1;
        double du = ((double)s->u[k] - s->u[im]) / s->dx;
        double dv = ((double)s->v[k + s->nx] - s->v[k]) / s->dyc[j];
        terms = fmax(terms, fabs(du) + fabs(dv));
        div = fmax(div, fabs(du + dv));
      }
    worst = fmax(worst, div / terms);
    if (n % 100 == 0) CHECK_NEAR(rb_max_divergence(s), div, 1e-6 * div);
  }
  CHECK(one_step_each);
  CHECK(rb_nusselt(s) > 2.0); /* the flow was convecting, not trivially at rest */
  CHECK(worst < 1e-5);
  rb_destroy(s);
}

TEST(rayleigh_benard_is_deterministic_for_a_seed) {
  rb_params p = small(32, 8, 1e5, 1.0);
  p.noise_amplitude = 0.05;
  p.seed = 42;
  rb_solver *a = rb_create(&p), *b = rb_create(&p);
  p.seed = 43;
  rb_solver *c = rb_create(&p);
  CHECK(rb_advance_to(a, 10.0) && rb_advance_to(b, 10.0) && rb_advance_to(c, 10.0));
  static float fa[32 * 8 * 2], fb[32 * 8 * 2], fc[32 * 8 * 2];
  rb_get_velocity(a, fa);
  rb_get_velocity(b, fb);
  rb_get_velocity(c, fc);
  CHECK(memcmp(fa, fb, sizeof fa) == 0);
  CHECK(memcmp(fa, fc, sizeof fa) != 0);
  rb_get_buoyancy(a, fa);
  rb_get_buoyancy(b, fb);
  CHECK(memcmp(fa, fb, 32 * 8 * sizeof(float)) == 0);
  rb_destroy(a);
  rb_destroy(b);
  rb_destroy(c);
}

TEST(rayleigh_benard_lands_exactly_on_output_times) {
  rb_params p = small(16, 8, 1e6, 1.0);
  p.noise_amplitude = 0.0;
  p.dt_max = 0.05;
  rb_solver *s = rb_create(&p);
  CHECK(rb_advance_to(s, RB_WELL_DT));
  CHECK(rb_time(s) == RB_WELL_DT);
  CHECK(rb_step_count(s) == 5); /* fluid at rest: dt_max binds, 0.25 / 0.05 steps */
  CHECK(rb_advance_to(s, 0.3));
  CHECK(rb_time(s) == 0.3 && rb_step_count(s) == 6);
  CHECK(rb_advance_to(s, 0.3) && rb_step_count(s) == 6);
  lola_error_trap trap;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_RUNTIME, rb_advance_to(s, 0.1)));
  rb_destroy(s);
}

TEST(rayleigh_benard_reports_blow_up_time) {
  rb_params p = small(16, 8, 1e6, 1.0);
  rb_solver *s = rb_create(&p);
  CHECK(rb_advance_to(s, 0.5));
  CHECK(isnan(rb_blowup_time(s)) && rb_state_is_finite(s));
  s->b[3 * 16 + 5] = NAN;
  CHECK(!rb_advance_to(s, 1.0));
  CHECK(!rb_state_is_finite(s));
  CHECK(rb_blowup_time(s) == 0.5);
  CHECK(!rb_advance_to(s, 2.0)); /* stays stopped */
  rb_destroy(s);

  s = rb_create(&p); /* a diverging (finite but absurd) velocity counts as a blow-up too */
  CHECK(rb_advance_to(s, 0.25));
  s->u[2 * 16 + 7] = 1e6f;
  CHECK(!rb_advance_to(s, 0.5));
  CHECK(rb_blowup_time(s) == 0.25);
  rb_destroy(s);
}

/* OpenMP splits rows and modes but never a sum, so the thread count cannot change a bit. */
TEST(rayleigh_benard_threads_do_not_change_results) {
  rb_params p = small(64, 16, 1e6, 1.0);
  p.noise_amplitude = 0.05;
  rb_solver *one = rb_create(&p), *two = rb_create(&p);
  one->threaded = two->threaded = true; /* below the size where it is switched on by itself */
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  CHECK(rb_advance_to(one, 4.0));
  omp_set_num_threads(3);
  CHECK(rb_advance_to(two, 4.0));
  omp_set_num_threads(saved);
  static float fa[64 * 16 * 2], fb[64 * 16 * 2];
  rb_get_velocity(one, fa);
  rb_get_velocity(two, fb);
  CHECK(memcmp(fa, fb, sizeof fa) == 0);
  CHECK(rb_step_count(one) == rb_step_count(two));
  rb_destroy(one);
  rb_destroy(two);
}
