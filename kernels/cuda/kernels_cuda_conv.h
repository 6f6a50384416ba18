/* The CUDA twins of the DCAE autoencoder's kernels: convolution, group and
 * channel layer norms, batched matrix products, the VRMSE and similarity
 * losses. kc_<op> has exactly the signature and semantics of k_<op> in
 * kernels/conv.h, norm.h, linear.h and loss.h, with every array pointer in
 * device memory; shape structs are host pointers. Included by kernels_cuda.h. */
#ifndef LOLA_KERNELS_CUDA_CONV_H
#define LOLA_KERNELS_CUDA_CONV_H

#include <stdbool.h>
#include <stdint.h>

#include "../conv.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Convolution: im2col over chunks of samples + cuBLAS GEMMs in the precision of
 * kc_get_precision. `work` is device memory of kc_conv_*_workspace_floats
 * floats (the GPU's own sizing: a chunk of samples' column matrices, at most
 * 256 MiB or one sample, whichever is larger; 0 for pointwise convolutions). */
int64_t kc_conv_fwd_workspace_floats(const k_conv_shape *s);
int64_t kc_conv_bwd_workspace_floats(const k_conv_shape *s);
void kc_conv_fwd(float *y, const float *x, const float *w, const float *b, const k_conv_shape *s,
                 float *work);
void kc_conv_bwd(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                 const k_conv_shape *s, float *work);

void kc_groupnorm_fwd(float *y, float *rstd, const float *x, int64_t batch, int64_t channels, int64_t groups,
                      int64_t positions);
void kc_groupnorm_bwd(float *dx, const float *dy, const float *y, const float *rstd, int64_t batch,
                      int64_t channels, int64_t groups, int64_t positions);
void kc_layernorm_channels_fwd(float *y, float *rstd, const float *x, int64_t batch, int64_t channels,
                               int64_t positions);
void kc_layernorm_channels_bwd(float *dx, const float *dy, const float *y, const float *rstd, int64_t batch,
                               int64_t channels, int64_t positions);

void kc_bmm_fwd(float *c, const float *a, const float *b, int64_t batch, int64_t m, int64_t n, int64_t k,
                bool ta, bool tb);
void kc_bmm_bwd(float *da, float *db, const float *dc, const float *a, const float *b, int64_t batch,
                int64_t m, int64_t n, int64_t k, bool ta, bool tb);

/* Losses: reduced on the device in double, one value copied back (host sync). */
double kc_vrmse_fwd(const float *pred, const float *target, int64_t B, int64_t C, int64_t S);
void kc_vrmse_bwd(float *dpred, const float *pred, const float *target, int64_t B, int64_t C, int64_t S,
                  double dloss);
double kc_similarity_fwd(const float *z, int64_t B, int64_t D);
void kc_similarity_bwd(float *dz, const float *z, int64_t B, int64_t D, double dloss);

#ifdef __cplusplus
}
#endif

#endif
