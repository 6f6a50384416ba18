/* `train_surrogate`: the reference's experiments/train_surrogate.py as a
 * stage: the masked ViT surrogate (deck group `surrogate`) learns windows of
 * latent (or physical) trajectories, y = surrogate(x·mask, mask, label), with
 * the MSE objective mean((x − y)²) over every state, data-parallel over the
 * ranks. Checkpoints in <run.dir>/train_surrogate/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/backend.h"
#include "../kernels/loss.h"
#include "dataset_deck.h"
#include "emulator_data.h"
#include "error.h"
#include "log.h"
#include "stage.h"
#include "train_common.h"
#include "vit_deck.h"

static const deck_key surrogate_model_keys[] = {VIT_DECK_KEYS("surrogate"), {.path = NULL}};
static const deck_key train_surrogate_own_keys[] = {
    TRAIN_COMMON_KEYS("train_surrogate"), EMULATOR_DATA_KEYS("train_surrogate"), {.path = NULL}};
static const deck_key *const train_surrogate_keys[] = {dataset_keys, surrogate_model_keys,
                                                       train_surrogate_own_keys, NULL};

typedef struct {
  const train_spec *spec;
  emulator_data data;
  surrogate model;
  param_registry params, buffers;
  arena act;
  emulator_buffers batch;
  float *y, *dy; /* kernels' memory */
} surrogate_job;

static void surrogate_fill(void *user, int buffer, const batch_ticket *t) {
  surrogate_job *j = user;
  emulator_batch_fill(&j->data, &j->batch, buffer, j->spec, t, "train_surrogate");
}

static double surrogate_objective(void *user, int buffer, const batch_ticket *t, double grad_scale) {
  surrogate_job *j = user;
  emulator_data *e = &j->data;
  const int count = t->count;
  const bool backward = t->training;
  uint64_t first = train_batch_first(j->spec, t, "train_surrogate"),
           seed = train_batch_seed(j->spec, backward);
  emulator_batch_upload(e, &j->batch, buffer, count);
  const int64_t n = (int64_t)count * e->per_sample;
  const float *x = j->batch.x.dev;
  arena_reset(&j->act);
  nn_mode mode = nn_mode_eval();
  if (backward)
    mode = (nn_mode){.training = true,
                     .key = {.seed = seed, .purpose = RNG_DROPOUT, .step = (uint32_t)t->step},
                     .first_sample = first};
  surrogate_forward(&j->model, &j->params, &j->buffers, &j->act, j->y, x, j->batch.mask.dev,
                    e->label_dim ? j->batch.label.dev : NULL, count, e->shape, &mode);
  double mse = k_mse_fwd(j->y, x, n); /* the reference's (y - x)².mean() */
  if (backward) {
    k_mse_bwd(j->dy, j->y, x, n, grad_scale);
    surrogate_backward(&j->model, &j->params, &j->act, NULL, j->dy);
  }
  return mse;
}

static void run_train_surrogate(const run_ctx *ctx) {
  const deck *d = ctx->deck;
  train_spec spec;
  char dir[4200];
  train_spec_from_deck(&spec, d, "train_surrogate", ctx->run_dir, dir, (int)sizeof dir);
  surrogate_job j = {.spec = &spec};
  emulator_data *e = &j.data;
  emulator_data_open(e, d, "train_surrogate", spec.seed, spec.prefetch);

  surrogate_config cfg = surrogate_config_from_deck(d, "surrogate", e->C, e->label_dim, e->spatial);
  params_init(&j.params, 4096);
  params_init(&j.buffers, 64);
  surrogate_declare(&j.model, &j.params, &j.buffers, &cfg);
  params_finalize(&j.params);
  params_finalize(&j.buffers);
  surrogate_init(&j.model, &j.params, &j.buffers, (rng_key){.seed = spec.seed, .purpose = RNG_INIT});
  train_fork(d, "train_surrogate", &j.params, &j.buffers);
  params_to_device(&j.params);
  params_to_device(&j.buffers);

  int64_t B = train_spec_largest_batch(&spec);
  arena_init_device(&j.act, surrogate_activation_bytes(&j.model, B, e->shape) + (1u << 20),
                    "train_surrogate activations");
  size_t n = (size_t)B * (size_t)e->per_sample;
  emulator_buffers_init(&j.batch, e, B, "surrogate batch");
  j.y = k_device_alloc(sizeof(float) * n, "surrogate output");
  j.dy = k_device_alloc(sizeof(float) * n, "surrogate output gradient");

  char *text =
      emulator_train_spec(&spec, d, e, surrogate_model_keys, &j.params, &j.buffers, "train_surrogate");
  train_objective obj = {.fill = surrogate_fill, .loss = surrogate_objective, .user = &j};
  double valid = train_run(&spec, &obj);
  lola_log("train_surrogate: final validation MSE %.6g; checkpoints in %s", valid, dir);

  free(text);
  emulator_buffers_free(&j.batch);
  k_device_free(j.y);
  k_device_free(j.dy);
  arena_free(&j.act);
  surrogate_free(&j.model);
  params_free(&j.params);
  params_free(&j.buffers);
  emulator_data_close(e);
  train_spec_free(&spec);
}

const stage stage_train_surrogate = {"train_surrogate",
                                     "train the masked ViT surrogate on latent (or physical) trajectories "
                                     "(experiments/train_surrogate.py)",
                                     train_surrogate_keys, run_train_surrogate, .device_ready = true};
