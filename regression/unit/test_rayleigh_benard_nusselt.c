/* Rayleigh–Bénard solver: the heat flux of steady two-dimensional rolls against the Galerkin
 * solutions of R. M. Clever & F. H. Busse, "Transition to time-dependent convection",
 * J. Fluid Mech. 65 (1974) 625–645, for rigid walls, Pr = 0.71 and roll-pair wavenumber
 * α = 3.117 (the critical one): Nu = 2.116 at Ra = 5000 and Nu = 2.661 at Ra = 10^4.
 * One roll pair fills the period lx = 2π/α. At 64 x 16 the scheme is within 1.3 % (Ra 5000)
 * and 2.0 % (Ra 10^4); it converges at second order (128 x 32: 0.5 %, 0.7 %). */
#include <math.h>

#include "../../src/rayleigh_benard.h"
#include "harness.h"

static void steady_rolls(double ra, double *nu_volume, double *nu_wall, double *drift) {
  rb_params p = rb_default_params(64, 16);
  p.lx = 2.0 * M_PI / 3.117;
  p.rayleigh = ra;
  p.prandtl = 0.71;
  p.noise_amplitude = 0.1; /* a strong seed skips most of the linear growth */
  p.dt_max = 0.1;
  rb_solver *s = rb_create(&p);
  CHECK(rb_advance_to(s, 70.0));
  double before = rb_nusselt(s);
  CHECK(rb_advance_to(s, 80.0));
  *nu_volume = rb_nusselt(s);
  *nu_wall = rb_nusselt_wall(s);
  *drift = fabs(*nu_volume - before);
  rb_destroy(s);
}

TEST(rayleigh_benard_nusselt_matches_clever_busse_ra5000) {
  double nu, nu_wall, drift;
  steady_rolls(5000.0, &nu, &nu_wall, &drift);
  CHECK(drift < 1e-4);          /* steady */
  CHECK_REL(nu_wall, nu, 1e-3); /* wall flux = volume flux in a steady state */
  CHECK_REL(nu, 2.116, 0.02);
}

TEST(rayleigh_benard_nusselt_matches_clever_busse_ra10000) {
  double nu, nu_wall, drift;
  steady_rolls(1e4, &nu, &nu_wall, &drift);
  CHECK(drift < 1e-4);
  CHECK_REL(nu_wall, nu, 1e-3);
  CHECK_REL(nu, 2.661, 0.03);
}
