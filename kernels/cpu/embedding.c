/* Sinusoidal encoding (kernels/embedding.h). */
#include "../embedding.h"
#include "kernels_cpu.h"

#include <math.h>

#include "../../src/error.h"

static int64_t half_of(int64_t features) {
  if (features < 2 || features % 2 != 0)
    lola_die(LOLA_EXIT_RUNTIME, "sine encoding: %lld features (a positive even number is needed)",
             (long long)features);
  return features / 2;
}

void k_sine_freqs(float *freqs, int64_t features, double omega) {
  int64_t f = half_of(features);
  for (int64_t i = 0; i < f; i++) {
    double t = f > 1 ? (double)i / (double)(f - 1) : 0.0; /* numpy.linspace(0, 1, f) */
    freqs[i] = (float)pow(omega, -t);
  }
}

void kcpu_sine_encoding_fwd(float *y, const float *x, const float *freqs, int64_t n, int64_t features) {
  int64_t f = half_of(features);
#pragma omp parallel for schedule(static) if (n * features > 65536)
  for (int64_t r = 0; r < n; r++) {
    float *yr = y + r * features;
    for (int64_t i = 0; i < f; i++) {
      double a = x[r] * freqs[i]; /* the float product torch forms */
      yr[i] = (float)sin(a);
      yr[f + i] = (float)cos(a);
    }
  }
}

void kcpu_sine_encoding_bwd(float *dx, const float *dy, const float *x, const float *freqs, int64_t n,
                            int64_t features) {
  int64_t f = half_of(features);
#pragma omp parallel for schedule(static) if (n * features > 65536)
  for (int64_t r = 0; r < n; r++) {
    const float *dr = dy + r * features;
    double s = 0.0;
    for (int64_t i = 0; i < f; i++) {
      double a = x[r] * freqs[i];
      s += freqs[i] * (dr[i] * cos(a) - dr[f + i] * sin(a));
    }
    dx[r] = (float)s;
  }
}
