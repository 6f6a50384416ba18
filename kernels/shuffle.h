/* Pixel unshuffle / shuffle over 1 to 3 spatial dims: the reference's
 * Patchify / Unpatchify (lola/nn/layers.py), einops patterns
 *
 *   patchify    "B C (L l) (H h) (W w) -> B (C l h w) L H W"     channel-first
 *               "B C (L l) (H h) (W w) -> B L H W (C l h w)"     channel-last
 *   unpatchify  the inverse of each (the same patterns read right to left).
 *
 * Channel-last output is the token layout (B, N, C·l·h·w) with tokens in
 * row-major grid order. Both are permutations: the backward of patchify is
 * unpatchify of the gradient and vice versa. dx is overwritten. */
#ifndef LOLA_K_SHUFFLE_H
#define LOLA_K_SHUFFLE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
  int64_t batch, channels; /* channels C of the unpatched (full-resolution) tensor */
  int dims;                /* spatial dims, 1..3 */
  int64_t in[3];           /* full-resolution extents, each a multiple of its patch */
  int patch[3];            /* patch extents l, h, w */
  bool channel_last;
} k_patch_shape;

/* x (B, C, *in) → y patched. */
void k_patchify_fwd(float *y, const float *x, const k_patch_shape *s);
void k_patchify_bwd(float *dx, const float *dy, const k_patch_shape *s);
/* x patched → y (B, C, *in). */
void k_unpatchify_fwd(float *y, const float *x, const k_patch_shape *s);
void k_unpatchify_bwd(float *dx, const float *dy, const k_patch_shape *s);

#endif
