/* The AdaLN-Zero coefficients of a ViT block (lola/nn/vit.py, ViTBlock.ada_zero):
 * four per-channel vectors a, b, c, d (scale, shift, residual gate, skip gate).
 *
 * With modulating features D > 0 they come from the modulation vector through
 * Linear(D, D)–SiLU–Linear(D, 4C) ("<prefix>.0", "<prefix>.2"), whose last
 * weight is scaled by 1e-2 at init, and Rearrange("... (n C) -> n ... 1 C"):
 * vector n of sample b is out[b, n·C : (n+1)·C]. Without modulation they are
 * one learned parameter "<prefix>" of shape (4, C), N(0, 1)·1e-2 at init,
 * shared by the batch.
 *
 * Either way the result is read through a per-vector pointer and a batch
 * stride (`vstride`, as the elementwise kernels take it): 4C or 0. */
#ifndef LOLA_NN_MODULATION_H
#define LOLA_NN_MODULATION_H

#include <stddef.h>
#include <stdint.h>

#include "mlp.h"

typedef struct {
  int64_t channels, features;
  mlp net;   /* when features > 0 */
  int param; /* registry index of the (4, C) parameter when features == 0, else -1 */
  /* set by forward */
  int64_t batch, vstride;
  float *out;  /* (B, 4C) network output, or NULL */
  float *dout; /* its gradient, accumulated by the block's backward, or NULL */
} modulation;

void modulation_declare(modulation *m, param_registry *r, const char *prefix, int64_t channels,
                        int64_t features);
void modulation_init(const modulation *m, param_registry *r, rng_key key);
size_t modulation_activation_bytes(const modulation *m, int64_t batch);
/* Compute a, b, c, d for a batch from mod (B, D) (ignored without features).
 * Afterwards modulation_vec(m, r, n) is vector n and modulation_grad(m, r, n)
 * the array its gradient accumulates into (zeroed here when an activation). */
void modulation_forward(modulation *m, const param_registry *r, arena *act, const float *mod, int64_t batch);
const float *modulation_vec(const modulation *m, const param_registry *r, int n);
float *modulation_grad(const modulation *m, param_registry *r, int n);
/* Once the four gradients are accumulated: dmod (B, D) overwritten (may be NULL). */
void modulation_backward(modulation *m, param_registry *r, arena *act, float *dmod);

#endif
