/* The eval stage's emulator adapters (src/eval_emulators.h) over random
 * models: the layout transposition against a direct model call, the observed
 * context reproduced by the masked denoiser and by the rollout, and members
 * that do not depend on their batch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/eval_emulators.h"
#include "gradcheck.h"
#include "harness.h"

enum { C = 2, W = 3, LABEL = 1, P = 4, S = C * P };

static vit_config tiny_arch(void) {
  return (vit_config){.hid_channels = 8,
                      .hid_blocks = 1,
                      .ffn_factor = 2,
                      .attention_heads = 2,
                      .spatial = 3,
                      .patch = {1, 1, 1},
                      .qk_norm = true,
                      .rope = true};
}

/* A pixel-space model over (W, 2, 2) windows of C channels, random O(1) weights. */
static void tiny_model(eval_model *m, eval_method method) {
  memset(m, 0, sizeof *m);
  m->method = method;
  m->window = W;
  m->stride = 1;
  m->C = m->Cz = C;
  m->dims = 2;
  m->P = m->Pz = P;
  m->grid = m->zgrid = (dcae_grid){.dims = 2, .ext = {2, 2}};
  m->label_dim = LABEL;
  params_init(&m->params, 128);
  params_init(&m->buffers, 8);
  rng_key key = {.seed = 3, .purpose = RNG_INIT};
  if (method == EVAL_SURROGATE) {
    surrogate_config cfg = {.channels = C, .emb_features = 4, .label_features = LABEL, .arch = tiny_arch()};
    surrogate_declare(&m->sur, &m->params, &m->buffers, &cfg);
  } else {
    denoiser_config cfg = {.channels = C,
                           .emb_features = 4,
                           .label_features = LABEL,
                           .masked = true,
                           .schedule = schedule_default(SCHEDULE_LOG_LOGIT),
                           .arch = tiny_arch()};
    denoiser_declare(&m->den, &m->params, &m->buffers, &cfg);
  }
  params_finalize(&m->params);
  params_finalize(&m->buffers);
  if (method == EVAL_SURROGATE)
    surrogate_init(&m->sur, &m->params, &m->buffers, key);
  else
    denoiser_init(&m->den, &m->params, &m->buffers, key);
  fill_uniform(m->params.values, (size_t)m->params.total, 11);
}

static void tiny_free(eval_model *m) {
  if (m->method == EVAL_SURROGATE)
    surrogate_free(&m->sur);
  else
    denoiser_free(&m->den);
  params_free(&m->params);
  params_free(&m->buffers);
}

TEST(eval_surrogate_adapter_transposes_to_the_model_layout) {
  eval_model m;
  tiny_model(&m, EVAL_SURROGATE);
  eval_emulator e;
  eval_emulator_init(&e, &m, 2, NULL);
  const float label[LABEL] = {0.5f};
  float obs[2 * 2 * S], out[2 * W * S];
  fill_uniform(obs, 2 * 2 * S, 5);
  e.batch = 2;
  e.label = label;
  emulator cb = eval_emulator_callback(&e);
  cb.emulate(cb.user, obs, 2, out, 0);
  /* Direct call: x (B, C, W, P) with the two observed states, mask 1 there. */
  float x[2 * W * S] = {0}, mask[2 * W * S] = {0}, y[2 * W * S], labels[2] = {0.5f, 0.5f};
  for (int b = 0; b < 2; b++)
    for (int c = 0; c < C; c++)
      for (int l = 0; l < 2; l++)
        for (int p = 0; p < P; p++) {
          x[((b * C + c) * W + l) * P + p] = obs[((b * 2 + l) * C + c) * P + p];
          mask[((b * C + c) * W + l) * P + p] = 1;
        }
  arena act;
  int64_t shape[3] = {W, 2, 2};
  arena_init(&act, surrogate_activation_bytes(&m.sur, 2, shape) + (1u << 16), "test surrogate");
  nn_mode mode = nn_mode_eval();
  surrogate_forward(&m.sur, &m.params, &m.buffers, &act, y, x, mask, labels, 2, shape, &mode);
  double worst = 0;
  for (int b = 0; b < 2; b++)
    for (int c = 0; c < C; c++)
      for (int l = 0; l < W; l++)
        for (int p = 0; p < P; p++)
          worst = fmax(worst, fabs(out[((b * W + l) * C + c) * P + p] - y[((b * C + c) * W + l) * P + p]));
  CHECK(worst == 0);
  CHECK(fabs(out[2 * S]) > 0); /* the emulated state is not left empty */
  arena_free(&act);
  eval_emulator_free(&e);
  tiny_free(&m);
}

static void rollout_members(eval_model *m, const uint64_t *ids, int batch, const float *context, float *out,
                            int64_t length) {
  sampler_config sc = sampler_defaults(SAMPLER_AB, 6);
  eval_emulator e;
  eval_emulator_init(&e, m, batch, &sc);
  const float label[LABEL] = {-0.25f};
  e.batch = batch;
  e.ids = ids;
  e.seed = 99;
  e.label = label;
  rollout_plan plan = {.window = W, .context = 1, .overlap = 1, .length = length};
  float *work = malloc(sizeof(float) * (size_t)rollout_workspace_floats(&plan, batch, S));
  emulator cb = eval_emulator_callback(&e);
  rollout_run(&plan, &cb, context, out, batch, S, work);
  free(work);
  eval_emulator_free(&e);
}

TEST(eval_diffusion_rollout_keeps_the_context_and_members_do_not_depend_on_batches) {
  eval_model m;
  tiny_model(&m, EVAL_DIFFUSION);
  enum { L = 6 };
  float context[3 * S], out3[3 * L * S], out1[L * S];
  fill_uniform(context, S, 21);
  for (int b = 1; b < 3; b++) memcpy(context + b * S, context, sizeof(float) * S);
  const uint64_t ids3[3] = {0, 1, 2}, ids1[1] = {1};
  rollout_members(&m, ids3, 3, context, out3, L);
  rollout_members(&m, ids1, 1, context, out1, L);
  bool exact = true, finite = true;
  for (int b = 0; b < 3; b++)
    for (int i = 0; i < S; i++) exact &= out3[b * L * S + i] == context[i];
  for (int i = 0; i < 3 * L * S; i++) finite &= isfinite(out3[i]);
  CHECK(exact);
  CHECK(finite);
  double same = 0, apart = 0;
  for (int i = 0; i < L * S; i++) {
    same = fmax(same, fabs(out3[L * S + i] - out1[i]));   /* member 1 in both runs */
    apart = fmax(apart, fabs(out3[i] - out3[L * S + i])); /* members 0 and 1 */
  }
  CHECK_NEAR(same, 0, 1e-5);
  CHECK(apart > 1e-2);
  tiny_free(&m);
}

TEST(eval_masked_denoiser_samples_reproduce_the_observed_states) {
  eval_model m;
  tiny_model(&m, EVAL_DIFFUSION);
  sampler_config sc = sampler_defaults(SAMPLER_DDIM, 8);
  eval_emulator e;
  eval_emulator_init(&e, &m, 2, &sc);
  const uint64_t ids[2] = {4, 5};
  const float label[LABEL] = {1.0f};
  e.batch = 2;
  e.ids = ids;
  e.seed = 1;
  e.label = label;
  float obs[2 * S], out[2 * W * S];
  fill_uniform(obs, 2 * S, 8);
  emulator cb = eval_emulator_callback(&e);
  cb.emulate(cb.user, obs, 1, out, 0);
  /* The sampler ends at sigma_min = 1e-3 around the clamped observations. */
  double worst = 0, free_part = 0;
  for (int b = 0; b < 2; b++)
    for (int i = 0; i < S; i++) {
      worst = fmax(worst, fabs(out[b * W * S + i] - obs[b * S + i]));
      free_part = fmax(free_part, fabs(out[b * W * S + S + i] - obs[b * S + i]));
    }
  CHECK(worst < 1e-2);
  CHECK(free_part > 1e-2);
  eval_emulator_free(&e);
  tiny_free(&m);
}
