/* Shapes, arena sizes, forward and backward of a DCAE encoder or decoder: its
 * layers run in order, their backwards in reverse (src/dcae.h). */
#include "../kernels/shuffle.h"
#include "../kernels/vector.h"
#include "dcae.h"
#include "dcae_upsample.h"
#include "error.h"

static k_patch_shape patch_shape(int dims, int64_t batch, int64_t channels, const dcae_grid *full,
                                 const int *factor) {
  k_patch_shape s = {.batch = batch, .channels = channels, .dims = dims};
  for (int d = 0; d < dims; d++) {
    s.in[d] = full->ext[d];
    s.patch[d] = factor[d];
  }
  return s;
}

/* Output channels and grid of layer l for input (cin, in). */
static int64_t layer_out(const dcae_layer *l, int dims, int64_t cin, const dcae_grid *in, dcae_grid *out) {
  *out = *in;
  int64_t f = 1;
  for (int d = 0; d < dims; d++) f *= l->factor[d];
  switch (l->kind) {
    case DCAE_CONV:
      *out = conv_module_out_grid(&l->conv.cfg, in);
      return l->conv.cfg.cout;
    case DCAE_RESBLOCK:
      return cin;
    case DCAE_PATCH:
      for (int d = 0; d < dims; d++) {
        if (in->ext[d] % l->factor[d] != 0)
          lola_die(LOLA_EXIT_RUNTIME,
                   "DCAE: extent %lld along spatial dim %d does not divide by the patch/stride %d",
                   (long long)in->ext[d], d, l->factor[d]);
        out->ext[d] = in->ext[d] / l->factor[d];
      }
      return cin * f;
    case DCAE_UNPATCH:
      for (int d = 0; d < dims; d++) out->ext[d] = in->ext[d] * l->factor[d];
      return cin / f;
    case DCAE_UPSAMPLE:
      for (int d = 0; d < dims; d++) out->ext[d] = in->ext[d] * l->factor[d];
      return cin;
  }
  return cin;
}

/* Channels of the stack's input: those of a first conv, else the configured ones. */
static int64_t stack_in_channels(const dcae_stack *m) {
  const dcae_layer *l = &m->layers[0];
  return l->kind == DCAE_CONV ? l->conv.cfg.cin : m->cfg.in_channels;
}

int64_t dcae_out_shape(const dcae_stack *m, const dcae_grid *in, dcae_grid *out) {
  if (in->dims != m->cfg.spatial)
    lola_die(LOLA_EXIT_RUNTIME, "DCAE: input of %d spatial dims, the model has %d", in->dims, m->cfg.spatial);
  int64_t c = stack_in_channels(m);
  dcae_grid g = *in;
  for (int i = 0; i < m->count; i++) {
    dcae_grid next;
    c = layer_out(&m->layers[i], m->cfg.spatial, c, &g, &next);
    g = next;
  }
  *out = g;
  return c;
}

size_t dcae_activation_bytes(const dcae_stack *m, int64_t batch, const dcae_grid *in, bool train) {
  int64_t c = stack_in_channels(m);
  dcae_grid g = *in;
  size_t bytes = 0;
  for (int i = 0; i < m->count; i++) {
    const dcae_layer *l = &m->layers[i];
    dcae_grid next;
    int64_t cn = layer_out(l, m->cfg.spatial, c, &g, &next);
    if (l->kind == DCAE_CONV)
      bytes += conv_module_activation_bytes(&l->conv.cfg, batch, &g);
    else if (l->kind == DCAE_RESBLOCK)
      bytes += resblock_activation_bytes(&l->block.cfg, batch, &g, train);
    else
      bytes += dcae_arena_bytes(batch * cn * dcae_grid_volume(&next));
    c = cn;
    g = next;
  }
  return bytes;
}

/* The largest activation crossing a layer boundary, input included. */
static int64_t largest_tensor(const dcae_stack *m, int64_t batch, const dcae_grid *in) {
  int64_t c = stack_in_channels(m), largest = batch * c * dcae_grid_volume(in);
  dcae_grid g = *in;
  for (int i = 0; i < m->count; i++) {
    dcae_grid next;
    c = layer_out(&m->layers[i], m->cfg.spatial, c, &g, &next);
    g = next;
    if (batch * c * dcae_grid_volume(&g) > largest) largest = batch * c * dcae_grid_volume(&g);
  }
  return largest;
}

size_t dcae_inference_bytes(const dcae_stack *m, int64_t batch, const dcae_grid *in) {
  int64_t c = stack_in_channels(m);
  dcae_grid g = *in;
  size_t layer = 0;
  for (int i = 0; i < m->count; i++) {
    dcae_stack one = *m; /* the activation bytes of layer i alone */
    one.layers = &m->layers[i];
    one.count = 1;
    dcae_grid next;
    int64_t cn = layer_out(&m->layers[i], m->cfg.spatial, c, &g, &next);
    /* a one-layer stack reads its input channels from a first conv, else from the config */
    one.cfg.in_channels = c;
    layer = dcae_max_size(layer, dcae_activation_bytes(&one, batch, &g, false));
    c = cn;
    g = next;
  }
  return 2 * dcae_arena_bytes(largest_tensor(m, batch, in)) + layer;
}

size_t dcae_scratch_bytes(const dcae_stack *m, int64_t batch, const dcae_grid *in) {
  int64_t c = stack_in_channels(m), largest = batch * c * dcae_grid_volume(in);
  dcae_grid g = *in;
  size_t inner = 0;
  for (int i = 0; i < m->count; i++) {
    const dcae_layer *l = &m->layers[i];
    dcae_grid next;
    int64_t cn = layer_out(l, m->cfg.spatial, c, &g, &next);
    if (l->kind == DCAE_CONV)
      inner = dcae_max_size(inner, conv_module_scratch_bytes(&l->conv.cfg, batch, &g));
    if (l->kind == DCAE_RESBLOCK)
      inner = dcae_max_size(inner, resblock_scratch_bytes(&l->block.cfg, batch, &g));
    int64_t n = batch * cn * dcae_grid_volume(&next);
    if (n > largest) largest = n;
    c = cn;
    g = next;
  }
  return 2 * dcae_arena_bytes(largest) + inner; /* the backward's two gradient buffers */
}

float *dcae_forward(dcae_stack *m, const param_registry *r, const dcae_pass *p, const float *x, int64_t batch,
                    const dcae_grid *in) {
  dcae_grid out;
  dcae_out_shape(m, in, &out); /* validates the extents before any work */
  int dims = m->cfg.spatial;
  m->batch = batch;
  m->in = *in;
  m->in_channels = stack_in_channels(m);
  int64_t c = m->in_channels;
  dcae_grid g = *in;
  const float *h = x;
  float *flight[2] = {NULL, NULL}; /* inference: the tensors in flight */
  if (p->inference) {
    int64_t largest = largest_tensor(m, batch, in);
    flight[0] = arena_floats(p->act, largest);
    flight[1] = arena_floats(p->act, largest);
    m->batch = 0; /* no backward may follow */
  }
  for (int i = 0; i < m->count; i++) {
    dcae_layer *l = &m->layers[i];
    dcae_grid next;
    int64_t cn = layer_out(l, dims, c, &g, &next);
    l->cin = c;
    l->in = g;
    size_t mark = p->act->used;
    float *y = NULL;
    switch (l->kind) {
      case DCAE_CONV:
        y = conv_module_forward(&l->conv, r, p, h, batch, &g);
        break;
      case DCAE_RESBLOCK:
        y = resblock_forward(&l->block, r, p, h, batch, &g);
        break;
      case DCAE_PATCH: {
        y = arena_floats(p->act, batch * cn * dcae_grid_volume(&next));
        k_patch_shape s = patch_shape(dims, batch, c, &g, l->factor);
        k_patchify_fwd(y, h, &s);
        break;
      }
      case DCAE_UNPATCH: {
        y = arena_floats(p->act, batch * cn * dcae_grid_volume(&next));
        k_patch_shape s = patch_shape(dims, batch, cn, &next, l->factor);
        k_unpatchify_fwd(y, h, &s);
        break;
      }
      case DCAE_UPSAMPLE:
        y = arena_floats(p->act, batch * cn * dcae_grid_volume(&next));
        dcae_upsample_fwd(y, h, batch * c, dims, g.ext, l->factor);
        break;
    }
    if (p->inference) { /* keep the output, release the layer's activations */
      k_copy(flight[i % 2], y, batch * cn * dcae_grid_volume(&next));
      p->act->used = mark;
      y = flight[i % 2];
    }
    h = y;
    c = cn;
    g = next;
  }
  return (float *)h;
}

/* dx of layer l from dy; dx may be NULL for the first layer. */
static void layer_backward(dcae_layer *l, int dims, int64_t batch, param_registry *r, const dcae_pass *p,
                           float *dx, const float *dy) {
  switch (l->kind) {
    case DCAE_CONV:
      conv_module_backward(&l->conv, r, p, dx, dy);
      return;
    case DCAE_RESBLOCK:
      resblock_backward(&l->block, r, p, dx, dy);
      return;
    case DCAE_PATCH:
      if (dx) {
        k_patch_shape s = patch_shape(dims, batch, l->cin, &l->in, l->factor);
        k_patchify_bwd(dx, dy, &s);
      }
      return;
    case DCAE_UNPATCH:
      if (dx) {
        dcae_grid next;
        int64_t cn = layer_out(l, dims, l->cin, &l->in, &next);
        k_patch_shape s = patch_shape(dims, batch, cn, &next, l->factor);
        k_unpatchify_bwd(dx, dy, &s);
      }
      return;
    case DCAE_UPSAMPLE:
      if (dx) dcae_upsample_bwd(dx, dy, batch * l->cin, dims, l->in.ext, l->factor);
      return;
  }
}

void dcae_backward(dcae_stack *m, param_registry *r, const dcae_pass *p, float *dx, const float *dy) {
  if (m->batch == 0) lola_die(LOLA_EXIT_RUNTIME, "DCAE: backward without a (non-inference) forward");
  int64_t largest = m->batch * m->in_channels * dcae_grid_volume(&m->in);
  for (int i = 0; i < m->count; i++) {
    const dcae_layer *l = &m->layers[i];
    int64_t n = m->batch * l->cin * dcae_grid_volume(&l->in);
    if (n > largest) largest = n;
  }
  size_t mark = p->scratch->used;
  float *buf[2] = {arena_floats(p->scratch, largest), arena_floats(p->scratch, largest)};
  const float *g = dy;
  for (int i = m->count - 1; i >= 0; i--) {
    float *gx = i == 0 ? dx : buf[i % 2];
    layer_backward(&m->layers[i], m->cfg.spatial, m->batch, r, p, gx, g);
    g = gx;
  }
  p->scratch->used = mark;
}
