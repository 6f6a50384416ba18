/* Affine maps over the last dimension and batched matrix products.
 *
 * Linear acts on (..., C) tokens flattened to `rows` rows, with the weight
 * (out, in) as torch.nn.Linear: y = x·Wᵀ + b. Parameters: w, b (gradients
 * accumulate); activation: x (gradient overwritten). */
#ifndef LOLA_K_LINEAR_H
#define LOLA_K_LINEAR_H

#include <stdbool.h>
#include <stdint.h>

/* y[rows, out] = x[rows, in] · w[out, in]ᵀ + b[out]; b may be NULL. */
void k_linear_fwd(float *y, const float *x, const float *w, const float *b, int64_t rows, int64_t in,
                  int64_t out);
/* dx = dy·w (skipped when dx is NULL); dw += dyᵀ·x; db += Σ_rows dy (skipped when db is NULL). */
void k_linear_bwd(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                  int64_t rows, int64_t in, int64_t out);

/* c[i] = op(a[i]) · op(b[i]) for i < batch, with op(a) (m, k) and op(b) (k, n);
 * ta / tb say that a[i] is stored (k, m) / b[i] is stored (n, k). */
void k_bmm_fwd(float *c, const float *a, const float *b, int64_t batch, int64_t m, int64_t n, int64_t k,
               bool ta, bool tb);
/* Both operands are activations: da and db are overwritten (either may be NULL). */
void k_bmm_bwd(float *da, float *db, const float *dc, const float *a, const float *b, int64_t batch,
               int64_t m, int64_t n, int64_t k, bool ta, bool tb);

#endif
