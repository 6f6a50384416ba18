/* The reference's ConvNd as a module (src/nn/conv_module.h). */
#include "conv_module.h"

#include <math.h>
#include <stdio.h>

#include "../error.h"

conv_module_config conv_module_cube(int dims, int64_t cin, int64_t cout, int k, int s, bool circular,
                                    bool identity_init) {
  conv_module_config c = {
      .dims = dims, .cin = cin, .cout = cout, .circular = circular, .identity_init = identity_init};
  for (int d = 0; d < 3; d++) {
    c.kernel[d] = d < dims ? k : 1;
    c.stride[d] = d < dims ? s : 1;
  }
  return c;
}

static k_conv_shape shape_of(const conv_module_config *c, int64_t batch, const dcae_grid *in) {
  if (in->dims != c->dims)
    lola_die(LOLA_EXIT_RUNTIME, "conv module: input has %d spatial dims, the layer %d", in->dims, c->dims);
  k_conv_shape s = {.batch = batch, .cin = c->cin, .cout = c->cout, .dims = c->dims, .circular = c->circular};
  for (int d = 0; d < c->dims; d++) {
    s.in[d] = in->ext[d];
    s.kernel[d] = c->kernel[d];
    s.stride[d] = c->stride[d];
    s.pad[d] = c->kernel[d] / 2;
  }
  return s;
}

void conv_module_declare(conv_module *m, param_registry *r, const char *prefix,
                         const conv_module_config *cfg) {
  if (cfg->dims < 1 || cfg->dims > 3 || cfg->cin < 1 || cfg->cout < 1)
    lola_die(LOLA_EXIT_RUNTIME, "conv module '%s': %d dims, %lld -> %lld channels", prefix, cfg->dims,
             (long long)cfg->cin, (long long)cfg->cout);
  m->cfg = *cfg;
  int64_t wshape[5] = {cfg->cout, cfg->cin, cfg->kernel[0], cfg->kernel[1], cfg->kernel[2]};
  char name[PARAM_NAME_MAX];
  snprintf(name, sizeof name, "%s.weight", prefix);
  m->weight = params_add(r, name, 2 + cfg->dims, wshape);
  snprintf(name, sizeof name, "%s.bias", prefix);
  m->bias = params_add(r, name, 1, &cfg->cout);
  m->x = NULL;
}

void conv_module_init(const conv_module *m, param_registry *r, rng_key key) {
  const conv_module_config *c = &m->cfg;
  int64_t kvol = 1;
  for (int d = 0; d < c->dims; d++) kvol *= c->kernel[d];
  double bound = 1.0 / sqrt((double)(c->cin * kvol));
  float *w = params_value(r, m->weight);
  dcae_init_uniform(w, c->cout * c->cin * kvol, bound, key, m->weight);
  dcae_init_uniform(params_value(r, m->bias), c->cout, bound, key, m->bias);
  if (c->identity_init) {
    dcae_grid one = {.dims = c->dims, .ext = {1, 1, 1}};
    for (int d = 0; d < c->dims; d++) one.ext[d] = c->kernel[d];
    k_conv_shape s = shape_of(c, 1, &one);
    k_conv_identity_init(w, &s);
  }
}

dcae_grid conv_module_out_grid(const conv_module_config *cfg, const dcae_grid *in) {
  k_conv_shape s = shape_of(cfg, 1, in);
  int64_t out[K_CONV_MAX_DIMS];
  k_conv_out_shape(&s, out);
  dcae_grid g = {.dims = cfg->dims, .ext = {1, 1, 1}};
  for (int d = 0; d < cfg->dims; d++) g.ext[d] = out[d];
  return g;
}

size_t conv_module_activation_bytes(const conv_module_config *cfg, int64_t batch, const dcae_grid *in) {
  dcae_grid out = conv_module_out_grid(cfg, in);
  return dcae_arena_bytes(batch * cfg->cout * dcae_grid_volume(&out));
}

size_t conv_module_scratch_bytes(const conv_module_config *cfg, int64_t batch, const dcae_grid *in) {
  k_conv_shape s = shape_of(cfg, batch, in);
  return dcae_max_size(dcae_arena_bytes(k_conv_fwd_workspace_floats(&s)),
                       dcae_arena_bytes(k_conv_bwd_workspace_floats(&s)));
}

float *conv_module_forward(conv_module *m, const param_registry *r, const dcae_pass *p, const float *x,
                           int64_t batch, const dcae_grid *in) {
  m->shape = shape_of(&m->cfg, batch, in);
  m->x = x;
  int64_t out[K_CONV_MAX_DIMS];
  int64_t positions = k_conv_out_shape(&m->shape, out);
  float *y = arena_floats(p->act, batch * m->cfg.cout * positions);
  size_t mark = p->scratch->used;
  float *work = arena_floats(p->scratch, k_conv_fwd_workspace_floats(&m->shape));
  k_conv_fwd(y, x, params_value(r, m->weight), params_value(r, m->bias), &m->shape, work);
  p->scratch->used = mark;
  return y;
}

void conv_module_backward(const conv_module *m, param_registry *r, const dcae_pass *p, float *dx,
                          const float *dy) {
  if (!m->x) lola_die(LOLA_EXIT_RUNTIME, "conv module: backward without a forward");
  size_t mark = p->scratch->used;
  float *work = arena_floats(p->scratch, k_conv_bwd_workspace_floats(&m->shape));
  k_conv_bwd(dx, params_grad(r, m->weight), params_grad(r, m->bias), dy, m->x, params_value(r, m->weight),
             &m->shape, work);
  p->scratch->used = mark;
}
