#include "gradcheck.h"

#include <math.h>
#include <stdint.h>

void fd_gradient(fd_objective f, double *x, size_t n, void *ctx, double h, double *grad) {
  for (size_t i = 0; i < n; i++) {
    double saved = x[i];
    x[i] = saved + h;
    double plus = f(x, ctx);
    x[i] = saved - h;
    double minus = f(x, ctx);
    x[i] = saved;
    grad[i] = (plus - minus) / (2 * h);
  }
}

double max_scaled_error(const float *a, const double *b, size_t n, double atol, double rtol) {
  double worst = 0;
  for (size_t i = 0; i < n; i++) {
    double e = fabs((double)a[i] - b[i]) / (atol + rtol * fabs(b[i]));
    if (!(e <= worst)) worst = e; /* NaN propagates as the worst */
  }
  return worst;
}

static double next_uniform(uint64_t *state) {
  *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(*state >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0;
}

void fill_uniform(float *x, size_t n, unsigned seed) {
  uint64_t s = 0x9E3779B97F4A7C15ULL ^ seed;
  for (size_t i = 0; i < n; i++) x[i] = (float)next_uniform(&s);
}

void fill_uniform_d(double *x, size_t n, unsigned seed) {
  uint64_t s = 0x9E3779B97F4A7C15ULL ^ seed;
  for (size_t i = 0; i < n; i++) x[i] = next_uniform(&s);
}
