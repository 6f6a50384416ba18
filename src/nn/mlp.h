/* Linear–SiLU–Linear, the reference's nn.Sequential(Linear, SiLU, Linear):
 * AdaLN-Zero networks (ViTBlock.ada_zero), label and time embeddings.
 * Parameters "<prefix>.0.*" and "<prefix>.2.*" (the Sequential's indices). */
#ifndef LOLA_NN_MLP_H
#define LOLA_NN_MLP_H

#include <stddef.h>
#include <stdint.h>

#include "linear.h"

typedef struct {
  linear fc0, fc2;
  /* saved by forward for backward */
  const float *x;
  float *h, *s; /* fc0 output, SiLU output */
  int64_t rows;
} mlp;

void mlp_declare(mlp *m, param_registry *r, const char *prefix, int64_t in, int64_t hidden, int64_t out);
/* The same with the linears at Sequential indices `first` and `first + 2`
 * (the denoiser's time embedding has its SineEncoding at index 0). */
void mlp_declare_at(mlp *m, param_registry *r, const char *prefix, int first, int64_t in, int64_t hidden,
                    int64_t out);
void mlp_init(const mlp *m, param_registry *r, rng_key key);
size_t mlp_activation_bytes(const mlp *m, int64_t rows);
/* y (rows, out) from x (rows, in); x must stay valid until the backward. */
void mlp_forward(mlp *m, const param_registry *r, arena *act, float *y, const float *x, int64_t rows);
/* dx overwritten (may be NULL), parameter gradients accumulated. */
void mlp_backward(mlp *m, param_registry *r, arena *act, float *dx, const float *dy);

#endif
