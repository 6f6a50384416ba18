/* Nearest upsampling (src/dcae_upsample.h): the kernels of kernels/dcae.h,
 * which run on the active backend. */
#include "dcae_upsample.h"

#include "../kernels/dcae.h"

void dcae_upsample_fwd(float *y, const float *x, int64_t rows, int dims, const int64_t *in,
                       const int *factor) {
  k_upsample_nearest_fwd(y, x, rows, dims, in, factor);
}

void dcae_upsample_bwd(float *dx, const float *dy, int64_t rows, int dims, const int64_t *in,
                       const int *factor) {
  k_upsample_nearest_bwd(dx, dy, rows, dims, in, factor);
}
