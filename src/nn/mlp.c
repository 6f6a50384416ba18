/* Linear–SiLU–Linear. */
#include "mlp.h"

#include <stdio.h>

#include "../../kernels/elementwise.h"
#include "act.h"

void mlp_declare_at(mlp *m, param_registry *r, const char *prefix, int first, int64_t in, int64_t hidden,
                    int64_t out) {
  char name[PARAM_NAME_MAX];
  snprintf(name, sizeof name, "%s.%d", prefix, first);
  linear_declare(&m->fc0, r, name, in, hidden, true);
  snprintf(name, sizeof name, "%s.%d", prefix, first + 2);
  linear_declare(&m->fc2, r, name, hidden, out, true);
}

void mlp_declare(mlp *m, param_registry *r, const char *prefix, int64_t in, int64_t hidden, int64_t out) {
  mlp_declare_at(m, r, prefix, 0, in, hidden, out);
}

void mlp_init(const mlp *m, param_registry *r, rng_key key) {
  linear_init(&m->fc0, r, key);
  linear_init(&m->fc2, r, key);
}

size_t mlp_activation_bytes(const mlp *m, int64_t rows) {
  /* h and s, then two hidden-sized scratches in backward */
  return 4 * act_bytes(rows * m->fc0.out);
}

void mlp_forward(mlp *m, const param_registry *r, arena *act, float *y, const float *x, int64_t rows) {
  int64_t hidden = m->fc0.out;
  m->x = x;
  m->rows = rows;
  m->h = arena_floats(act, rows * hidden);
  m->s = arena_floats(act, rows * hidden);
  linear_forward(&m->fc0, r, m->h, x, rows);
  k_silu_fwd(m->s, m->h, rows * hidden);
  linear_forward(&m->fc2, r, y, m->s, rows);
}

void mlp_backward(mlp *m, param_registry *r, arena *act, float *dx, const float *dy) {
  size_t mark = act_mark(act);
  float *ds = arena_floats(act, m->rows * m->fc0.out);
  float *dh = arena_floats(act, m->rows * m->fc0.out);
  linear_backward(&m->fc2, r, ds, dy, m->s, m->rows);
  k_silu_bwd(dh, ds, m->h, m->rows * m->fc0.out);
  linear_backward(&m->fc0, r, dx, dh, m->x, m->rows);
  act_release(act, mark);
}
