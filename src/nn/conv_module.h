/* A convolution layer as the reference's ConvNd (lola/nn/layers.py): a
 * torch.nn.Conv{1,2,3}d with bias, padding kernel//2 on every side (zeros or
 * circular), stride 1 or the downsampling stride, parameters "<prefix>.weight"
 * (Cout, Cin, *kernel) and "<prefix>.bias" (Cout). */
#ifndef LOLA_NN_CONV_MODULE_H
#define LOLA_NN_CONV_MODULE_H

#include <stdbool.h>
#include <stdint.h>

#include "../../kernels/conv.h"
#include "dcae_pass.h"

typedef struct {
  int dims; /* spatial dims, 1..3 */
  int64_t cin, cout;
  int kernel[3];      /* odd extents, padded by kernel/2 */
  int stride[3];      /* >= 1 */
  bool circular;      /* padding_mode "circular" (periodic) instead of "zeros" */
  bool identity_init; /* the reference's identity_init: w ← 1e-2·w + eye */
} conv_module_config;

typedef struct {
  conv_module_config cfg;
  int weight, bias; /* registry indices */
  /* Saved by the forward for the backward. */
  const float *x;
  k_conv_shape shape;
} conv_module;

/* A config with kernel k and stride s in every one of `dims` dims. */
conv_module_config conv_module_cube(int dims, int64_t cin, int64_t cout, int k, int s, bool circular,
                                    bool identity_init);

void conv_module_declare(conv_module *m, param_registry *r, const char *prefix,
                         const conv_module_config *cfg);
/* torch's default init (kaiming_uniform(a=√5): U(±1/√fan_in) for weight and
 * bias), then identity_init when configured. */
void conv_module_init(const conv_module *m, param_registry *r, rng_key key);

dcae_grid conv_module_out_grid(const conv_module_config *cfg, const dcae_grid *in);
/* Activation-arena bytes of one forward (its output). */
size_t conv_module_activation_bytes(const conv_module_config *cfg, int64_t batch, const dcae_grid *in);
/* Scratch bytes of a forward or a backward (the conv workspace). */
size_t conv_module_scratch_bytes(const conv_module_config *cfg, int64_t batch, const dcae_grid *in);

/* y (B, Cout, *out) = conv(x (B, Cin, *in)); y is allocated in p->act. x must
 * stay valid until the backward. */
float *conv_module_forward(conv_module *m, const param_registry *r, const dcae_pass *p, const float *x,
                           int64_t batch, const dcae_grid *in);
/* dx (overwritten; NULL: not needed) from dy; weight and bias gradients accumulate. */
void conv_module_backward(const conv_module *m, param_registry *r, const dcae_pass *p, float *dx,
                          const float *dy);

#endif
