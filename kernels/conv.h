/* Convolution over 1, 2 or 3 spatial dims, channel-first (B, C, *spatial),
 * as torch.nn.Conv{1,2,3}d: weight (Cout, Cin, *kernel), optional bias (Cout),
 * any kernel size, stride and padding, padding_mode "zeros" or "circular".
 * The reference's ConvNd (lola/nn/layers.py) uses odd kernels with padding
 * k//2 and stride 1 (same size), or stride s for the UNet's downsampling.
 *
 * Implementation: im2col over tiles of output rows, one OpenBLAS sgemm per
 * tile, OpenMP over (sample, tile); 2D 3x3 same convolutions with 16 or more
 * channels in and out use Winograd F(2x2, 3x3) instead (2.25x fewer
 * multiplications). The input gradient of a stride-1 convolution from 16
 * input channels is the adjoint convolution (flipped kernel), computed the
 * same way; other input gradients go through col2im. Memory is bounded by the
 * caller's workspace (k_conv_*_workspace_floats), not by the image size.
 *
 * Parameters: w, b (gradients accumulate); activation: x (dx overwritten). */
#ifndef LOLA_K_CONV_H
#define LOLA_K_CONV_H

#include <stdbool.h>
#include <stdint.h>

enum { K_CONV_MAX_DIMS = 3 };

typedef struct {
  int64_t batch, cin, cout;
  int dims;                    /* number of spatial dims, 1..3 */
  int64_t in[K_CONV_MAX_DIMS]; /* input extent per spatial dim, outermost first */
  int kernel[K_CONV_MAX_DIMS]; /* kernel extent per dim */
  int stride[K_CONV_MAX_DIMS]; /* >= 1 */
  int pad[K_CONV_MAX_DIMS];    /* on both sides; circular needs pad <= in */
  bool circular;               /* padding_mode "circular" instead of "zeros" */
} k_conv_shape;

/* The common case: `dims` spatial dims of extents `in`, kernel k (odd) in
 * every dim, padding k/2, stride 1 (same-size output). */
k_conv_shape k_conv_same(int64_t batch, int64_t cin, int64_t cout, int dims, const int64_t *in, int k,
                         bool circular);

/* Output extent per dim, floor((in + 2 pad - kernel) / stride) + 1; dies
 * naming the op when a shape is invalid. Returns the product (positions). */
int64_t k_conv_out_shape(const k_conv_shape *s, int64_t out[K_CONV_MAX_DIMS]);
int64_t k_conv_weight_numel(const k_conv_shape *s);

/* Scratch floats the forward and the backward need, for the current OpenMP
 * thread count (size it after setting the thread count). */
int64_t k_conv_fwd_workspace_floats(const k_conv_shape *s);
int64_t k_conv_bwd_workspace_floats(const k_conv_shape *s);

/* y[B, Cout, *out] = conv(x[B, Cin, *in], w) + b; b may be NULL. */
void k_conv_fwd(float *y, const float *x, const float *w, const float *b, const k_conv_shape *s, float *work);

/* dx = ∂/∂x (overwritten, skipped when NULL); dw += ∂/∂w (skipped when NULL);
 * db += Σ dy over batch and positions (skipped when NULL). The weight gradient
 * is summed over fixed groups of samples in a fixed order, so it does not
 * depend on the thread count. */
void k_conv_bwd(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                const k_conv_shape *s, float *work);

/* The reference's identity_init: w ← 1e-2·w + eye, where eye has a 1 at
 * (o, o mod Cin, kernel centre) for every output channel o. */
void k_conv_identity_init(float *w, const k_conv_shape *s);

#endif
