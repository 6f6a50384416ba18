/* Latent saturations of AutoEncoder.saturate (src/autoencoder.h): the
 * elementwise ones and the channel RMS norm through the engine's kernels
 * (kernels/elementwise.h, kernels/dcae.h), on the active backend. */
#include <string.h>

#include "../kernels/dcae.h"
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

void ae_saturate_fwd(float *y, const float *x, int64_t batch, int64_t channels, int64_t positions,
                     ae_saturation s) {
  if (s == AE_SAT_RMSNORM)
    k_rmsnorm_channels_fwd(y, x, batch, channels, positions);
  else
    k_saturate_fwd(y, x, batch * channels * positions, elementwise_kind(s));
}

void ae_saturate_bwd(float *dx, const float *dy, const float *x, const float *y, int64_t batch,
                     int64_t channels, int64_t positions, ae_saturation s) {
  if (s == AE_SAT_RMSNORM)
    k_rmsnorm_channels_bwd(dx, dy, x, y, batch, channels, positions);
  else
    k_saturate_bwd(dx, dy, x, batch * channels * positions, elementwise_kind(s));
}
