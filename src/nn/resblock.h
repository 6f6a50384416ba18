/* The reference's DCAE ResBlock (lola/nn/dcae.py):
 *
 *   y = x + ffn(attn(norm(x)))
 *   norm  LayerNorm over channels (unbiased variance, buffer "<prefix>.norm.eps")
 *         or GroupNorm(min(16, C), C, affine=False);
 *   attn  identity, or Residual(SelfAttentionNd(C, heads)) ("<prefix>.attn.0.*"),
 *         in which case the FFN convs have kernel 1 (the reference updates its
 *         conv kwargs to kernel_size=1, padding=0);
 *   ffn   ConvNd(C, f·C) → SiLU → Dropout (when configured) → ConvNd(f·C, C)
 *         ("<prefix>.ffn.0.*", "<prefix>.ffn.3.*"), the last conv's weight
 *         scaled by 1e-2 at init.
 *
 * Buffers (state_dict entries that are no parameters: the LayerNorm's eps) go
 * to a second registry, which the optimiser never touches. */
#ifndef LOLA_NN_RESBLOCK_H
#define LOLA_NN_RESBLOCK_H

#include "conv_module.h"
#include "dcae_pass.h"
#include "self_attention_nd.h"

typedef enum { RESBLOCK_LAYER_NORM, RESBLOCK_GROUP_NORM } resblock_norm;

enum { RESBLOCK_GROUPS = 16 }; /* the reference's default `groups` */

typedef struct {
  int64_t channels;
  int dims;
  int kernel[3];
  bool circular;
  resblock_norm norm;
  int attention_heads; /* 0: no attention */
  int ffn_factor;
  float dropout; /* 0: none */
} resblock_config;

typedef struct {
  resblock_config cfg;
  int eps_buffer; /* index in the buffer registry, -1 with group norm */
  int64_t groups;
  bool has_attn;
  self_attention_nd attn;
  conv_module ffn_in, ffn_out;
  uint64_t layer_id; /* this block's dropout stream */
  /* Saved by the forward. */
  int64_t batch;
  dcae_grid grid;
  float *y_norm, *rstd, *y_attn, *h, *s; /* s: SiLU(h), dropped out in place in training */
  bool dropped;                          /* whether the forward applied the dropout */
} resblock;

/* Parse "layer" / "group"; -1 when unknown. */
int resblock_norm_from_name(const char *name);

void resblock_declare(resblock *m, param_registry *params, param_registry *buffers, const char *prefix,
                      const resblock_config *cfg);
/* Parameters as torch initialises them; the eps buffer to 1e-5. */
void resblock_init(const resblock *m, param_registry *params, param_registry *buffers, rng_key key);

size_t resblock_activation_bytes(const resblock_config *cfg, int64_t batch, const dcae_grid *in, bool train);
size_t resblock_scratch_bytes(const resblock_config *cfg, int64_t batch, const dcae_grid *in);

/* Returns y (B, C, *grid) allocated in p->act; x must stay valid until the backward. */
float *resblock_forward(resblock *m, const param_registry *r, const dcae_pass *p, const float *x,
                        int64_t batch, const dcae_grid *grid);
/* dx (overwritten, must not alias dy; NULL: not needed); parameter gradients accumulate. */
void resblock_backward(resblock *m, param_registry *r, const dcae_pass *p, float *dx, const float *dy);

#endif
