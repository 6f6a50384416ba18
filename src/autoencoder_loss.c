/* The weighted autoencoder loss (AutoEncoderLoss, src/autoencoder.h) from the
 * engine's loss kernels: the arrays may live on a device. */
#include <stdbool.h>
#include <string.h>

#include "../kernels/loss.h"
#include "../kernels/vector.h"
#include "autoencoder.h"
#include "error.h"

int ae_loss_kind_from_name(const char *name) {
  static const char *const names[] = {"mse", "mae", "vrmse", "similarity"};
  for (int i = 0; i < (int)(sizeof names / sizeof *names); i++)
    if (strcmp(name, names[i]) == 0) return i;
  return -1;
}

double ae_loss_forward(const ae_loss_config *c, const float *x, const float *y, int64_t batch,
                       int64_t channels, int64_t spatial, const float *z, int64_t latent_size,
                       double *values) {
  int64_t n = batch * channels * spatial;
  double total = 0.0;
  for (int i = 0; i < c->count; i++) {
    double l = 0.0;
    switch (c->kind[i]) {
      case AE_LOSS_MSE:
        l = k_mse_fwd(y, x, n);
        break;
      case AE_LOSS_MAE:
        l = k_mae_fwd(y, x, n);
        break;
      case AE_LOSS_VRMSE:
        l = k_vrmse_fwd(y, x, batch, channels, spatial);
        break;
      case AE_LOSS_SIMILARITY:
        if (batch < 2)
          lola_die(LOLA_EXIT_RUNTIME, "the similarity loss needs a batch of at least 2 (got %lld)",
                   (long long)batch);
        l = k_similarity_fwd(z, batch, latent_size);
        break;
    }
    if (values) values[i] = l;
    total += c->weight[i] * l; /* torch.vdot(weights, values) */
  }
  return total;
}

void ae_loss_backward(const ae_loss_config *c, float *dy, float *dz, float *tmp, const float *x,
                      const float *y, int64_t batch, int64_t channels, int64_t spatial, const float *z,
                      int64_t latent_size, double dloss) {
  int64_t n = batch * channels * spatial, nz = batch * latent_size;
  bool dy_set = false, dz_set = false; /* the first term of each writes, the others add */
  for (int i = 0; i < c->count; i++) {
    double w = c->weight[i] * dloss;
    bool latent = c->kind[i] == AE_LOSS_SIMILARITY;
    float *out = latent ? (dz_set ? tmp : dz) : (dy_set ? tmp : dy);
    switch (c->kind[i]) {
      case AE_LOSS_MSE:
        k_mse_bwd(out, y, x, n, w);
        break;
      case AE_LOSS_MAE:
        k_mae_bwd(out, y, x, n, w);
        break;
      case AE_LOSS_VRMSE:
        k_vrmse_bwd(out, y, x, batch, channels, spatial, w);
        break;
      case AE_LOSS_SIMILARITY:
        k_similarity_bwd(out, z, batch, latent_size, w);
        break;
    }
    if (out == tmp) dcae_add(latent ? dz : dy, tmp, latent ? nz : n);
    if (latent)
      dz_set = true;
    else
      dy_set = true;
  }
  if (!dy_set) k_fill(dy, 0.0f, n);
  if (!dz_set) k_fill(dz, 0.0f, nz);
}
