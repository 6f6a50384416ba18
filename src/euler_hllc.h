/* The HLLC approximate Riemann solver for the Euler equations, written
 * branch-free so that loops over faces vectorise (Toro, "Riemann Solvers and
 * Numerical Methods for Fluid Dynamics", 3rd ed., sec. 10.4).
 *
 * States are primitive (rho, normal velocity un, tangential velocity ut, p);
 * the flux is returned in conserved order (mass, normal momentum, tangential
 * momentum, energy). Wave speeds are the Davis / Einfeldt bounds
 * S_L = min(un_L - c_L, un_R - c_R), S_R = max(un_L + c_L, un_R + c_R) (Toro eq. 10.48). */
#ifndef LOLA_EULER_HLLC_H
#define LOLA_EULER_HLLC_H

#include <math.h>

/* Plain selects rather than fmin/fmax, whose NaN rules keep GCC from vectorising. */
__attribute__((always_inline)) static inline double min2(double a, double b) { return a < b ? a : b; }
__attribute__((always_inline)) static inline double max2(double a, double b) { return a > b ? a : b; }

/* MC (monotonized central) limited slope from the backward and forward differences:
 * minmod(2a, 2b, (a + b) / 2), zero at extrema (van Leer 1977). */
__attribute__((always_inline)) static inline double mc_slope(double a, double b) {
  double m = min2(min2(2.0 * fabs(a), 2.0 * fabs(b)), 0.5 * fabs(a + b));
  return a * b > 0.0 ? copysign(m, a) : 0.0;
}

__attribute__((always_inline)) static inline void hllc_flux(double gamma, double rl, double ul, double vl,
                                                            double pl, double rr, double ur, double vr,
                                                            double pr, double *f_mass, double *f_normal,
                                                            double *f_tangent, double *f_energy) {
  double cl = sqrt(gamma * pl / rl), cr = sqrt(gamma * pr / rr);
  double sl = min2(ul - cl, ur - cr), sr = max2(ul + cl, ur + cr);
  /* Contact speed (Toro eq. 10.37). */
  double ml = rl * (sl - ul), mr = rr * (sr - ur);
  double s_star = (pr - pl + ul * ml - ur * mr) / (ml - mr);

  /* The flux is F_K + S_K (U*_K - U_K) on the side K of the contact that holds
   * x/t = 0, with S_K clipped to 0 on the supersonic side where F = F_K. */
  int left = s_star >= 0.0;
  double r = left ? rl : rr, u = left ? ul : ur, v = left ? vl : vr, p = left ? pl : pr;
  double s_left = min2(sl, 0.0), s_right = max2(sr, 0.0); /* both computed: selects only below */
  double s = left ? s_left : s_right;
  double sk = left ? sl : sr;
  double e = p * (1.0 / (gamma - 1.0)) + 0.5 * r * (u * u + v * v); /* the reciprocal is loop-invariant */
  /* Star-region state (Toro eq. 10.39); the denominator S_K - S* only vanishes
   * for degenerate states, where the clipped speed s is then 0 too. */
  double den = sk - s_star;
  den = fabs(den) > 1e-300 ? den : 1e-300;
  /* E*_K = rs (e / r + (S* - u)(S* + p / (r (S_K - u)))), rearranged so that one
   * division serves the whole star state. */
  double inv = 1.0 / den;
  double ratio = (sk - u) * inv;
  double rs = r * ratio;
  double es = ratio * e + (s_star - u) * (rs * s_star + p * inv);
  *f_mass = r * u + s * (rs - r);
  *f_normal = r * u * u + p + s * (rs * s_star - r * u);
  *f_tangent = r * u * v + s * (rs * v - r * v);
  *f_energy = u * (e + p) + s * (es - e);
}

#endif
