/* The reference's masked surrogate (lola/surrogate.py: get_surrogate,
 * MaskedSurrogate): a ViT backbone with in = out = cond = `channels`,
 *
 *   y = backbone(x·mask, emb, cond = mask),   emb = label_embedding(label)
 *
 * where label_embedding is Linear(label_features, emb)–SiLU–Linear(emb, emb)
 * when label_features > 0 (the backbone is then modulated by emb_features
 * features), and absent otherwise. The mask (B, C, *shape) holds 0 or 1 (the
 * reference's boolean context mask, expanded to x's shape). State dict:
 * "backbone.*", "label_embedding.0.*", "label_embedding.2.*". */
#ifndef LOLA_SURROGATE_H
#define LOLA_SURROGATE_H

#include <stddef.h>
#include <stdint.h>

#include "nn/mlp.h"
#include "vit.h"

typedef struct {
  int64_t channels, emb_features, label_features;
  /* the architecture (hid_channels, hid_blocks, heads, ...); channel and
   * modulation counts are set from the fields above */
  vit_config arch;
} surrogate_config;

typedef struct {
  surrogate_config cfg;
  vit backbone;
  mlp label_embedding; /* when label_features > 0 */
  /* saved by forward */
  int64_t batch, numel;
  const float *mask;
  float *xm, *emb;
} surrogate;

void surrogate_declare(surrogate *m, param_registry *params, param_registry *buffers,
                       const surrogate_config *cfg);
void surrogate_init(const surrogate *m, param_registry *params, param_registry *buffers, rng_key key);
void surrogate_free(surrogate *m);
size_t surrogate_activation_bytes(const surrogate *m, int64_t batch, const int64_t *shape);
/* y (B, C, *shape) from x and mask (B, C, *shape) and label (B, label_features)
 * (NULL without labels). Inputs must stay valid until the backward. */
void surrogate_forward(surrogate *m, const param_registry *params, const param_registry *buffers, arena *act,
                       float *y, const float *x, const float *mask, const float *label, int64_t batch,
                       const int64_t *shape, const nn_mode *mode);
/* dx overwritten (may be NULL); parameter gradients accumulated. The mask and
 * the label are data: no gradient. */
void surrogate_backward(surrogate *m, param_registry *params, arena *act, float *dx, const float *dy);

#endif
