/* Training losses of the reference's AutoEncoderLoss (lola/autoencoder.py) with
 * their gradients. `pred` is the network output y, `target` the clean x. Each
 * forward returns the loss (reduced in double, in an order that does not
 * depend on the thread count); each backward OVERWRITES the gradient wrt pred
 * (or z), scaled by dloss, the gradient of the objective wrt the loss. */
#ifndef LOLA_K_LOSS_H
#define LOLA_K_LOSS_H

#include <stdint.h>

/* mean((x - y)²) over n elements. */
double k_mse_fwd(const float *pred, const float *target, int64_t n);
void k_mse_bwd(float *dpred, const float *pred, const float *target, int64_t n, double dloss);

/* mean(|x - y|); its gradient at x == y is 0, as torch's sign. */
double k_mae_fwd(const float *pred, const float *target, int64_t n);
void k_mae_bwd(float *dpred, const float *pred, const float *target, int64_t n, double dloss);

/* VRMSE over (B, C, S) arrays (S = the flattened spatial size, at least 2):
 *   mean_{b,c} sqrt( mean_s (x - y)² / (var_s(x) + 1e-2) ),
 * var the unbiased variance of the target (torch.var). Where a (b, c) error is
 * exactly 0 its gradient is taken as 0 (torch would give NaN). */
enum { K_VRMSE_MIN_SPATIAL = 2 };
double k_vrmse_fwd(const float *pred, const float *target, int64_t B, int64_t C, int64_t S);
void k_vrmse_bwd(float *dpred, const float *pred, const float *target, int64_t B, int64_t C, int64_t S,
                 double dloss);

/* Mean pairwise cosine similarity of the B latents z (B, D) over the pairs
 * i < j (the reference's "similarity" loss), norms clamped at 1e-8 as
 * torch.nn.functional.cosine_similarity. B must be at least 2. */
double k_similarity_fwd(const float *z, int64_t B, int64_t D);
void k_similarity_bwd(float *dz, const float *z, int64_t B, int64_t D, double dloss);

#endif
