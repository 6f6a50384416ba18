/* The reference's modulated ViT (lola/nn/vit.py, class ViT):
 *
 *   x = cat(x, cond)                                   (B, Ci + Cc, L_1..L_N)
 *   x = in_proj(Patchify(x, channel-last))             tokens (B, L, C)
 *   skip = x;  x = x + positional_embedding(coo)       SineEncoding(C) of each
 *                                                      coordinate → (N·C) → Linear
 *   x = block_i(x, mod, coo, mask, skip)               i = 0 .. hid_blocks-1
 *   y = Unpatchify(out_proj(x))                        (B, Co, L_1..L_N)
 *
 * coo are the patched grid's integer coordinates (row-major, time first when
 * the time axis is a spatial axis); with a window size the attention mask
 * keeps the keys within window/2 of the query on every axis, distances taken
 * periodically. State dict: "in_proj.*", "out_proj.*",
 * "positional_embedding.0.freqs" (a buffer), "positional_embedding.2.*",
 * "blocks.<i>.*" — under `prefix` when it is not empty. */
#ifndef LOLA_VIT_H
#define LOLA_VIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nn/linear.h"
#include "nn/mode.h"
#include "nn/vit_block.h"
#include "tensor.h"

enum { VIT_MAX_SPATIAL = 3 };

typedef struct {
  int64_t in_channels, out_channels, cond_channels, mod_features;
  int64_t hid_channels, hid_blocks, ffn_factor, attention_heads;
  int spatial;
  int patch[VIT_MAX_SPATIAL];  /* patch_size per axis (1: none) */
  int window[VIT_MAX_SPATIAL]; /* window_size per axis; all 0: global attention */
  bool qk_norm, rope;
  float dropout;
} vit_config;

typedef struct {
  vit_config cfg;
  linear in_proj, out_proj, pos_proj;
  int freqs; /* index in the buffer registry */
  vit_block *blocks;
  /* saved by forward */
  int64_t batch, tokens, grid[VIT_MAX_SPATIAL], shape[VIT_MAX_SPATIAL];
  bool has_cond, has_mask;
  float *xc, *patches, *skip, *coo, *enc, *pos, **xs, *out;
  bool *mask;
  const float *mod;
} vit;

/* Checks the configuration (deck errors name `prefix`), registers parameters
 * in `params` and the SineEncoding buffer in `buffers`. */
void vit_declare(vit *m, param_registry *params, param_registry *buffers, const char *prefix,
                 const vit_config *cfg);
void vit_init(const vit *m, param_registry *params, param_registry *buffers, rng_key key);
void vit_free(vit *m);
/* The full-resolution extents `shape` (spatial of them) must be multiples of the patch. */
size_t vit_activation_bytes(const vit *m, int64_t batch, const int64_t *shape);
/* y (B, Co, *shape) from x (B, Ci, *shape), mod (B, D) (NULL without
 * modulation), cond (B, Cc, *shape) (NULL without condition channels).
 * Inputs must stay valid until the backward. */
void vit_forward(vit *m, const param_registry *params, const param_registry *buffers, arena *act, float *y,
                 const float *x, const float *mod, const float *cond, int64_t batch, const int64_t *shape,
                 const nn_mode *mode);
/* dx, dmod, dcond overwritten (each may be NULL); parameter gradients accumulated. */
void vit_backward(vit *m, param_registry *params, arena *act, float *dx, float *dmod, float *dcond,
                  const float *dy);

#endif
