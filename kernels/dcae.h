/* Kernels of the DCAE autoencoder that no other model uses: nearest
 * upsampling (the decoder's torch.nn.Upsample(mode="nearest") between levels
 * when pixel shuffles are off) and the channel RMS normalisation of the
 * latent saturation "rmsnorm" (AutoEncoder.saturate).
 *
 * Channel-first arrays (B, C, *spatial) as the conv family; the spatial
 * extents and factors are small HOST arrays of `dims` entries, outermost
 * first. Sums run in double (rmsnorm) or in a fixed order per output
 * (upsampling's adjoint), so results do not depend on the thread count. */
#ifndef LOLA_K_DCAE_H
#define LOLA_K_DCAE_H

#include <stdint.h>

/* Nearest upsampling of `rows` = B·C rows of extents in[0..dims) by integer
 * factors factor[0..dims): y[r, j] = x[r, j / factor] per axis. */
void k_upsample_nearest_fwd(float *y, const float *x, int64_t rows, int dims, const int64_t *in,
                            const int *factor);
/* Its adjoint: dx[r, i] = Σ of dy over the copies of i, in increasing output
 * index order; dx overwritten, no aliasing. */
void k_upsample_nearest_bwd(float *dx, const float *dy, int64_t rows, int dims, const int64_t *in,
                            const int *factor);

/* y = x·r with r = (mean_C(x²) + 1e-5)^(-1/2) at each (b, position), x and y
 * (B, C, P); the sum of squares in double. */
void k_rmsnorm_channels_fwd(float *y, const float *x, int64_t batch, int64_t channels, int64_t positions);
/* dx = r·(dy − y·mean_C(dy·y)), r recomputed from x, y the forward's output;
 * dx overwritten, no aliasing. */
void k_rmsnorm_channels_bwd(float *dx, const float *dy, const float *x, const float *y, int64_t batch,
                            int64_t channels, int64_t positions);

#endif
