/* The samplers' element-wise updates and the emulators' window layouts
 * (kernels/sampler.h). Each update is the expression of the header, evaluated
 * in double in the order written (the baseline x86-64 build has no fused
 * multiply-add to contract it), so the results do not depend on the thread
 * count. */
#include "../sampler.h"

#include <math.h>
#include <string.h>

#include "../../src/error.h"
#include "kernels_cpu.h"

enum { PAR_MIN = 65536 }; /* below this many elements a parallel region costs more than it saves */

void kcpu_sampler_ddim(float *x, const float *mean, const float *eps, int64_t n, double at, double st,
                       double as, double ss, double tau) {
  double keep = ss * sqrt(1 - tau) / st, noise = ss * sqrt(tau);
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t i = 0; i < n; i++)
    x[i] = (float)(as * mean[i] + keep * (x[i] - at * mean[i]) + (eps ? noise * eps[i] : 0.0));
}

void kcpu_sampler_velocity(float *z, const float *x, const float *mean, int64_t n, double a, double s) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t i = 0; i < n; i++) z[i] = (float)((x[i] - a * mean[i]) / s);
}

void kcpu_sampler_euler(float *y, const float *x, const float *z, int64_t n, double at, double as, double h) {
  double ratio = as / at;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t i = 0; i < n; i++) y[i] = (float)(ratio * x[i] + h * z[i]);
}

void kcpu_sampler_heun(float *y, const float *x, const float *zt, const float *mean, int64_t n, double at,
                       double as, double ss, double h) {
  double ratio = as / at;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t i = 0; i < n; i++) {
    double zs = (y[i] - as * mean[i]) / ss;
    y[i] = (float)(ratio * x[i] + h * (zt[i] + zs) / 2);
  }
}

void kcpu_sampler_pc_correct(float *x, const float *mean, const float *eps, int64_t n, double at,
                             double delta, double amp) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t i = 0; i < n; i++) x[i] = (float)(x[i] + delta * (at * mean[i] - x[i]) + amp * eps[i]);
}

void kcpu_sampler_ab(float *x, const float *history, const double *coef, int k, int first, int order,
                     int64_t n, double at, double as) {
  if (k < 1 || k > order || order > K_SAMPLER_MAX_ORDER)
    lola_die(LOLA_EXIT_RUNTIME, "sampler_ab: %d coefficients over a ring of %d (at most %d)", k, order,
             K_SAMPLER_MAX_ORDER);
  double ratio = as / at;
  int64_t slot[K_SAMPLER_MAX_ORDER];
  for (int j = 0; j < k; j++) slot[j] = (int64_t)((first + j) % order) * n;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t i = 0; i < n; i++) {
    double integral = 0;
    for (int j = 0; j < k; j++) integral += coef[j] * history[slot[j] + i];
    x[i] = (float)(ratio * x[i] + as * integral);
  }
}

void kcpu_window_place(float *y, float *mask, const float *obs, int64_t batch, int64_t C, int64_t L,
                       int64_t P, int64_t observed) {
  const size_t row = sizeof(float) * (size_t)P;
#pragma omp parallel for schedule(static) if (batch * C * L * P > PAR_MIN)
  for (int64_t r = 0; r < batch * C * L; r++) {
    int64_t b = r / (C * L), c = r / L % C, l = r % L;
    float *yl = y + r * P, *ml = mask + r * P;
    if (l < observed) {
      memcpy(yl, obs + ((b * observed + l) * C + c) * P, row);
      for (int64_t p = 0; p < P; p++) ml[p] = 1.0f;
    } else {
      memset(yl, 0, row);
      memset(ml, 0, row);
    }
  }
}

void kcpu_window_to_state_major(float *out, const float *x, int64_t batch, int64_t C, int64_t L, int64_t P) {
  const size_t row = sizeof(float) * (size_t)P;
#pragma omp parallel for schedule(static) if (batch * C * L * P > PAR_MIN)
  for (int64_t r = 0; r < batch * C * L; r++) {
    int64_t b = r / (C * L), c = r / L % C, l = r % L;
    memcpy(out + ((b * L + l) * C + c) * P, x + r * P, row);
  }
}
