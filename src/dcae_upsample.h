/* Nearest-neighbour upsampling by integer factors, torch.nn.Upsample(mode=
 * "nearest") on channel-first (B, C, *spatial): y[.., i·s + r] = x[.., i]. The
 * DCAE decoder's upsampling step when pixel_shuffle is off; k_upsample_nearest_*
 * of kernels/dcae.h, so x and y live in the active backend's memory. `in` and
 * `factor` are host arrays. */
#ifndef LOLA_DCAE_UPSAMPLE_H
#define LOLA_DCAE_UPSAMPLE_H

#include <stdint.h>

/* `rows` = B·C; `in` the input extents of `dims` dims; `factor` per dim. */
void dcae_upsample_fwd(float *y, const float *x, int64_t rows, int dims, const int64_t *in,
                       const int *factor);
/* dx (overwritten) = the sum of dy over each input cell's copies. */
void dcae_upsample_bwd(float *dx, const float *dy, int64_t rows, int dims, const int64_t *in,
                       const int *factor);

#endif
