/* Normalisations without affine parameters, eps = 1e-5 (the reference's
 * defaults), each saving 1/sqrt(var + eps) per normalised set (`rstd`, may be
 * NULL when no backward follows) and differentiated from its output y:
 *
 *   layernorm_channels  the reference's LayerNorm(dim=-N-1) module
 *                       (lola/nn/layers.py): over the channels at every
 *                       position of channel-first (B, C, P), with the UNBIASED
 *                       variance of torch.var_mean, divided by C - 1;
 *   layernorm           torch.nn.LayerNorm over the last dim (biased variance);
 *   rmsnorm             x / sqrt(mean(x²) + eps) over the last dim (nn.RMSNorm,
 *                       the attention's query/key norm);
 *   groupnorm           torch.nn.GroupNorm(G, C, affine=False) on channel-first
 *                       (B, C, P): over each group of C/G channels and every
 *                       position (biased variance).
 *
 * All inputs are activations: dx is overwritten. Sums run in double. */
#ifndef LOLA_K_NORM_H
#define LOLA_K_NORM_H

#include <stdint.h>

#define K_NORM_EPS 1e-5

/* rstd: (B, P). */
void k_layernorm_channels_fwd(float *y, float *rstd, const float *x, int64_t batch, int64_t channels,
                              int64_t positions);
void k_layernorm_channels_bwd(float *dx, const float *dy, const float *y, const float *rstd, int64_t batch,
                              int64_t channels, int64_t positions);

/* rstd: (rows). */
void k_layernorm_fwd(float *y, float *rstd, const float *x, int64_t rows, int64_t dim);
void k_layernorm_bwd(float *dx, const float *dy, const float *y, const float *rstd, int64_t rows,
                     int64_t dim);

/* rstd: (rows). */
void k_rmsnorm_fwd(float *y, float *rstd, const float *x, int64_t rows, int64_t dim);
void k_rmsnorm_bwd(float *dx, const float *dy, const float *y, const float *rstd, int64_t rows, int64_t dim);

/* rstd: (B, groups); channels must be a multiple of groups. */
void k_groupnorm_fwd(float *y, float *rstd, const float *x, int64_t batch, int64_t channels, int64_t groups,
                     int64_t positions);
void k_groupnorm_bwd(float *dx, const float *dy, const float *y, const float *rstd, int64_t batch,
                     int64_t channels, int64_t groups, int64_t positions);

#endif
