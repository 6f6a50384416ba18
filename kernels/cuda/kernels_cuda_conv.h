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

/* Convolution in the precision of kc_get_precision: cuDNN (loaded at run
 * time) where it takes the shape, else im2col over chunks of samples and
 * cuBLAS GEMMs. `work` is device memory of kc_conv_*_workspace_floats floats
 * (the GPU's own sizing: for im2col a chunk of samples' column matrices, at
 * most 256 MiB or one sample, whichever is larger, 0 for pointwise
 * convolutions; for cuDNN at least 16 MiB of scratch, and in bf16 the bf16
 * copies of the operands). Set the precision and the engine before sizing. */
typedef enum { KC_CONV_AUTO, KC_CONV_CUDNN, KC_CONV_IM2COL } kc_conv_engine;
/* auto: cuDNN when it loads and takes the shape (not circular padding);
 * cudnn: the same, but dies when the library does not load; im2col: never cuDNN. */
void kc_set_conv_engine(kc_conv_engine e);
/* "cuDNN 9.19.0", or why convolutions use im2col (loads the library, needs no device). */
const char *kc_cudnn_status(void);
/* Whether the library loaded (and has not failed to start since). */
bool kc_cudnn_loads(void);
/* Whether a convolution of this shape goes through cuDNN now (engine, precision). */
bool kc_conv_uses_cudnn(const k_conv_shape *s);
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
