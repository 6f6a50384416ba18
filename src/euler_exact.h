/* The exact solution of the 1D Riemann problem for the Euler equations of an
 * ideal gas (Toro, "Riemann Solvers and Numerical Methods for Fluid Dynamics",
 * 3rd ed., ch. 4): the reference the finite-volume solver is checked against. */
#ifndef LOLA_EULER_EXACT_H
#define LOLA_EULER_EXACT_H

typedef struct {
  double rho, u, p;
} euler_exact_state;

/* Pressure and velocity in the star region between the left and right states
 * (Newton iteration on Toro eq. 4.5). Dies when the data generate vacuum. */
void euler_exact_star(const euler_exact_state *left, const euler_exact_state *right, double gamma,
                      double *p_star, double *u_star);

/* The self-similar solution at x / t = xi for an initial jump at x = 0. */
euler_exact_state euler_exact_sample(const euler_exact_state *left, const euler_exact_state *right,
                                     double gamma, double xi);

#endif
