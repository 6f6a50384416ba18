/* Pointwise ops, per-channel modulation, residual mixing, concatenation and
 * layout changes.
 *
 * Per-channel vectors (modulation scale/shift, mixing coefficient c) are
 * (B, C) arrays read with a batch stride: `vstride` = C for one vector per
 * sample (the output of an AdaLN-Zero network), 0 for one vector shared by the
 * batch (the reference's `ada_zero` parameter when there is no modulation).
 * Their gradients ACCUMULATE (they may be parameters; zero them first when
 * they are activations); with vstride 0 the batch is summed into one vector.
 *
 * In place: every function above the concatenation section may be called with
 * its output on its main input (y == x, dx == dy; for residual mixing also
 * y == r, dr == dy). Concatenation and layout changes may not. */
#ifndef LOLA_K_ELEMENTWISE_H
#define LOLA_K_ELEMENTWISE_H

#include <stdint.h>

#include "rng.h"

/* Where the channel axis is: (B, C, S) channel-first, or (B, S, C) tokens. */
typedef enum { K_CHANNEL_FIRST, K_TOKENS } k_layout;

/* ---- activations ---- */

/* y = x·σ(x). */
void k_silu_fwd(float *y, const float *x, int64_t n);
void k_silu_bwd(float *dx, const float *dy, const float *x, int64_t n);

/* Inverted dropout over `batch` samples of `per_sample` elements: element e of
 * sample b is kept when its uniform (key, first_sample + b, e) is >= p, and
 * scaled by 1/(1-p), as torch.nn.Dropout. The backward regenerates the mask. */
void k_dropout_fwd(float *y, const float *x, int64_t batch, int64_t per_sample, float p, rng_key key,
                   uint64_t first_sample);
void k_dropout_bwd(float *dx, const float *dy, int64_t batch, int64_t per_sample, float p, rng_key key,
                   uint64_t first_sample);

/* The latent saturations of the reference's AutoEncoder.saturate:
 * softclip x/(1+|x|/5), softclip2 x/sqrt(1+(x/5)²), tanh 5·tanh(x/5), arcsinh. */
typedef enum { K_SAT_NONE, K_SAT_SOFTCLIP, K_SAT_SOFTCLIP2, K_SAT_TANH, K_SAT_ARCSINH } k_saturation;
/* Parse "softclip2" etc. ("none" too); -1 when unknown. */
int k_saturation_from_name(const char *name);
void k_saturate_fwd(float *y, const float *x, int64_t n, k_saturation kind);
void k_saturate_bwd(float *dx, const float *dy, const float *x, int64_t n, k_saturation kind);

/* ---- scaling and modulation ---- */

/* y[b, i] = s[b]·x[b, i] over `batch` samples of `per_sample` elements
 * (EDM's c_in / c_out / c_skip). ds accumulates (may be NULL), dx overwritten. */
void k_scale_fwd(float *y, const float *x, const float *s, int64_t batch, int64_t per_sample);
void k_scale_bwd(float *dx, float *ds, const float *dy, const float *x, const float *s, int64_t batch,
                 int64_t per_sample);

/* AdaLN modulation y = (1 + scale)·x + shift, per (sample, channel); scale or
 * shift may be NULL. x, y are (B, C, S) or (B, S, C) per `layout`. */
void k_modulate_fwd(float *y, const float *x, const float *scale, const float *shift, int64_t vstride,
                    int64_t B, int64_t C, int64_t S, k_layout layout);
void k_modulate_bwd(float *dx, float *dscale, float *dshift, const float *dy, const float *x,
                    const float *scale, int64_t vstride, int64_t B, int64_t C, int64_t S, k_layout layout);

/* Residual mixing of the reference's ViT / U-Net blocks:
 * y = (x + c·r) / sqrt(1 + c²), c per (sample, channel). dx, dr overwritten
 * (either may be NULL), dc accumulates. */
void k_residual_mix_fwd(float *y, const float *x, const float *r, const float *c, int64_t vstride, int64_t B,
                        int64_t C, int64_t S, k_layout layout);
void k_residual_mix_bwd(float *dx, float *dr, float *dc, const float *dy, const float *x, const float *r,
                        const float *c, int64_t vstride, int64_t B, int64_t C, int64_t S, k_layout layout);

/* ---- concatenation and layout ---- */

/* y[o] = [a[o] | b[o]] for each of `outer` blocks of a_len then b_len floats.
 * Channel-first (B, Ca, S) ++ (B, Cb, S): outer = B, a_len = Ca·S, b_len = Cb·S.
 * Tokens (B, N, Ca) ++ (B, N, Cb): outer = B·N, a_len = Ca, b_len = Cb.
 * The backward splits dy into da and db (overwritten, either may be NULL). */
void k_concat_fwd(float *y, const float *a, const float *b, int64_t outer, int64_t a_len, int64_t b_len);
void k_concat_bwd(float *da, float *db, const float *dy, int64_t outer, int64_t a_len, int64_t b_len);

/* (B, C, S) -> (B, S, C) and back; each one's backward is the other's forward. */
void k_to_tokens_fwd(float *y, const float *x, int64_t B, int64_t C, int64_t S);
void k_to_tokens_bwd(float *dx, const float *dy, int64_t B, int64_t C, int64_t S);
void k_to_channels_fwd(float *y, const float *x, int64_t B, int64_t C, int64_t S);
void k_to_channels_bwd(float *dx, const float *dy, int64_t B, int64_t C, int64_t S);

#endif
