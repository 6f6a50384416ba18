/* The deep-compression encoder and decoder of the reference (lola/nn/dcae.py,
 * DCEncoder / DCDecoder; Chen et al. 2024), for 1 to 3 spatial dims.
 *
 * Encoder "<prefix>.descent.<i>.<j>": Patchify(patch_size), then per level i
 *   j = 0     i = 0: ConvNd(prod(patch)·C_in → hid[0]);
 *             i > 0: Patchify(stride) + ConvNd(hid[i-1]·prod(stride) → hid[i])
 *                    (".0.1"), or a strided ConvNd (".0") without pixel shuffle,
 *                    both with identity_init;
 *   j = 1..n  ResBlocks of hid[i] channels (attention_heads[i] heads or none);
 *   last      at the deepest level, ConvNd(hid[L-1] → C_out), identity_init.
 * Decoder "<prefix>.ascent.<k>.<j>", k = L-1-i for i = L-1 .. 0:
 *   j = 0     at the deepest level, ConvNd(C_in → hid[L-1]), identity_init;
 *   then      ResBlocks;
 *   last      i > 0: ConvNd(hid[i] → hid[i-1]·prod(stride)) + Unpatchify(stride)
 *                    (".0"), or Upsample(nearest) + ConvNd(hid[i] → hid[i-1])
 *                    (".1"), both with identity_init;
 *             i = 0: ConvNd(hid[0] → prod(patch)·C_out);
 *   then Unpatchify(patch_size).
 * Every conv has kernel `kernel`, padding kernel//2, zeros or circular. */
#ifndef LOLA_DCAE_H
#define LOLA_DCAE_H

#include <stdbool.h>
#include <stdint.h>

#include "nn/conv_module.h"
#include "nn/dcae_pass.h"
#include "nn/resblock.h"

enum { DCAE_MAX_LEVELS = 8, DCAE_MAX_BLOCKS = 32 };

typedef struct {
  int spatial; /* spatial dims, 1..3 */
  int64_t in_channels, out_channels;
  int levels;
  int64_t hid_channels[DCAE_MAX_LEVELS];
  int hid_blocks[DCAE_MAX_LEVELS];
  int attention_heads[DCAE_MAX_LEVELS]; /* 0: no attention at that level */
  int kernel[3];                        /* per spatial dim, odd */
  int stride[3];                        /* down/upsampling factor per dim */
  int patch[3];                         /* patch_size per dim (1: none) */
  bool pixel_shuffle;
  resblock_norm norm;
  int ffn_factor;
  float dropout; /* 0: none */
  bool periodic; /* circular padding */
  bool identity_init;
} dcae_config;

/* The reference's defaults: hid (64, 128, 256), blocks (3, 3, 3), kernel 3,
 * stride 2, pixel shuffle, layer norm, no attention, ffn 1, patch 1, no
 * dropout, zero padding, identity_init. */
dcae_config dcae_config_default(int spatial, int64_t in_channels, int64_t out_channels);

typedef enum { DCAE_CONV, DCAE_RESBLOCK, DCAE_PATCH, DCAE_UNPATCH, DCAE_UPSAMPLE } dcae_layer_kind;

typedef struct {
  dcae_layer_kind kind;
  conv_module conv;
  resblock block;
  int factor[3]; /* patch, unpatch or upsampling extents */
  /* Saved by the forward. */
  int64_t cin;
  dcae_grid in;
} dcae_layer;

/* An encoder or a decoder: its layers in the order they run. */
typedef struct {
  dcae_config cfg;
  int count;
  dcae_layer *layers;
  int64_t batch; /* of the last forward; 0 when no backward may follow */
  int64_t in_channels;
  dcae_grid in;
} dcae_stack;

void dcae_encoder_declare(dcae_stack *m, param_registry *params, param_registry *buffers, const char *prefix,
                          const dcae_config *cfg);
void dcae_decoder_declare(dcae_stack *m, param_registry *params, param_registry *buffers, const char *prefix,
                          const dcae_config *cfg);
/* Parameter and buffer counts of an encoder + decoder pair (registry capacities). */
int dcae_param_count(const dcae_config *cfg);
void dcae_init(const dcae_stack *m, param_registry *params, param_registry *buffers, rng_key key);
void dcae_free(dcae_stack *m);

/* Output channels and grid for an input grid; dies naming the level when an
 * extent does not divide by the patch or the stride. */
int64_t dcae_out_shape(const dcae_stack *m, const dcae_grid *in, dcae_grid *out);
size_t dcae_activation_bytes(const dcae_stack *m, int64_t batch, const dcae_grid *in, bool train);
size_t dcae_scratch_bytes(const dcae_stack *m, int64_t batch, const dcae_grid *in);
/* Activation bytes of a forward with p->inference: two buffers of the largest
 * tensor plus the largest single layer, instead of every layer's activations. */
size_t dcae_inference_bytes(const dcae_stack *m, int64_t batch, const dcae_grid *in);

/* y allocated in p->act; x must stay valid until the backward. With
 * p->inference each layer's activations are released once its output is
 * copied on, and no backward may follow. */
float *dcae_forward(dcae_stack *m, const param_registry *r, const dcae_pass *p, const float *x, int64_t batch,
                    const dcae_grid *in);
/* dx (overwritten; NULL: not needed, must not alias dy); parameter gradients accumulate. */
void dcae_backward(dcae_stack *m, param_registry *r, const dcae_pass *p, float *dx, const float *dy);

#endif
