/* The CUDA implementations of the engine's kernels: kc_<op> has exactly the
 * signature and semantics of k_<op> in the kernels/ headers (same layouts, the same
 * overwrite-activation-grads / accumulate-parameter-grads rule), with every
 * array pointer in device memory. They run on one stream per process, in order,
 * and never synchronise the host except where a value is returned (losses,
 * norms). GEMMs follow kc_set_precision: fp32, TF32, or bf16 tensor-core
 * products with fp32 accumulation (fp32 storage either way). */
#ifndef LOLA_KERNELS_CUDA_H
#define LOLA_KERNELS_CUDA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../elementwise.h"
#include "../rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { KC_FP32, KC_TF32, KC_BF16 } kc_precision;

/* On the current device: cuBLAS handle and stream. Dies with the CUDA error. */
void kc_init(void);
void kc_set_precision(kc_precision p);
kc_precision kc_get_precision(void);
void kc_sync(void);
void *kc_malloc(size_t bytes);
void kc_free(void *p);
void kc_upload(void *dst, const void *src, size_t bytes);
void kc_download(void *dst, const void *src, size_t bytes);
void kc_memset0(void *p, size_t bytes);

void kc_linear_fwd(float *y, const float *x, const float *w, const float *b, int64_t rows, int64_t in,
                   int64_t out);
void kc_linear_bwd(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                   int64_t rows, int64_t in, int64_t out);

void kc_silu_fwd(float *y, const float *x, int64_t n);
void kc_silu_bwd(float *dx, const float *dy, const float *x, int64_t n);
void kc_saturate_fwd(float *y, const float *x, int64_t n, k_saturation kind);
void kc_saturate_bwd(float *dx, const float *dy, const float *x, int64_t n, k_saturation kind);
void kc_modulate_fwd(float *y, const float *x, const float *scale, const float *shift, int64_t vstride,
                     int64_t B, int64_t C, int64_t S, k_layout layout);
void kc_modulate_bwd(float *dx, float *dscale, float *dshift, const float *dy, const float *x,
                     const float *scale, int64_t vstride, int64_t B, int64_t C, int64_t S, k_layout layout);
void kc_residual_mix_fwd(float *y, const float *x, const float *r, const float *c, int64_t vstride, int64_t B,
                         int64_t C, int64_t S, k_layout layout);
void kc_residual_mix_bwd(float *dx, float *dr, float *dc, const float *dy, const float *x, const float *r,
                         const float *c, int64_t vstride, int64_t B, int64_t C, int64_t S, k_layout layout);

void kc_layernorm_fwd(float *y, float *rstd, const float *x, int64_t rows, int64_t dim);
void kc_layernorm_bwd(float *dx, const float *dy, const float *y, const float *rstd, int64_t rows,
                      int64_t dim);
void kc_rmsnorm_fwd(float *y, float *rstd, const float *x, int64_t rows, int64_t dim);
void kc_rmsnorm_bwd(float *dx, const float *dy, const float *y, const float *rstd, int64_t rows, int64_t dim);

/* Fused attention: online softmax over key tiles, no tokens² buffer; `work` unused (may be NULL). */
void kc_attention_fwd(float *y, float *lse, const float *q, const float *k, const float *v, const bool *mask,
                      int64_t batch, int64_t tokens, int64_t heads, int64_t head_dim, float *work);
void kc_attention_bwd(float *dq, float *dk, float *dv, const float *dy, const float *q, const float *k,
                      const float *v, const float *y, const float *lse, const bool *mask, int64_t batch,
                      int64_t tokens, int64_t heads, int64_t head_dim, float *work);

double kc_mse_fwd(const float *pred, const float *target, int64_t n);
void kc_mse_bwd(float *dpred, const float *pred, const float *target, int64_t n, double dloss);

double kc_global_norm(const float *g, int64_t n);
void kc_adamw_update(float *p, const float *g, float *m, float *v, int64_t n, double lr, double beta1,
                     double beta2, double eps, double weight_decay, int64_t step);

void kc_rng_uniform(float *out, int64_t n, rng_key key, uint64_t sample, int64_t first);
void kc_rng_normal(float *out, int64_t n, rng_key key, uint64_t sample, int64_t first);

#ifdef __cplusplus
}
#endif

#endif
