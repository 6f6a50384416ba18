/* Rotary position embedding (kernels/rope.h). */
#include "../rope.h"
#include "kernels_cpu.h"

#include <math.h>

#include "../../src/error.h"

/* Pairs whose cos / sin are computed once and applied to every sample. */
enum { ROPE_CHUNK = 64 };

void kcpu_grid_coords(float *coo, int dims, const int64_t *shape) {
  int64_t tokens = 1;
  for (int d = 0; d < dims; d++) tokens *= shape[d];
  for (int64_t l = 0; l < tokens; l++) {
    int64_t rest = l;
    for (int d = dims - 1; d >= 0; d--) {
      coo[l * dims + d] = (float)(rest % shape[d]);
      rest /= shape[d];
    }
  }
}

void kcpu_rope_angles_fwd(float *angles, const float *coo, const float *theta, int64_t tokens, int64_t ndim,
                          int64_t pairs) {
#pragma omp parallel for schedule(static) if (tokens * pairs > 65536)
  for (int64_t l = 0; l < tokens; l++)
    for (int64_t m = 0; m < pairs; m++) {
      double a = 0.0;
      for (int64_t d = 0; d < ndim; d++) a += (double)coo[l * ndim + d] * theta[d * pairs + m];
      angles[l * pairs + m] = (float)a;
    }
}

void kcpu_rope_angles_bwd(float *dtheta, const float *dangles, const float *coo, int64_t tokens, int64_t ndim,
                          int64_t pairs) {
#pragma omp parallel for schedule(static) if (tokens * pairs > 65536)
  for (int64_t m = 0; m < pairs; m++)
    for (int64_t d = 0; d < ndim; d++) {
      double s = 0.0;
      for (int64_t l = 0; l < tokens; l++) s += (double)coo[l * ndim + d] * dangles[l * pairs + m];
      dtheta[d * pairs + m] += (float)s;
    }
}

static int64_t pairs_of(int64_t channels) {
  if (channels % 2 != 0)
    lola_die(LOLA_EXIT_RUNTIME, "rope: %lld channels (an even number is needed)", (long long)channels);
  return channels / 2;
}

/* cos / sin of angles[m0 .. m0 + n). */
static void cos_sin(float *c, float *s, const float *angles, int64_t n) {
  for (int64_t j = 0; j < n; j++) {
    c[j] = (float)cos(angles[j]);
    s[j] = (float)sin(angles[j]);
  }
}

void kcpu_rope_fwd(float *y, const float *x, const float *angles, int64_t batch, int64_t tokens,
                   int64_t channels) {
  const int64_t pairs = pairs_of(channels);
#pragma omp parallel for schedule(static) if (batch * tokens * channels > 65536)
  for (int64_t l = 0; l < tokens; l++)
    for (int64_t m0 = 0; m0 < pairs; m0 += ROPE_CHUNK) {
      int64_t n = pairs - m0 < ROPE_CHUNK ? pairs - m0 : ROPE_CHUNK;
      float c[ROPE_CHUNK], s[ROPE_CHUNK];
      cos_sin(c, s, angles + l * pairs + m0, n);
      for (int64_t b = 0; b < batch; b++) {
        const float *xp = x + (b * tokens + l) * channels + 2 * m0;
        float *yp = y + (b * tokens + l) * channels + 2 * m0;
        for (int64_t j = 0; j < n; j++) {
          float re = xp[2 * j], im = xp[2 * j + 1];
          yp[2 * j] = re * c[j] - im * s[j];
          yp[2 * j + 1] = re * s[j] + im * c[j];
        }
      }
    }
}

void kcpu_rope_bwd(float *dx, float *dangles, const float *dy, const float *y, const float *angles,
                   int64_t batch, int64_t tokens, int64_t channels) {
  const int64_t pairs = pairs_of(channels);
#pragma omp parallel for schedule(static) if (batch * tokens * channels > 65536)
  for (int64_t l = 0; l < tokens; l++)
    for (int64_t m0 = 0; m0 < pairs; m0 += ROPE_CHUNK) {
      int64_t n = pairs - m0 < ROPE_CHUNK ? pairs - m0 : ROPE_CHUNK;
      float c[ROPE_CHUNK], s[ROPE_CHUNK];
      double da[ROPE_CHUNK] = {0};
      cos_sin(c, s, angles + l * pairs + m0, n);
      for (int64_t b = 0; b < batch; b++) {
        int64_t at = (b * tokens + l) * channels + 2 * m0;
        const float *dyp = dy + at, *yp = y + at;
        float *dxp = dx + at;
        for (int64_t j = 0; j < n; j++) {
          float g0 = dyp[2 * j], g1 = dyp[2 * j + 1];
          da[j] += (double)g1 * yp[2 * j] - (double)g0 * yp[2 * j + 1];
          dxp[2 * j] = g0 * c[j] + g1 * s[j];
          dxp[2 * j + 1] = -g0 * s[j] + g1 * c[j];
        }
      }
      if (dangles)
        for (int64_t j = 0; j < n; j++) dangles[l * pairs + m0 + j] += (float)da[j];
    }
}
