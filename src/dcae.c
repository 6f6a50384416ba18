/* The DCAE encoder and decoder layouts and their state_dict names (src/dcae.h). */
#include "dcae.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

dcae_config dcae_config_default(int spatial, int64_t in_channels, int64_t out_channels) {
  dcae_config c = {.spatial = spatial,
                   .in_channels = in_channels,
                   .out_channels = out_channels,
                   .levels = 3,
                   .hid_channels = {64, 128, 256},
                   .hid_blocks = {3, 3, 3},
                   .pixel_shuffle = true,
                   .norm = RESBLOCK_LAYER_NORM,
                   .ffn_factor = 1,
                   .identity_init = true};
  for (int d = 0; d < 3; d++) {
    c.kernel[d] = d < spatial ? 3 : 1;
    c.stride[d] = d < spatial ? 2 : 1;
    c.patch[d] = 1;
  }
  return c;
}

static void check_config(const dcae_config *c, const char *prefix) {
  if (c->spatial < 1 || c->spatial > 3)
    lola_die(LOLA_EXIT_RUNTIME, "DCAE '%s': %d spatial dims (1 to 3 supported)", prefix, c->spatial);
  if (c->levels < 1 || c->levels > DCAE_MAX_LEVELS)
    lola_die(LOLA_EXIT_RUNTIME, "DCAE '%s': %d levels (1 to %d supported)", prefix, c->levels,
             DCAE_MAX_LEVELS);
  for (int i = 0; i < c->levels; i++)
    if (c->hid_channels[i] < 1 || c->hid_blocks[i] < 0 || c->hid_blocks[i] > DCAE_MAX_BLOCKS ||
        c->attention_heads[i] < 0)
      lola_die(LOLA_EXIT_RUNTIME, "DCAE '%s': level %d has %lld channels, %d blocks, %d heads", prefix, i,
               (long long)c->hid_channels[i], c->hid_blocks[i], c->attention_heads[i]);
  for (int d = 0; d < c->spatial; d++)
    if (c->kernel[d] < 1 || c->kernel[d] % 2 == 0 || c->stride[d] < 1 || c->patch[d] < 1)
      lola_die(LOLA_EXIT_RUNTIME, "DCAE '%s': kernel %d, stride %d, patch %d along dim %d (odd kernel, >= 1)",
               prefix, c->kernel[d], c->stride[d], c->patch[d], d);
}

static int prod3(const int *v, int dims) {
  int p = 1;
  for (int d = 0; d < dims; d++) p *= v[d];
  return p;
}

static bool has_patch(const dcae_config *c) { return prod3(c->patch, c->spatial) > 1; }

int dcae_param_count(const dcae_config *c) {
  int n = 0;
  for (int i = 0; i < c->levels; i++)
    n += 2 * 2 + c->hid_blocks[i] * (4 + (c->attention_heads[i] > 0 ? 4 : 0));
  return n + 2 * 2 * 2 + 8; /* first and last convs of both halves, and a margin */
}

static dcae_layer *add_layer(dcae_stack *m, dcae_layer_kind kind) {
  int capacity = 2 * (m->cfg.levels * (DCAE_MAX_BLOCKS + 4) + 2);
  if (m->count == capacity) lola_die(LOLA_EXIT_RUNTIME, "DCAE: more than %d layers", capacity);
  dcae_layer *l = &m->layers[m->count++];
  memset(l, 0, sizeof *l);
  l->kind = kind;
  return l;
}

static void add_conv(dcae_stack *m, param_registry *params, const char *name, int64_t cin, int64_t cout,
                     int stride, bool identity) {
  const dcae_config *c = &m->cfg;
  conv_module_config k = conv_module_cube(c->spatial, cin, cout, 1, 1, c->periodic, identity);
  for (int d = 0; d < c->spatial; d++) {
    k.kernel[d] = c->kernel[d];
    k.stride[d] = stride ? c->stride[d] : 1;
  }
  conv_module_declare(&add_layer(m, DCAE_CONV)->conv, params, name, &k);
}

static void add_shuffle(dcae_stack *m, dcae_layer_kind kind, const int *factor) {
  dcae_layer *l = add_layer(m, kind);
  for (int d = 0; d < 3; d++) l->factor[d] = d < m->cfg.spatial ? factor[d] : 1;
}

static void add_blocks(dcae_stack *m, param_registry *params, param_registry *buffers,
                       const char *level_prefix, int level, int first_index) {
  const dcae_config *c = &m->cfg;
  resblock_config b = {.channels = c->hid_channels[level],
                       .dims = c->spatial,
                       .circular = c->periodic,
                       .norm = c->norm,
                       .attention_heads = c->attention_heads[level],
                       .ffn_factor = c->ffn_factor,
                       .dropout = c->dropout};
  for (int d = 0; d < 3; d++) b.kernel[d] = d < c->spatial ? c->kernel[d] : 1;
  for (int j = 0; j < c->hid_blocks[level]; j++) {
    char name[PARAM_NAME_MAX];
    snprintf(name, sizeof name, "%s.%d", level_prefix, first_index + j);
    resblock_declare(&add_layer(m, DCAE_RESBLOCK)->block, params, buffers, name, &b);
  }
}

static void begin(dcae_stack *m, const char *prefix, const dcae_config *cfg) {
  check_config(cfg, prefix);
  memset(m, 0, sizeof *m);
  m->cfg = *cfg;
  m->layers =
      lola_calloc((size_t)(2 * (cfg->levels * (DCAE_MAX_BLOCKS + 4) + 2)), sizeof *m->layers, "DCAE layers");
}

void dcae_encoder_declare(dcae_stack *m, param_registry *params, param_registry *buffers, const char *prefix,
                          const dcae_config *cfg) {
  begin(m, prefix, cfg);
  const dcae_config *c = &m->cfg;
  if (has_patch(c)) add_shuffle(m, DCAE_PATCH, c->patch);
  char level[PARAM_NAME_MAX], name[PARAM_NAME_MAX + 32]; /* params_add rejects overlong names */
  for (int i = 0; i < c->levels; i++) {
    snprintf(level, sizeof level, "%s.descent.%d", prefix, i);
    if (i == 0) {
      snprintf(name, sizeof name, "%s.0", level);
      add_conv(m, params, name, prod3(c->patch, c->spatial) * c->in_channels, c->hid_channels[0], 0, false);
    } else if (c->pixel_shuffle) {
      add_shuffle(m, DCAE_PATCH, c->stride);
      snprintf(name, sizeof name, "%s.0.1", level);
      add_conv(m, params, name, c->hid_channels[i - 1] * prod3(c->stride, c->spatial), c->hid_channels[i], 0,
               c->identity_init);
    } else {
      snprintf(name, sizeof name, "%s.0", level);
      add_conv(m, params, name, c->hid_channels[i - 1], c->hid_channels[i], 1, c->identity_init);
    }
    add_blocks(m, params, buffers, level, i, 1);
    if (i + 1 == c->levels) {
      snprintf(name, sizeof name, "%s.%d", level, c->hid_blocks[i] + 1);
      add_conv(m, params, name, c->hid_channels[i], c->out_channels, 0, c->identity_init);
    }
  }
}

void dcae_decoder_declare(dcae_stack *m, param_registry *params, param_registry *buffers, const char *prefix,
                          const dcae_config *cfg) {
  begin(m, prefix, cfg);
  const dcae_config *c = &m->cfg;
  char level[PARAM_NAME_MAX], name[PARAM_NAME_MAX + 32]; /* params_add rejects overlong names */
  for (int k = 0; k < c->levels; k++) {
    int i = c->levels - 1 - k, j = 0;
    snprintf(level, sizeof level, "%s.ascent.%d", prefix, k);
    if (i + 1 == c->levels) {
      snprintf(name, sizeof name, "%s.0", level);
      add_conv(m, params, name, c->in_channels, c->hid_channels[i], 0, c->identity_init);
      j = 1;
    }
    add_blocks(m, params, buffers, level, i, j);
    j += c->hid_blocks[i];
    if (i > 0 && c->pixel_shuffle) {
      snprintf(name, sizeof name, "%s.%d.0", level, j);
      add_conv(m, params, name, c->hid_channels[i], c->hid_channels[i - 1] * prod3(c->stride, c->spatial), 0,
               c->identity_init);
      add_shuffle(m, DCAE_UNPATCH, c->stride);
    } else if (i > 0) {
      add_shuffle(m, DCAE_UPSAMPLE, c->stride);
      snprintf(name, sizeof name, "%s.%d.1", level, j);
      add_conv(m, params, name, c->hid_channels[i], c->hid_channels[i - 1], 0, c->identity_init);
    } else {
      snprintf(name, sizeof name, "%s.%d", level, j);
      add_conv(m, params, name, c->hid_channels[0], prod3(c->patch, c->spatial) * c->out_channels, 0, false);
    }
  }
  if (has_patch(c)) add_shuffle(m, DCAE_UNPATCH, c->patch);
}

void dcae_init(const dcae_stack *m, param_registry *params, param_registry *buffers, rng_key key) {
  for (int i = 0; i < m->count; i++) {
    const dcae_layer *l = &m->layers[i];
    if (l->kind == DCAE_CONV) conv_module_init(&l->conv, params, key);
    if (l->kind == DCAE_RESBLOCK) resblock_init(&l->block, params, buffers, key);
  }
}

void dcae_free(dcae_stack *m) {
  free(m->layers);
  m->layers = NULL;
  m->count = 0;
}
