/* The reference's MultiheadSelfAttention (lola/nn/attention.py): qkv_proj
 * (C → 3C, no bias), split "L (n H C) -> n H L C", optional per-head query/key
 * RMSNorm (eps 1e-5, no affine: no parameters, no buffers), optional rotary
 * embedding by per-token angles (L, C/2), scaled-dot-product attention with an
 * optional boolean (L, L) mask, y_proj (C → C). Attention dropout is 0 (the
 * ViT blocks pass none). Parameters "<prefix>.qkv_proj.weight",
 * "<prefix>.y_proj.weight", "<prefix>.y_proj.bias". */
#ifndef LOLA_NN_MHSA_H
#define LOLA_NN_MHSA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linear.h"

typedef struct {
  int64_t channels, heads;
  bool qk_norm;
  linear qkv_proj, y_proj;
  /* saved by forward */
  int64_t batch, tokens;
  const float *x, *angles;
  const bool *mask;
  float *q, *k, *v;       /* after the split (q, k NULL after the forward with RMSNorm or RoPE: scratch) */
  float *qn, *kn;         /* after RMSNorm (== q, k without it; then NULL after a forward with RoPE) */
  float *qr, *kr;         /* after RoPE (== qn, kn without it) */
  float *q_rstd, *k_rstd; /* RMSNorm's saved 1/rms, (B·L·H) */
  float *att, *lse;       /* attention output (B, L, C) and its log-sum-exp (B, H, L) */
} mhsa;

void mhsa_declare(mhsa *m, param_registry *r, const char *prefix, int64_t channels, int64_t heads,
                  bool qk_norm);
void mhsa_init(const mhsa *m, param_registry *r, rng_key key);
size_t mhsa_activation_bytes(const mhsa *m, int64_t batch, int64_t tokens, bool rope);
/* Its two parts: what the forward keeps for the backward, and the scratch
 * either pass takes above it and releases. */
size_t mhsa_saved_bytes(const mhsa *m, int64_t batch, int64_t tokens, bool rope);
size_t mhsa_scratch_bytes(const mhsa *m, int64_t batch, int64_t tokens);
/* y (B, L, C) from x (B, L, C); angles (L, C/2) or NULL (no RoPE); mask (L, L)
 * or NULL. x, angles and mask must stay valid until the backward. */
void mhsa_forward(mhsa *m, const param_registry *r, arena *act, float *y, const float *x, const float *angles,
                  const bool *mask, int64_t batch, int64_t tokens);
/* dx overwritten (may be NULL); dangles (L, C/2) accumulated (may be NULL
 * when there is no RoPE); parameter gradients accumulated. */
void mhsa_backward(mhsa *m, param_registry *r, arena *act, float *dx, float *dangles, const float *dy);

#endif
