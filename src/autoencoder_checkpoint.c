/* Autoencoder checkpoints: parameters and buffers in one safetensors file,
 * under torch's state_dict names (src/autoencoder.h, src/model_io.h). */
#include <math.h>

#include "../kernels/norm.h"
#include "autoencoder.h"
#include "error.h"
#include "model_io.h"

void autoencoder_save(const autoencoder *ae, const char *path, const char *const *metadata) {
  model_save(path, &ae->params, &ae->buffers, metadata);
}

void autoencoder_load(autoencoder *ae, const char *path, bool strict) {
  model_load(path, &ae->params, &ae->buffers, strict, "autoencoder");
  /* The norms run with the kernels' eps: a checkpoint with another would silently differ. */
  for (int i = 0; i < ae->buffers.count; i++) {
    float eps = *params_value(&ae->buffers, i);
    if (fabs(eps - K_NORM_EPS) > 1e-12)
      lola_die(LOLA_EXIT_DATA, "safetensors file '%s': buffer '%s' is %g, only %g is supported", path,
               ae->buffers.entries[i].name, (double)eps, K_NORM_EPS);
  }
}
