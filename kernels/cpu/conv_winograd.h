/* Winograd F(2x2, 3x3) convolution for 3x3, stride-1, padding-1 2D layers
 * (zero or circular padding), the DCAE's and UNet's common case: 2.25x fewer
 * multiplications than im2col, as 16 sgemm products per tile chunk.
 * Private to kernels/cpu; conv.c decides when to use it. */
#ifndef LOLA_K_CONV_WINOGRAD_H
#define LOLA_K_CONV_WINOGRAD_H

#include <stdbool.h>
#include <stdint.h>

#include "conv_geom.h"

/* Whether g is a 2D 3x3 same convolution with enough channels for the
 * transformed products to pay off. */
bool conv_winograd_applies(const conv_geom *g);
/* Scratch for conv_winograd_fwd at the current OpenMP thread count. */
int64_t conv_winograd_workspace_floats(const conv_geom *g);
/* y = conv(x, w) + b (b may be NULL), as forward_tiles in conv.c. */
void conv_winograd_fwd(float *y, const float *x, const float *w, const float *b, const conv_geom *g,
                       float *work);

#endif
