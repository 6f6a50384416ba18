/* The pieces compose into training: a few AdamW steps of a tiny masked
 * surrogate (MSE, as the reference's train_surrogate.py) and of a tiny
 * denoiser (its loss with fixed times and noise) on one fixed batch bring
 * the loss well down, and the arenas never go back to the heap. */
#include <string.h>

#include "../../kernels/loss.h"
#include "../../kernels/optim.h"
#include "../../src/denoiser_loss.h"
#include "../../src/surrogate.h"
#include "gradcheck.h"
#include "harness.h"

enum { B = 2, C = 2, S = 2 * 4 * 4, N = B * C * S };
static const int64_t shape[3] = {2, 4, 4};
static const vit_config arch = {.hid_channels = 16,
                                .hid_blocks = 1,
                                .ffn_factor = 2,
                                .attention_heads = 2,
                                .spatial = 3,
                                .patch = {1, 2, 2},
                                .qk_norm = true,
                                .rope = true,
                                .dropout = 0.1f};
static const adamw_config opt = {
    .lr = 3e-3, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8, .weight_decay = 0.0, .grad_clip = 1.0};

TEST(surrogate_overfits_one_batch) {
  surrogate_config cfg = {.channels = C, .emb_features = 8, .label_features = 3, .arch = arch};
  param_registry params, buffers;
  params_init(&params, 64);
  params_init(&buffers, 2);
  surrogate m;
  surrogate_declare(&m, &params, &buffers, &cfg);
  params_finalize(&params);
  params_finalize(&buffers);
  surrogate_init(&m, &params, &buffers, (rng_key){.seed = 8, .purpose = RNG_INIT});
  float x[N], mask[N], label[B * 3], y[N], dy[N];
  fill_uniform(x, N, 1);
  fill_uniform(label, B * 3, 2);
  for (int i = 0; i < N; i++) mask[i] = (i % S) < 16 ? 1.0f : 0.0f; /* the first state is the context */
  arena act;
  arena_init(&act, surrogate_activation_bytes(&m, B, shape), "overfit surrogate");
  adamw_state st = {0};
  double first = 0, last = 0;
  uint64_t heap = 0;
  for (int step = 0; step < 60; step++) {
    nn_mode mode = {.training = true, .key = {.seed = 3, .purpose = RNG_DROPOUT, .step = (uint32_t)step}};
    arena_reset(&act);
    surrogate_forward(&m, &params, &buffers, &act, y, x, mask, label, B, shape, &mode);
    double loss = k_mse_fwd(y, x, N); /* (x - y)².mean() */
    k_mse_bwd(dy, y, x, N, 1.0);
    surrogate_backward(&m, &params, &act, NULL, dy);
    k_adamw_safe_step(&opt, &st, 1.0, params.values, params.grads, params.m, params.v, params.total);
    if (step == 0) first = loss, heap = arena_heap_allocations();
    last = loss;
  }
  CHECK(last < 0.3 * first);
  CHECK(st.steps == 60 && st.skipped == 0);
  CHECK(arena_heap_allocations() == heap);
  arena_free(&act);
  surrogate_free(&m);
  params_free(&params);
  params_free(&buffers);
}

TEST(denoiser_overfits_fixed_noise) {
  denoiser_config cfg = {.channels = C,
                         .emb_features = 8,
                         .masked = true,
                         .schedule = schedule_default(SCHEDULE_LOG_LOGIT),
                         .arch = arch};
  param_registry params, buffers;
  params_init(&params, 64);
  params_init(&buffers, 4);
  denoiser m;
  denoiser_declare(&m, &params, &buffers, &cfg);
  params_finalize(&params);
  params_finalize(&buffers);
  denoiser_init(&m, &params, &buffers, (rng_key){.seed = 9, .purpose = RNG_INIT});
  float x[N], mask[N];
  fill_uniform(x, N, 3);
  for (int i = 0; i < N; i++) mask[i] = (i % S) < 16 ? 1.0f : 0.0f;
  arena act;
  arena_init(&act, denoiser_loss_activation_bytes(&m, B, shape), "overfit denoiser");
  denoiser_loss L = {.prior = {TIME_PRIOR_UNIFORM, 0.3, 0.7}};
  const rng_key tk = {.seed = 1, .purpose = RNG_DIFFUSION_TIME}, zk = {.seed = 1, .purpose = RNG_NOISE};
  nn_mode mode = nn_mode_eval();
  adamw_state st = {0};
  double first = 0, last = 0;
  for (int step = 0; step < 60; step++) { /* the same times and noise every step: a fixed objective */
    arena_reset(&act);
    double loss =
        denoiser_loss_forward(&L, &m, &params, &buffers, &act, x, mask, NULL, B, shape, tk, zk, 0, &mode);
    denoiser_loss_backward(&L, &m, &params, &act, 1.0);
    k_adamw_safe_step(&opt, &st, 1.0, params.values, params.grads, params.m, params.v, params.total);
    if (step == 0) first = loss;
    last = loss;
  }
  CHECK(last < 0.3 * first);
  denoiser_loss_free(&L);
  arena_free(&act);
  denoiser_free(&m);
  params_free(&params);
  params_free(&buffers);
}
