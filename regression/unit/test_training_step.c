/* A whole training step of a small two-layer network, built from the kernels
 * the way the models are: parameters in the registry, activations in an arena
 * reset every step, AdamW through the guarded step. After the first step
 * nothing is allocated: the arena's high-water mark and the arena heap count
 * stay put, and so does the heap in use. The loss must also go down. */
#include <malloc.h>
#include <stdlib.h>

#include "../../kernels/kernels.h"
#include "../../src/tensor.h"
#include "gradcheck.h"
#include "harness.h"

enum { B = 4, N = 9, C = 6, H = 16, ROWS = B * N };

typedef struct {
  param_registry params;
  int w0, b0, w2, b2;
  arena act;
  float *x, *target;
} mlp;

/* net = Sequential(Linear(C, H), SiLU(), Dropout(0.1), Linear(H, C)), MSE against the target. */
static double train_step(mlp *m, adamw_state *st, const adamw_config *cfg, uint32_t step) {
  arena_reset(&m->act);
  param_registry *r = &m->params;
  float *h = arena_floats(&m->act, ROWS * H), *a = arena_floats(&m->act, ROWS * H);
  float *d = arena_floats(&m->act, ROWS * H), *y = arena_floats(&m->act, ROWS * C);
  rng_key key = {.seed = 7, .purpose = RNG_DROPOUT, .step = step};
  k_linear_fwd(h, m->x, params_value(r, m->w0), params_value(r, m->b0), ROWS, C, H);
  k_silu_fwd(a, h, ROWS * H);
  k_dropout_fwd(d, a, B, N * H, 0.1f, key, 0);
  k_linear_fwd(y, d, params_value(r, m->w2), params_value(r, m->b2), ROWS, H, C);
  double loss = k_mse_fwd(y, m->target, ROWS * C);

  float *dy = arena_floats(&m->act, ROWS * C), *dd = arena_floats(&m->act, ROWS * H);
  k_mse_bwd(dy, y, m->target, ROWS * C, 1.0);
  k_linear_bwd(dd, params_grad(r, m->w2), params_grad(r, m->b2), dy, d, params_value(r, m->w2), ROWS, H, C);
  k_dropout_bwd(dd, dd, B, N * H, 0.1f, key, 0); /* in place: allowed by the mask's elementwise form */
  k_silu_bwd(dd, dd, h, ROWS * H);
  k_linear_bwd(NULL, params_grad(r, m->w0), params_grad(r, m->b0), dd, m->x, params_value(r, m->w0), ROWS, C,
               H);
  k_adamw_safe_step(cfg, st, lr_factor(LR_COSINE, step, 100, 3), r->values, r->grads, r->m, r->v, r->total);
  return loss;
}

TEST(training_step_allocates_nothing_after_the_first) {
  mlp m;
  params_init(&m.params, 4);
  int64_t w0[2] = {H, C}, b0[1] = {H}, w2[2] = {C, H}, b2[1] = {C};
  m.w0 = params_add(&m.params, "net.0.weight", 2, w0);
  m.b0 = params_add(&m.params, "net.0.bias", 1, b0);
  m.w2 = params_add(&m.params, "net.3.weight", 2, w2);
  m.b2 = params_add(&m.params, "net.3.bias", 1, b2);
  params_finalize(&m.params);
  rng_key init = {.seed = 7, .purpose = RNG_INIT};
  rng_uniform(params_value(&m.params, m.w0), H * C, init, 0, 0);
  rng_uniform(params_value(&m.params, m.w2), C * H, init, 1, 0);
  for (int i = 0; i < H * C; i++)
    params_value(&m.params, m.w0)[i] -= 0.5f, params_value(&m.params, m.w2)[i] -= 0.5f;
  m.x = malloc(ROWS * C * sizeof *m.x);
  m.target = malloc(ROWS * C * sizeof *m.target);
  fill_uniform(m.x, ROWS * C, 1);
  for (int i = 0; i < ROWS * C; i++) m.target[i] = 0.5f * m.x[(i + 1) % (ROWS * C)] - 0.25f * m.x[i];
  arena_init(&m.act, 64 * 1024, "mlp activations");

  adamw_config cfg = {
      .lr = 1e-2, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8, .weight_decay = 0.0, .grad_clip = 1.0};
  adamw_state st = {0};
  double first = train_step(&m, &st, &cfg, 0);
  size_t high_water = m.act.high_water;
  uint64_t heap_allocations = arena_heap_allocations();
  size_t heap_in_use = mallinfo2().uordblks;
  double last = first;
  for (uint32_t step = 1; step < 40; step++) last = train_step(&m, &st, &cfg, step);
  CHECK(m.act.high_water == high_water);
  CHECK(arena_heap_allocations() == heap_allocations);
  CHECK(mallinfo2().uordblks == heap_in_use);
  CHECK(st.steps == 40 && st.skipped == 0);
  CHECK(last < 0.5 * first);
  arena_free(&m.act);
  params_free(&m.params);
  free(m.x), free(m.target);
}
