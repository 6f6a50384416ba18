/* An independent double-precision ViT, written as plain loops straight from
 * the reference's PyTorch code (lola/nn/vit.py, attention.py, embedding.py,
 * surrogate.py, diffusion.py), for checking the float modules' forward passes
 * and, through central finite differences, their backward passes.
 *
 * Parameters are read from a double array laid out as the registry's values
 * (the same offsets), found by their state_dict names, so a test can
 * differentiate with respect to any of them. */
#ifndef LOLA_TEST_VIT_REFERENCE_H
#define LOLA_TEST_VIT_REFERENCE_H

#include <stdbool.h>
#include <stdint.h>

#include "../../src/nn/mode.h"
#include "../../src/tensor.h"

typedef struct {
  int64_t batch, in_channels, out_channels, cond_channels, mod_features;
  int64_t channels, blocks, heads, ffn_factor;
  int spatial;
  int64_t shape[4]; /* full-resolution extents */
  int patch[4];
  int window[4]; /* 0: global attention */
  bool qk_norm, rope;
  const char *prefix; /* of the backbone's parameter names; NULL: none */
  /* training-mode FFN dropout: the keep mask of block i is taken from the
   * dropout kernel applied to ones with the block's site key */
  float dropout;
  const nn_mode *mode;
} ref_vit_cfg;

/* A parameter's doubles in P, by name (dies when absent). */
const double *ref_param(const param_registry *names, const double *P, const char *fmt, ...);

/* ViT.forward(x, mod, cond): x (B, Ci, *shape), mod (B, D) or NULL, cond (B, Cc, *shape) or NULL,
 * y (B, Co, *shape). */
void ref_vit_forward(const ref_vit_cfg *c, const param_registry *names, const double *P, const double *x,
                     const double *mod, const double *cond, double *y);

/* Linear–SiLU–Linear "<prefix>.<first>/.<first+2>": y (rows, out) from x (rows, in). */
void ref_mlp(const param_registry *names, const double *P, const char *prefix, int first, const double *x,
             int64_t rows, int64_t in, int64_t hidden, int64_t out, double *y);

/* SineEncoding: e (n, D) from x (n), with the float32 freqs the module stores. */
void ref_sine(const double *x, int64_t n, int64_t features, double *e);

/* Test parameters: U(-1, 1) everywhere (so that every path carries gradient), padding 0. */
void ref_fill_params(param_registry *r, unsigned seed);
/* Every parameter's gradient against finite differences `fd` (laid out as the
 * registry); prints the names of those off by more than atol + rtol·|fd|. */
bool ref_check_param_grads(const param_registry *r, const double *fd, double atol, double rtol);

#endif
