/* Central finite differences in double precision, for checking backward passes.
 * A test writes the forward of an op as a plain double-precision loop nest
 * (independent of the kernel), differentiates it numerically here, and compares
 * with the float kernel's backward. */
#ifndef LOLA_GRADCHECK_H
#define LOLA_GRADCHECK_H

#include <stddef.h>

/* Scalar objective of n inputs: typically sum(dy * forward(x)) for a fixed random dy. */
typedef double (*fd_objective)(const double *x, void *ctx);

/* grad[i] = (f(x + h e_i) - f(x - h e_i)) / 2h for every i; x is restored. */
void fd_gradient(fd_objective f, double *x, size_t n, void *ctx, double h, double *grad);

/* Largest |a - b| / (atol + rtol * |b|) over n entries (<= 1 means within tolerance). */
double max_scaled_error(const float *a, const double *b, size_t n, double atol, double rtol);

/* Deterministic test data: uniform in [-1, 1) from a small LCG seeded by `seed`. */
void fill_uniform(float *x, size_t n, unsigned seed);
void fill_uniform_d(double *x, size_t n, unsigned seed);

#endif
