#include "euler_exact.h"

#include <math.h>

#include "error.h"

/* Toro eq. 4.6-4.7: the velocity jump across the wave of side K as a function
 * of the star pressure p (a shock when p > p_K, a rarefaction otherwise), and
 * its derivative. */
static double wave_function(const euler_exact_state *k, double gamma, double p, double *slope) {
  double c = sqrt(gamma * k->p / k->rho);
  if (p > k->p) {
    double a = 2.0 / ((gamma + 1.0) * k->rho), b = (gamma - 1.0) / (gamma + 1.0) * k->p;
    double q = sqrt(a / (b + p));
    *slope = q * (1.0 - 0.5 * (p - k->p) / (b + p));
    return (p - k->p) * q;
  }
  double ratio = p / k->p;
  *slope = pow(ratio, -0.5 * (gamma + 1.0) / gamma) / (k->rho * c);
  return 2.0 * c / (gamma - 1.0) * (pow(ratio, 0.5 * (gamma - 1.0) / gamma) - 1.0);
}

void euler_exact_star(const euler_exact_state *l, const euler_exact_state *r, double gamma, double *p_star,
                      double *u_star) {
  double cl = sqrt(gamma * l->p / l->rho), cr = sqrt(gamma * r->p / r->rho);
  double du = r->u - l->u;
  if (2.0 / (gamma - 1.0) * (cl + cr) <= du)
    lola_die(LOLA_EXIT_RUNTIME, "exact Riemann solver: the data generate vacuum");
  /* Primitive-variable guess (Toro eq. 4.47), kept positive. */
  double p = 0.5 * (l->p + r->p) - 0.125 * du * (l->rho + r->rho) * (cl + cr);
  p = fmax(p, 1e-8 * fmin(l->p, r->p));
  for (int it = 0; it < 100; it++) {
    double dl, dr;
    double f = wave_function(l, gamma, p, &dl) + wave_function(r, gamma, p, &dr) + du;
    double next = p - f / (dl + dr);
    if (next <= 0.0) next = 0.5 * p; /* Newton overshoot towards vacuum: halve instead */
    double change = 2.0 * fabs(next - p) / (next + p);
    p = next;
    if (change < 1e-14) break;
  }
  double dl, dr;
  *p_star = p;
  *u_star = 0.5 * (l->u + r->u) + 0.5 * (wave_function(r, gamma, p, &dr) - wave_function(l, gamma, p, &dl));
}

/* Inside a rarefaction fan of side K (sign = -1 left, +1 right), Toro eq. 4.56 / 4.63. */
static euler_exact_state fan(const euler_exact_state *k, double gamma, double sign, double xi) {
  double c = sqrt(gamma * k->p / k->rho);
  double g = 2.0 / (gamma + 1.0);
  double u = g * (-sign * c + 0.5 * (gamma - 1.0) * k->u + xi);
  double cf = g * (c - sign * 0.5 * (gamma - 1.0) * (k->u - xi));
  double ratio = cf / c;
  return (euler_exact_state){k->rho * pow(ratio, 2.0 / (gamma - 1.0)), u,
                             k->p * pow(ratio, 2.0 * gamma / (gamma - 1.0))};
}

/* The solution on side K of the contact (sign = -1 left, +1 right). Mirroring
 * x -> -x turns the right side into the left one, so one routine serves both. */
static euler_exact_state sample_side(const euler_exact_state *k, double gamma, double p_star, double u_star,
                                     double sign, double xi) {
  double c = sqrt(gamma * k->p / k->rho);
  double ratio = p_star / k->p;
  /* s > 0 measures how far xi lies from the contact, towards the outer state K. */
  double s = sign * xi;
  if (p_star > k->p) { /* shock, Toro eq. 4.52 / 4.59 */
    double speed = sign * k->u + c * sqrt(0.5 * (gamma + 1.0) / gamma * ratio + 0.5 * (gamma - 1.0) / gamma);
    if (s >= speed) return *k;
    double g6 = (gamma - 1.0) / (gamma + 1.0);
    return (euler_exact_state){k->rho * (ratio + g6) / (g6 * ratio + 1.0), u_star, p_star};
  }
  double head = sign * k->u + c; /* rarefaction head and tail, Toro eq. 4.55 */
  if (s >= head) return *k;
  double c_star = c * pow(ratio, 0.5 * (gamma - 1.0) / gamma);
  double tail = sign * u_star + c_star;
  if (s <= tail) return (euler_exact_state){k->rho * pow(ratio, 1.0 / gamma), u_star, p_star};
  return fan(k, gamma, sign, xi);
}

euler_exact_state euler_exact_sample(const euler_exact_state *left, const euler_exact_state *right,
                                     double gamma, double xi) {
  double p_star, u_star;
  euler_exact_star(left, right, gamma, &p_star, &u_star);
  return xi <= u_star ? sample_side(left, gamma, p_star, u_star, -1.0, xi)
                      : sample_side(right, gamma, p_star, u_star, 1.0, xi);
}
