/* `train_diffusion`: the reference's experiments/train_diffusion.py as a
 * stage: the masked EDM denoiser (deck group `denoiser`, masked = true as the
 * reference sets it) learns windows of latent (or physical) trajectories with
 * the DenoiserLoss (src/denoiser_loss.h) under the random context mask,
 * data-parallel over the ranks. Checkpoints in <run.dir>/train_diffusion/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset_deck.h"
#include "emulator_data.h"
#include "error.h"
#include "log.h"
#include "stage.h"
#include "train_common.h"
#include "vit_deck.h"

static const deck_key denoiser_model_keys[] = {DENOISER_DECK_KEYS("denoiser"), {.path = NULL}};
static const deck_key train_diffusion_own_keys[] = {
    TRAIN_COMMON_KEYS("train_diffusion"), EMULATOR_DATA_KEYS("train_diffusion"), {.path = NULL}};
static const deck_key *const train_diffusion_keys[] = {dataset_keys, denoiser_model_keys,
                                                       train_diffusion_own_keys, NULL};

typedef struct {
  const train_spec *spec;
  emulator_data data;
  denoiser model;
  denoiser_loss loss;
  param_registry params, buffers;
  arena act;
  emulator_buffers batch;
} diffusion_job;

static void diffusion_fill(void *user, int buffer, const batch_ticket *t) {
  diffusion_job *j = user;
  emulator_batch_fill(&j->data, &j->batch, buffer, j->spec, t, "train_diffusion");
}

static double diffusion_objective(void *user, int buffer, const batch_ticket *t, double grad_scale) {
  diffusion_job *j = user;
  emulator_data *e = &j->data;
  const int count = t->count;
  const bool backward = t->training;
  const int64_t step = t->step;
  uint64_t first = train_batch_first(j->spec, t, "train_diffusion"),
           seed = train_batch_seed(j->spec, backward);
  emulator_batch_upload(e, &j->batch, buffer, count);
  arena_reset(&j->act);
  nn_mode mode = nn_mode_eval();
  if (backward)
    mode = (nn_mode){.training = true,
                     .key = {.seed = seed, .purpose = RNG_DROPOUT, .step = (uint32_t)step},
                     .first_sample = first};
  rng_key tkey = {.seed = seed, .purpose = RNG_DIFFUSION_TIME, .step = (uint32_t)step};
  rng_key nkey = {.seed = seed, .purpose = RNG_NOISE, .step = (uint32_t)step};
  double loss = denoiser_loss_forward(&j->loss, &j->model, &j->params, &j->buffers, &j->act, j->batch.x.dev,
                                      j->batch.mask.dev, e->label_dim ? j->batch.label.dev : NULL, count,
                                      e->shape, tkey, nkey, first, &mode);
  if (backward) denoiser_loss_backward(&j->loss, &j->model, &j->params, &j->act, grad_scale);
  return loss;
}

static void run_train_diffusion(const run_ctx *ctx) {
  const deck *d = ctx->deck;
  train_spec spec;
  char dir[4200];
  train_spec_from_deck(&spec, d, "train_diffusion", ctx->run_dir, dir, (int)sizeof dir);
  diffusion_job j = {.spec = &spec};
  emulator_data *e = &j.data;
  emulator_data_open(e, d, "train_diffusion", spec.seed, spec.prefetch);

  denoiser_config cfg = denoiser_config_from_deck(d, "denoiser", e->C, e->label_dim, e->spatial, true);
  j.loss.prior = time_prior_from_deck(d, "denoiser");
  params_init(&j.params, 4096);
  params_init(&j.buffers, 64);
  denoiser_declare(&j.model, &j.params, &j.buffers, &cfg);
  params_finalize(&j.params);
  params_finalize(&j.buffers);
  denoiser_init(&j.model, &j.params, &j.buffers, (rng_key){.seed = spec.seed, .purpose = RNG_INIT});
  train_fork(d, "train_diffusion", &j.params, &j.buffers);
  params_to_device(&j.params);
  params_to_device(&j.buffers);

  int64_t B = train_spec_largest_batch(&spec);
  arena_init_device(&j.act, denoiser_loss_activation_bytes(&j.model, B, e->shape) + (1u << 20),
                    "train_diffusion activations");
  emulator_buffers_init(&j.batch, e, B, "diffusion batch");
  char *text =
      emulator_train_spec(&spec, d, e, denoiser_model_keys, &j.params, &j.buffers, "train_diffusion");
  train_objective obj = {.fill = diffusion_fill, .loss = diffusion_objective, .user = &j};
  double valid = train_run(&spec, &obj);
  lola_log("train_diffusion: final validation loss %.6g; checkpoints in %s", valid, dir);

  free(text);
  emulator_buffers_free(&j.batch);
  arena_free(&j.act);
  denoiser_loss_free(&j.loss);
  denoiser_free(&j.model);
  params_free(&j.params);
  params_free(&j.buffers);
  emulator_data_close(e);
  train_spec_free(&spec);
}

const stage stage_train_diffusion = {"train_diffusion",
                                     "train the masked EDM latent denoiser (experiments/train_diffusion.py)",
                                     train_diffusion_keys, run_train_diffusion, .device_ready = true};
