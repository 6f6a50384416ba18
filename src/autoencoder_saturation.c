/* Latent saturations of AutoEncoder.saturate (src/autoencoder.h): the
 * elementwise ones through the engine's kernels, the channel RMS norm here. */
#include <math.h>
#include <string.h>

#include "../kernels/elementwise.h"
#include "autoencoder.h"

int ae_saturation_from_name(const char *name) {
  static const char *const names[] = {"none", "softclip", "softclip2", "tanh", "arcsinh", "rmsnorm"};
  for (int i = 0; i < (int)(sizeof names / sizeof *names); i++)
    if (strcmp(name, names[i]) == 0) return i;
  return -1;
}

static k_saturation elementwise_kind(ae_saturation s) {
  switch (s) {
    case AE_SAT_SOFTCLIP:
      return K_SAT_SOFTCLIP;
    case AE_SAT_SOFTCLIP2:
      return K_SAT_SOFTCLIP2;
    case AE_SAT_TANH:
      return K_SAT_TANH;
    case AE_SAT_ARCSINH:
      return K_SAT_ARCSINH;
    default:
      return K_SAT_NONE;
  }
}

enum { RMS_EPS_INV = 100000 }; /* the reference's 1e-5 */

/* y = x·r with r = (mean_C(x²) + 1e-5)^(-1/2) at each (b, position). */
static void rmsnorm_channels_fwd(float *y, const float *x, int64_t B, int64_t C, int64_t P) {
#pragma omp parallel for collapse(2) schedule(static) if (B * C * P > 32768)
  for (int64_t b = 0; b < B; b++)
    for (int64_t p = 0; p < P; p++) {
      const float *xs = x + b * C * P + p;
      double ss = 0.0;
      for (int64_t c = 0; c < C; c++) ss += (double)xs[c * P] * xs[c * P];
      float r = (float)(1.0 / sqrt(ss / (double)C + 1.0 / RMS_EPS_INV));
      for (int64_t c = 0; c < C; c++) y[b * C * P + c * P + p] = xs[c * P] * r;
    }
}

/* dx = r·(dy − y·mean_C(dy·y)), with r = y/x recomputed from x. */
static void rmsnorm_channels_bwd(float *dx, const float *dy, const float *x, const float *y, int64_t B,
                                 int64_t C, int64_t P) {
#pragma omp parallel for collapse(2) schedule(static) if (B * C * P > 32768)
  for (int64_t b = 0; b < B; b++)
    for (int64_t p = 0; p < P; p++) {
      int64_t at = b * C * P + p;
      double ss = 0.0, dot = 0.0;
      for (int64_t c = 0; c < C; c++) {
        ss += (double)x[at + c * P] * x[at + c * P];
        dot += (double)dy[at + c * P] * y[at + c * P];
      }
      double r = 1.0 / sqrt(ss / (double)C + 1.0 / RMS_EPS_INV), k = dot / (double)C;
      for (int64_t c = 0; c < C; c++) dx[at + c * P] = (float)(r * (dy[at + c * P] - y[at + c * P] * k));
    }
}

void ae_saturate_fwd(float *y, const float *x, int64_t batch, int64_t channels, int64_t positions,
                     ae_saturation s) {
  if (s == AE_SAT_RMSNORM)
    rmsnorm_channels_fwd(y, x, batch, channels, positions);
  else
    k_saturate_fwd(y, x, batch * channels * positions, elementwise_kind(s));
}

void ae_saturate_bwd(float *dx, const float *dy, const float *x, const float *y, int64_t batch,
                     int64_t channels, int64_t positions, ae_saturation s) {
  if (s == AE_SAT_RMSNORM)
    rmsnorm_channels_bwd(dx, dy, x, y, batch, channels, positions);
  else
    k_saturate_bwd(dx, dy, x, batch * channels * positions, elementwise_kind(s));
}
