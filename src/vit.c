/* The modulated ViT: patchify, projections, positional embedding, blocks. */
#include "vit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/elementwise.h"
#include "../kernels/embedding.h"
#include "../kernels/rope.h"
#include "../kernels/shuffle.h"
#include "../kernels/vector.h"
#include "error.h"
#include "nn/act.h"

static void join(char *out, size_t size, const char *prefix, const char *name) {
  int len = snprintf(out, size, "%s%s%s", prefix, prefix[0] ? "." : "", name);
  if (len < 0 || (size_t)len >= size)
    lola_die(LOLA_EXIT_RUNTIME, "parameter name '%s.%s' is too long", prefix, name);
}

void vit_declare(vit *m, param_registry *params, param_registry *buffers, const char *prefix,
                 const vit_config *cfg) {
  const vit_config *c = cfg;
  if (c->spatial < 1 || c->spatial > VIT_MAX_SPATIAL)
    lola_die(LOLA_EXIT_DECK, "%s: spatial = %d (1 to %d supported)", prefix, c->spatial, VIT_MAX_SPATIAL);
  if (c->hid_channels <= 0 || c->hid_channels % 2 || c->hid_blocks < 0 || c->ffn_factor <= 0 ||
      c->in_channels <= 0 || c->out_channels <= 0 || c->cond_channels < 0 || c->mod_features < 0)
    lola_die(LOLA_EXIT_DECK,
             "%s: bad sizes (hid_channels %lld must be even and positive, ffn_factor %lld, in %lld, "
             "out %lld, cond %lld, mod %lld)",
             prefix, (long long)c->hid_channels, (long long)c->ffn_factor, (long long)c->in_channels,
             (long long)c->out_channels, (long long)c->cond_channels, (long long)c->mod_features);
  if (c->rope && (c->hid_channels / c->attention_heads) % 2)
    lola_die(LOLA_EXIT_DECK, "%s: RoPE needs an even head size (hid_channels %lld / attention_heads %lld)",
             prefix, (long long)c->hid_channels, (long long)c->attention_heads);
  int64_t pp = 1;
  for (int d = 0; d < c->spatial; d++) {
    if (c->patch[d] < 1)
      lola_die(LOLA_EXIT_DECK, "%s: patch_size[%d] = %d must be >= 1", prefix, d, c->patch[d]);
    if (c->window[d] < 0)
      lola_die(LOLA_EXIT_DECK, "%s: window_size[%d] = %d must be >= 0", prefix, d, c->window[d]);
    pp *= c->patch[d];
  }
  m->cfg = *c;
  char name[PARAM_NAME_MAX];
  int64_t C = c->hid_channels;
  join(name, sizeof name, prefix, "in_proj");
  linear_declare(&m->in_proj, params, name, pp * (c->in_channels + c->cond_channels), C, true);
  join(name, sizeof name, prefix, "out_proj");
  linear_declare(&m->out_proj, params, name, C, pp * c->out_channels, true);
  join(name, sizeof name, prefix, "positional_embedding.0.freqs");
  m->freqs = params_add(buffers, name, 1, (int64_t[]){C / 2});
  join(name, sizeof name, prefix, "positional_embedding.2");
  linear_declare(&m->pos_proj, params, name, c->spatial * C, C, true);
  m->blocks = lola_calloc((size_t)(c->hid_blocks > 0 ? c->hid_blocks : 1), sizeof *m->blocks, "ViT blocks");
  m->xs = lola_calloc((size_t)c->hid_blocks + 1, sizeof *m->xs, "ViT block inputs");
  vit_block_config bc = {.channels = C,
                         .mod_features = c->mod_features,
                         .ffn_factor = c->ffn_factor,
                         .heads = c->attention_heads,
                         .spatial = c->spatial,
                         .qk_norm = c->qk_norm,
                         .rope = c->rope,
                         .dropout = c->dropout};
  for (int64_t i = 0; i < c->hid_blocks; i++) {
    char block[PARAM_NAME_MAX];
    snprintf(block, sizeof block, "blocks.%lld", (long long)i);
    join(name, sizeof name, prefix, block);
    vit_block_declare(&m->blocks[i], params, name, &bc);
  }
}

void vit_init(const vit *m, param_registry *params, param_registry *buffers, rng_key key) {
  linear_init(&m->in_proj, params, key);
  linear_init(&m->out_proj, params, key);
  linear_init(&m->pos_proj, params, key);
  k_sine_freqs(params_value(buffers, m->freqs), m->cfg.hid_channels, K_SINE_OMEGA);
  for (int64_t i = 0; i < m->cfg.hid_blocks; i++) vit_block_init(&m->blocks[i], params, key);
}

void vit_free(vit *m) {
  free(m->blocks);
  free(m->xs);
  m->blocks = NULL;
  m->xs = NULL;
}

/* Patched grid, token count and full-resolution size; dies when the shape does not tile. */
static int64_t vit_grid(const vit *m, const int64_t *shape, int64_t *grid, int64_t *full) {
  int64_t L = 1, S = 1;
  for (int d = 0; d < m->cfg.spatial; d++) {
    if (shape[d] <= 0 || shape[d] % m->cfg.patch[d])
      lola_die(LOLA_EXIT_DECK, "ViT: extent %lld of axis %d is not a positive multiple of the patch size %d",
               (long long)shape[d], d, m->cfg.patch[d]);
    grid[d] = shape[d] / m->cfg.patch[d];
    L *= grid[d];
    S *= shape[d];
  }
  *full = S;
  return L;
}

static bool vit_windowed(const vit *m) {
  for (int d = 0; d < m->cfg.spatial; d++)
    if (m->cfg.window[d] > 0) return true;
  return false;
}

size_t vit_activation_bytes(const vit *m, int64_t batch, const int64_t *shape) {
  const vit_config *c = &m->cfg;
  int64_t grid[VIT_MAX_SPATIAL], S, L = vit_grid(m, shape, grid, &S), C = c->hid_channels, n = batch * L * C;
  int64_t ctot = c->in_channels + c->cond_channels;
  size_t bytes = 0;
  if (c->cond_channels > 0) bytes += act_bytes(batch * ctot * S);
  bytes += act_bytes(batch * ctot * S);                                                  /* patches */
  bytes += 2 * act_bytes(n);                                                             /* skip, x0 */
  bytes += act_bytes(L * c->spatial) + act_bytes(L * c->spatial * C) + act_bytes(L * C); /* coo, enc, pos */
  if (vit_windowed(m)) bytes += (size_t)(L * L + ARENA_ALIGN);
  size_t scratch = 0; /* the blocks' scratch is released after each pass: one at a time */
  for (int64_t i = 0; i < c->hid_blocks; i++) {
    bytes += act_bytes(n) + vit_block_saved_bytes(&m->blocks[i], batch, L);
    scratch = act_max(scratch, vit_block_scratch_bytes(&m->blocks[i], batch, L));
  }
  bytes += scratch;
  bytes += act_bytes(batch * c->out_channels * S); /* out */
  /* backward: dout, two token gradients, dskip and its part, dmod and its part, dpos, dpatches, dxc */
  bytes += act_bytes(batch * c->out_channels * S) + 4 * act_bytes(n) +
           2 * act_bytes(batch * c->mod_features) + act_bytes(L * C) + 2 * act_bytes(batch * ctot * S);
  return bytes;
}

static k_patch_shape vit_patch_shape(const vit *m, int64_t batch, int64_t channels, const int64_t *shape) {
  k_patch_shape s = {.batch = batch, .channels = channels, .dims = m->cfg.spatial, .channel_last = true};
  for (int d = 0; d < m->cfg.spatial; d++) {
    s.in[d] = shape[d];
    s.patch[d] = m->cfg.patch[d];
  }
  return s;
}

void vit_forward(vit *m, const param_registry *params, const param_registry *buffers, arena *act, float *y,
                 const float *x, const float *mod, const float *cond, int64_t batch, const int64_t *shape,
                 const nn_mode *mode) {
  const vit_config *c = &m->cfg;
  int N = c->spatial;
  int64_t S, L = vit_grid(m, shape, m->grid, &S), C = c->hid_channels, n = batch * L * C;
  int64_t ctot = c->in_channels + c->cond_channels;
  m->batch = batch;
  m->tokens = L;
  m->mod = mod;
  memcpy(m->shape, shape, sizeof *shape * (size_t)N);
  if (c->mod_features > 0 && !mod)
    lola_die(LOLA_EXIT_RUNTIME, "ViT: %lld modulation features but no modulation vector",
             (long long)c->mod_features);
  m->has_cond = c->cond_channels > 0;
  if (m->has_cond) {
    if (!cond)
      lola_die(LOLA_EXIT_RUNTIME, "ViT: %lld condition channels but no condition",
               (long long)c->cond_channels);
    m->xc = arena_floats(act, batch * ctot * S);
    k_concat_fwd(m->xc, x, cond, batch, c->in_channels * S, c->cond_channels * S);
  } else {
    m->xc = (float *)x;
  }
  m->patches = arena_floats(act, batch * ctot * S);
  k_patch_shape ps = vit_patch_shape(m, batch, ctot, shape);
  k_patchify_fwd(m->patches, m->xc, &ps);
  m->skip = arena_floats(act, n);
  linear_forward(&m->in_proj, params, m->skip, m->patches, batch * L);

  m->coo = arena_floats(act, L * N);
  k_grid_coords(m->coo, N, m->grid);
  m->enc = arena_floats(act, L * N * C);
  k_sine_encoding_fwd(m->enc, m->coo, params_value(buffers, m->freqs), L * N, C);
  m->pos = arena_floats(act, L * C);
  linear_forward(&m->pos_proj, params, m->pos, m->enc, L);
  m->has_mask = vit_windowed(m);
  m->mask = NULL;
  if (m->has_mask) {
    m->mask = arena_alloc(act, (size_t)(L * L));
    k_window_mask(m->mask, N, m->grid, c->window);
  }

  m->xs[0] = arena_floats(act, n);
  k_add_row(m->xs[0], m->skip, m->pos, batch, L * C); /* x = skip + pos, broadcast over the batch */
  for (int64_t i = 0; i < c->hid_blocks; i++) {
    m->xs[i + 1] = arena_floats(act, n);
    vit_block_forward(&m->blocks[i], params, act, m->xs[i + 1], m->xs[i], mod, m->coo, m->mask, m->skip,
                      batch, L, mode, (uint64_t)i);
  }
  m->out = arena_floats(act, batch * c->out_channels * S);
  linear_forward(&m->out_proj, params, m->out, m->xs[c->hid_blocks], batch * L);
  k_patch_shape us = vit_patch_shape(m, batch, c->out_channels, shape);
  k_unpatchify_fwd(y, m->out, &us);
}

void vit_backward(vit *m, param_registry *params, arena *act, float *dx, float *dmod, float *dcond,
                  const float *dy) {
  const vit_config *c = &m->cfg;
  int64_t B = m->batch, L = m->tokens, C = c->hid_channels, n = B * L * C, D = c->mod_features;
  int64_t S = 1, ctot = c->in_channels + c->cond_channels;
  for (int d = 0; d < c->spatial; d++) S *= m->shape[d];
  size_t mark = act_mark(act);
  float *dout = arena_floats(act, B * c->out_channels * S);
  float *dcur = arena_floats(act, n), *dprev = arena_floats(act, n);
  float *dskip = arena_floats(act, n), *dskip_part = arena_floats(act, n);
  float *dmod_sum = D > 0 ? arena_floats(act, B * D) : NULL,
        *dmod_part = D > 0 ? arena_floats(act, B * D) : NULL;
  float *dpos = arena_floats(act, L * C);
  k_patch_shape us = vit_patch_shape(m, B, c->out_channels, m->shape);
  k_unpatchify_bwd(dout, dy, &us);
  linear_backward(&m->out_proj, params, dcur, dout, m->xs[c->hid_blocks], B * L);
  k_fill(dskip, 0.0f, n);
  if (dmod_sum) k_fill(dmod_sum, 0.0f, B * D);
  for (int64_t i = c->hid_blocks - 1; i >= 0; i--) {
    vit_block_backward(&m->blocks[i], params, act, dprev, dskip_part, dmod_part, dcur);
    params_grads_final(params, m->blocks[i].first_param, m->blocks[i].end_param); /* start its all-reduce */
    k_add(dskip, dskip_part, n);
    if (dmod_sum) k_add(dmod_sum, dmod_part, B * D);
    float *t = dcur;
    dcur = dprev, dprev = t;
  }
  /* x0 = skip + pos: pos gets the batch sum, skip (in_proj's output) both paths */
  k_sum_rows(dpos, dcur, B, L * C);
  linear_backward(&m->pos_proj, params, NULL, dpos, m->enc, L);
  k_add(dskip, dcur, n);
  if (dmod && dmod_sum)
    k_copy(dmod, dmod_sum, B * D);
  else if (dmod)
    k_fill(dmod, 0.0f, B * D);
  if (dx || (dcond && m->has_cond)) {
    float *dpatches = arena_floats(act, B * ctot * S);
    linear_backward(&m->in_proj, params, dpatches, dskip, m->patches, B * L);
    k_patch_shape ps = vit_patch_shape(m, B, ctot, m->shape);
    if (m->has_cond) {
      float *dxc = arena_floats(act, B * ctot * S);
      k_patchify_bwd(dxc, dpatches, &ps);
      k_concat_bwd(dx, dcond, dxc, B, c->in_channels * S, c->cond_channels * S);
    } else {
      k_patchify_bwd(dx, dpatches, &ps);
    }
  } else {
    linear_backward(&m->in_proj, params, NULL, dskip, m->patches, B * L);
  }
  act_release(act, mark);
}
