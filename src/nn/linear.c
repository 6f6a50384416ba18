/* torch.nn.Linear on the engine's linear kernel. */
#include "linear.h"

#include <math.h>
#include <stdio.h>

#include "../../kernels/linear.h"
#include "../error.h"

void linear_declare(linear *m, param_registry *r, const char *prefix, int64_t in, int64_t out, bool bias) {
  char name[PARAM_NAME_MAX];
  m->in = in;
  m->out = out;
  snprintf(name, sizeof name, "%s.weight", prefix);
  m->weight = params_add(r, name, 2, (int64_t[]){out, in});
  m->bias = -1;
  if (bias) {
    snprintf(name, sizeof name, "%s.bias", prefix);
    m->bias = params_add(r, name, 1, (int64_t[]){out});
  }
}

void param_fill_uniform(param_registry *r, int index, rng_key key, float bound) {
  float *p = params_value(r, index);
  int64_t n = r->entries[index].numel;
  rng_uniform(p, n, key, (uint64_t)index, 0);
  for (int64_t i = 0; i < n; i++) p[i] = (2.0f * p[i] - 1.0f) * bound;
}

void param_fill_normal(param_registry *r, int index, rng_key key, float std) {
  float *p = params_value(r, index);
  int64_t n = r->entries[index].numel;
  rng_normal(p, n, key, (uint64_t)index, 0);
  for (int64_t i = 0; i < n; i++) p[i] *= std;
}

void param_scale(param_registry *r, int index, float factor) {
  float *p = params_value(r, index);
  for (int64_t i = 0; i < r->entries[index].numel; i++) p[i] *= factor;
}

void linear_init(const linear *m, param_registry *r, rng_key key) {
  float bound = m->in > 0 ? (float)(1.0 / sqrt((double)m->in)) : 0.0f;
  param_fill_uniform(r, m->weight, key, bound);
  if (m->bias >= 0) param_fill_uniform(r, m->bias, key, bound);
}

void linear_forward(const linear *m, const param_registry *r, float *y, const float *x, int64_t rows) {
  k_linear_fwd(y, x, params_value(r, m->weight), m->bias >= 0 ? params_value(r, m->bias) : NULL, rows, m->in,
               m->out);
}

void linear_backward(const linear *m, param_registry *r, float *dx, const float *dy, const float *x,
                     int64_t rows) {
  k_linear_bwd(dx, params_grad(r, m->weight), m->bias >= 0 ? params_grad(r, m->bias) : NULL, dy, x,
               params_value(r, m->weight), rows, m->in, m->out);
}
