/* Multi-head scaled-dot-product attention over tokens, as
 * torch.nn.functional.scaled_dot_product_attention in the reference's
 * MultiheadSelfAttention (lola/nn/attention.py):
 *
 *   y_h = softmax(q_h·k_hᵀ / sqrt(D) + mask) · v_h       for each head h
 *
 * q, k, v and y are (B, L, H·D) in the token layout, head h occupying
 * channels [h·D, (h+1)·D) (the reference's "... L (H C)"), so y feeds the
 * output projection directly. The optional boolean mask (L, L) is shared by
 * samples and heads; mask[i·L + j] true means query i may attend to key j
 * (torch's boolean attn_mask). A query that may attend to no key gets y = 0
 * and no gradient (torch would give NaN).
 *
 * The queries' and keys' RMS normalisation per head (the reference's qk_norm)
 * is k_rmsnorm over rows of length D of the same arrays (kernels/norm.h), and
 * the rotary embedding is kernels/rope.h; the qkv projection's output
 * (B, L, 3·H·D) is split into q, k, v by k_qkv_split_fwd.
 *
 * Flash-attention style: the forward streams key blocks through an online
 * softmax one (query block × key block) tile at a time and saves only the
 * log-sum-exp per query (lse, (B, H, L)); the backward recomputes the
 * probabilities tile by tile. Memory is the caller's workspace
 * (k_attention_workspace_floats), independent of batch and heads. All of q, k,
 * v are activations: their gradients are overwritten. */
#ifndef LOLA_K_ATTENTION_H
#define LOLA_K_ATTENTION_H

#include <stdbool.h>
#include <stdint.h>

/* Scratch floats for the forward or the backward at the current OpenMP thread count. */
int64_t k_attention_workspace_floats(int64_t tokens, int64_t head_dim);

void k_attention_fwd(float *y, float *lse, const float *q, const float *k, const float *v, const bool *mask,
                     int64_t batch, int64_t tokens, int64_t heads, int64_t head_dim, float *work);
/* dq, dk, dv overwritten; y and lse are the forward's outputs. */
void k_attention_bwd(float *dq, float *dk, float *dv, const float *dy, const float *q, const float *k,
                     const float *v, const float *y, const float *lse, const bool *mask, int64_t batch,
                     int64_t tokens, int64_t heads, int64_t head_dim, float *work);

/* qkv[rows, 3·C] ("(n H C)" with n = q, k, v) → q, k, v [rows, C] each, and back. */
void k_qkv_split_fwd(float *q, float *k, float *v, const float *qkv, int64_t rows, int64_t channels);
void k_qkv_split_bwd(float *dqkv, const float *dq, const float *dk, const float *dv, int64_t rows,
                     int64_t channels);

#endif
