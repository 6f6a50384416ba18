/* The reference's SelfAttentionNd (lola/nn/layers.py): torch.nn.MultiheadAttention
 * (batch_first, bias, no dropout) applied to the positions of a channel-first
 * (B, C, *spatial) tensor as tokens:
 *
 *   t = (B, N, C) tokens;  [q | k | v] = t·in_proj_weightᵀ + in_proj_bias, the
 *   3C features split as (3, heads, C/heads);  o = softmax(q·kᵀ/√(C/heads))·v per
 *   head;  y = o·out_proj.weightᵀ + out_proj.bias, back to (B, C, *spatial).
 *
 * Parameters: "<prefix>.in_proj_weight" (3C, C), "<prefix>.in_proj_bias" (3C),
 * "<prefix>.out_proj.weight" (C, C), "<prefix>.out_proj.bias" (C). The
 * attention is the engine's fused one (kernels/attention.h, online softmax,
 * no (N, N) scores kept), so every array may live on a device; the
 * projections are k_linear, the layout changes k_to_tokens / k_to_channels and
 * k_qkv_split. */
#ifndef LOLA_NN_SELF_ATTENTION_ND_H
#define LOLA_NN_SELF_ATTENTION_ND_H

#include "dcae_pass.h"

typedef struct {
  int64_t channels;
  int heads; /* divides channels */
} self_attention_nd_config;

typedef struct {
  self_attention_nd_config cfg;
  int in_w, in_b, out_w, out_b; /* registry indices */
  /* Saved by the forward. */
  int64_t batch, tokens;
  float *tok;       /* (B, N, C) the input as tokens */
  float *q, *k, *v; /* (B, N, H·Dh) queries, keys, values, head h at channels [h·Dh, (h+1)·Dh) */
  float *att;       /* (B, N, C) the heads' outputs, the out_proj input */
  float *lse;       /* (B, H, N) the softmax's log-sum-exp per query */
} self_attention_nd;

void self_attention_nd_declare(self_attention_nd *m, param_registry *r, const char *prefix,
                               const self_attention_nd_config *cfg);
/* torch's MultiheadAttention init: xavier_uniform in_proj_weight, zero biases,
 * out_proj.weight U(±1/√C). */
void self_attention_nd_init(const self_attention_nd *m, param_registry *r, rng_key key);

size_t self_attention_nd_activation_bytes(const self_attention_nd_config *cfg, int64_t batch, int64_t tokens);
size_t self_attention_nd_scratch_bytes(const self_attention_nd_config *cfg, int64_t batch, int64_t tokens);

/* y (B, C, N) allocated in p->act from x (B, C, N), N the number of positions. */
float *self_attention_nd_forward(self_attention_nd *m, const param_registry *r, const dcae_pass *p,
                                 const float *x, int64_t batch, int64_t tokens);
/* dx overwritten (must not alias dy); parameter gradients accumulate. */
void self_attention_nd_backward(const self_attention_nd *m, param_registry *r, const dcae_pass *p, float *dx,
                                const float *dy);

#endif
