/* Rotary position embedding with per-token angles, as the reference's
 * apply_rope (lola/nn/attention.py) and ViTBlock (lola/nn/vit.py):
 *
 *   angles[l, m] = Σ_d coo[l, d]·theta[d, m]      (torch.einsum("...ij,jk"))
 *
 * with coo (L, N) the token's grid coordinates and theta (N, C/2) a learned
 * parameter, and every channel pair (2m, 2m+1) of a token (B, L, C) rotated by
 * angles[l, m] (the same angles for every sample):
 *
 *   y[2m]   = x[2m]·cos − x[2m+1]·sin
 *   y[2m+1] = x[2m]·sin + x[2m+1]·cos
 *
 * Pair m of channel vector H·C_h belongs to head m / (C_h/2), which is the
 * reference's rearrange "L (H C) -> H L C" of theta. Queries and keys are
 * rotated by two calls; their angle gradients add up (dangles ACCUMULATES),
 * dx is overwritten, dtheta accumulates (a parameter). */
#ifndef LOLA_K_ROPE_H
#define LOLA_K_ROPE_H

#include <stdint.h>

/* coo[L, dims]: the row-major grid coordinates of a grid `shape` (torch.cartesian_prod of aranges). */
void k_grid_coords(float *coo, int dims, const int64_t *shape);

/* angles[L, pairs] = coo[L, ndim]·theta[ndim, pairs]. */
void k_rope_angles_fwd(float *angles, const float *coo, const float *theta, int64_t tokens, int64_t ndim,
                       int64_t pairs);
/* dtheta += cooᵀ·dangles. */
void k_rope_angles_bwd(float *dtheta, const float *dangles, const float *coo, int64_t tokens, int64_t ndim,
                       int64_t pairs);

/* y[B, L, C] = rotate(x) by angles[L, C/2]; y may alias x (in place). */
void k_rope_fwd(float *y, const float *x, const float *angles, int64_t batch, int64_t tokens,
                int64_t channels);
/* From the forward's output y: dx = rotate(dy) by −angles (dx may alias dy), and
 * dangles[l, m] += Σ_b (dy[2m+1]·y[2m] − dy[2m]·y[2m+1]) (skipped when NULL). */
void k_rope_bwd(float *dx, float *dangles, const float *dy, const float *y, const float *angles,
                int64_t batch, int64_t tokens, int64_t channels);

#endif
