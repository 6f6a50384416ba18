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
#include "../optim.h"
#include "../rng.h"
#include "../shuffle.h"
#include "kernels_cuda_conv.h"
#include "kernels_cuda_sampler.h"

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
/* NULL when the device is out of memory (other errors die). */
void *kc_try_malloc(size_t bytes);
void kc_upload(void *dst, const void *src, size_t bytes);
void kc_download(void *dst, const void *src, size_t bytes);
void kc_memset0(void *p, size_t bytes);
/* Page-locked host memory (zeroed), for asynchronous uploads. */
void *kc_host_alloc(size_t bytes);
void kc_host_free(void *p);
/* A second stream for communication (created on first use), and the two
 * orderings between it and the kernels' stream, without host waits. */
void *kc_comm_stream_handle(void);
void kc_comm_wait_compute(void);
void kc_compute_wait_comm(void);

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

/* ---- flat arrays (kernels/vector.h); grid and window are host arrays ---- */
void kc_fill(float *y, float value, int64_t n);
void kc_copy(float *y, const float *x, int64_t n);
void kc_add(float *y, const float *x, int64_t n);
void kc_scal(float *y, float a, int64_t n);
void kc_mul(float *y, const float *x, const float *z, int64_t n);
void kc_diff_rows(float *y, const float *a, const float *x, const float *z, int64_t batch, int64_t n);
void kc_add_row(float *y, const float *x, const float *row, int64_t batch, int64_t n);
void kc_sum_rows(float *y, const float *x, int64_t batch, int64_t n);
void kc_axpby_rows(float *y, const float *a, const float *x, const float *c, const float *z, int64_t batch,
                   int64_t n);
void kc_select(float *y, const float *mask, const float *a, const float *b, int64_t n);
double kc_weighted_sse(const float *p, const float *t, const float *w, int64_t batch, int64_t n);
void kc_window_mask(bool *mask, int dims, const int64_t *grid, const int *window);

/* ---- dropout (the CPU's Philox streams) and per-sample scaling (kernels/elementwise.h) ---- */
void kc_dropout_fwd(float *y, const float *x, int64_t batch, int64_t per_sample, float p, rng_key key,
                    uint64_t first_sample);
void kc_dropout_bwd(float *dx, const float *dy, int64_t batch, int64_t per_sample, float p, rng_key key,
                    uint64_t first_sample);
void kc_scale_fwd(float *y, const float *x, const float *s, int64_t batch, int64_t per_sample);
void kc_scale_bwd(float *dx, float *ds, const float *dy, const float *x, const float *s, int64_t batch,
                  int64_t per_sample);

/* ---- concatenation and layout (kernels/elementwise.h, kernels/shuffle.h; s is a host struct) ---- */
void kc_concat_fwd(float *y, const float *a, const float *b, int64_t outer, int64_t a_len, int64_t b_len);
void kc_concat_bwd(float *da, float *db, const float *dy, int64_t outer, int64_t a_len, int64_t b_len);
void kc_to_tokens_fwd(float *y, const float *x, int64_t B, int64_t C, int64_t S);
void kc_to_tokens_bwd(float *dx, const float *dy, int64_t B, int64_t C, int64_t S);
void kc_to_channels_fwd(float *y, const float *x, int64_t B, int64_t C, int64_t S);
void kc_to_channels_bwd(float *dx, const float *dy, int64_t B, int64_t C, int64_t S);
void kc_patchify_fwd(float *y, const float *x, const k_patch_shape *s);
void kc_patchify_bwd(float *dx, const float *dy, const k_patch_shape *s);
void kc_unpatchify_fwd(float *y, const float *x, const k_patch_shape *s);
void kc_unpatchify_bwd(float *dx, const float *dy, const k_patch_shape *s);

/* ---- sinusoidal encoding (kernels/embedding.h) ---- */
void kc_sine_encoding_fwd(float *y, const float *x, const float *freqs, int64_t n, int64_t features);
void kc_sine_encoding_bwd(float *dx, const float *dy, const float *x, const float *freqs, int64_t n,
                          int64_t features);

/* ---- rotary embedding (kernels/rope.h); shape is a host array ---- */
void kc_grid_coords(float *coo, int dims, const int64_t *shape);
void kc_rope_angles_fwd(float *angles, const float *coo, const float *theta, int64_t tokens, int64_t ndim,
                        int64_t pairs);
void kc_rope_angles_bwd(float *dtheta, const float *dangles, const float *coo, int64_t tokens, int64_t ndim,
                        int64_t pairs);
void kc_rope_fwd(float *y, const float *x, const float *angles, int64_t batch, int64_t tokens,
                 int64_t channels);
void kc_rope_bwd(float *dx, float *dangles, const float *dy, const float *y, const float *angles,
                 int64_t batch, int64_t tokens, int64_t channels);

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
void kc_qkv_split_fwd(float *q, float *k, float *v, const float *qkv, int64_t rows, int64_t channels);
void kc_qkv_split_bwd(float *dqkv, const float *dq, const float *dk, const float *dv, int64_t rows,
                      int64_t channels);

double kc_mse_fwd(const float *pred, const float *target, int64_t n);
void kc_mse_bwd(float *dpred, const float *pred, const float *target, int64_t n, double dloss);
double kc_mae_fwd(const float *pred, const float *target, int64_t n);
void kc_mae_bwd(float *dpred, const float *pred, const float *target, int64_t n, double dloss);

double kc_global_norm(const float *g, int64_t n);
void kc_adamw_update(float *p, const float *g, float *m, float *v, int64_t n, double lr, double beta1,
                     double beta2, double eps, double weight_decay, int64_t step);
void kc_step_guard(const float *g, int64_t n, k_step_state *s);
void kc_step_guard_sum(const float *g, int64_t n, k_step_state *s);
void kc_step_guard_finish(k_step_state *s);
void kc_adamw_guarded(float *p, const float *g, float *m, float *v, int64_t n, const k_step_state *s,
                      double lr, double beta1, double beta2, double eps, double weight_decay,
                      double grad_clip);

void kc_rng_uniform(float *out, int64_t n, rng_key key, uint64_t sample, int64_t first);
void kc_rng_normal(float *out, int64_t n, rng_key key, uint64_t sample, int64_t first);

/* ---- DCAE autoencoder: nearest upsampling, channel RMS norm (kernels/dcae.h, kernels/cuda/dcae.cu);
 * `in` and `factor` are host arrays ---- */
void kc_upsample_nearest_fwd(float *y, const float *x, int64_t rows, int dims, const int64_t *in,
                             const int *factor);
void kc_upsample_nearest_bwd(float *dx, const float *dy, int64_t rows, int dims, const int64_t *in,
                             const int *factor);
void kc_rmsnorm_channels_fwd(float *y, const float *x, int64_t batch, int64_t channels, int64_t positions);
void kc_rmsnorm_channels_bwd(float *dx, const float *dy, const float *x, const float *y, int64_t batch,
                             int64_t channels, int64_t positions);

#ifdef __cplusplus
}
#endif

#endif
