/* The reference's ViTBlock (lola/nn/vit.py):
 *
 *   a, b, c, d = ada_zero(mod)                      (src/nn/modulation.h)
 *   y = (a + 1)·LayerNorm(x) + b                    (no affine, eps 1e-5)
 *   y = y + msa(y, coo·theta, mask)                 (src/nn/mhsa.h)
 *   y = ffn(y)                                      Linear(C, fC)–SiLU–Dropout–Linear(fC, C)
 *   y = (x + c·y) / sqrt(1 + c²)
 *   y = (y + d·skip) / sqrt(1 + d²)                 (when a skip is given)
 *
 * RoPE angles come from the learned theta (spatial, C/2) "<prefix>.theta",
 * initialised as amplitude·direction with amplitude = 100^(-U(0,1)) per pair
 * and direction a unit column (over the spatial axes) of N(0, 1) draws.
 * Parameters: "<prefix>.ada_zero[.0/.2.*]", "<prefix>.msa.*", "<prefix>.theta",
 * "<prefix>.ffn.0.*", "<prefix>.ffn.3.*". */
#ifndef LOLA_NN_VIT_BLOCK_H
#define LOLA_NN_VIT_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mhsa.h"
#include "mode.h"
#include "modulation.h"

typedef struct {
  int64_t channels, mod_features, ffn_factor, heads;
  int spatial;
  bool qk_norm, rope;
  float dropout; /* FFN dropout rate; 0 for none */
} vit_block_config;

typedef struct {
  vit_block_config cfg;
  modulation ada_zero;
  mhsa msa;
  linear ffn0, ffn3;
  int theta;                  /* -1 without RoPE */
  int first_param, end_param; /* its parameters' indices in the registry: [first, end) */
  /* saved by forward */
  int64_t batch, tokens;
  nn_mode mode;
  uint64_t site;
  const float *x, *skip, *coo;
  float *ln, *ln_rstd, *h, *g, *r, *mixed, *angles;
  /* The FFN's first linear output and the SiLU of it, dropped out in place
   * in training: the backward reads f0 and the second linear's input f1. */
  float *f0, *f1;
} vit_block;

void vit_block_declare(vit_block *m, param_registry *r, const char *prefix, const vit_block_config *cfg);
void vit_block_init(const vit_block *m, param_registry *r, rng_key key);
size_t vit_block_activation_bytes(const vit_block *m, int64_t batch, int64_t tokens);
/* Its two parts: kept from the forward to the backward, and the scratch a pass
 * takes above everything kept and releases (so blocks in a stack share it). */
size_t vit_block_saved_bytes(const vit_block *m, int64_t batch, int64_t tokens);
size_t vit_block_scratch_bytes(const vit_block *m, int64_t batch, int64_t tokens);
/* y (B, L, C) from x (B, L, C); mod (B, D) (ignored without modulation);
 * coo (L, spatial) token coordinates (for RoPE); mask (L, L) or NULL; skip
 * (B, L, C) or NULL. Inputs must stay valid until the backward. `site` tells
 * this block's dropout numbers apart from other blocks'. */
void vit_block_forward(vit_block *m, const param_registry *r, arena *act, float *y, const float *x,
                       const float *mod, const float *coo, const bool *mask, const float *skip, int64_t batch,
                       int64_t tokens, const nn_mode *mode, uint64_t site);
/* dx, dskip, dmod overwritten (each may be NULL); parameter gradients accumulated. */
void vit_block_backward(vit_block *m, param_registry *r, arena *act, float *dx, float *dskip, float *dmod,
                        const float *dy);

#endif
