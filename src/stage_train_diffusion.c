/* `train_diffusion`: the reference's experiments/train_diffusion.py as a
 * stage: the masked EDM denoiser (deck group `denoiser`, masked = true as the
 * reference sets it) learns windows of latent (or physical) trajectories with
 * the DenoiserLoss (src/denoiser_loss.h) under the random context mask,
 * data-parallel over the ranks. Checkpoints in <run.dir>/train_diffusion/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../parallel/comm.h"
#include "dataset_deck.h"
#include "emulator_data.h"
#include "error.h"
#include "log.h"
#include "stage.h"
#include "staging.h"
#include "train_common.h"
#include "vit_deck.h"

static const deck_key denoiser_model_keys[] = {DENOISER_DECK_KEYS("denoiser"), {.path = NULL}};
static const deck_key train_diffusion_own_keys[] = {
    TRAIN_COMMON_KEYS("train_diffusion"), EMULATOR_DATA_KEYS("train_diffusion"), {.path = NULL}};
static const deck_key *const train_diffusion_keys[] = {dataset_keys, denoiser_model_keys,
                                                       train_diffusion_own_keys, NULL};

enum { VALID_SALT = 0x76616c };

typedef struct {
  const train_spec *spec;
  emulator_data data;
  denoiser model;
  denoiser_loss loss;
  param_registry params, buffers;
  arena act;
  staged x, mask, label; /* the batch, filled on the host */
} diffusion_job;

static double diffusion_objective(void *user, const long *items, const long *slot, int count, int64_t step,
                                  bool backward, double grad_scale) {
  diffusion_job *j = user;
  emulator_data *e = &j->data;
  uint64_t first = train_sample_index(j->spec, step, backward, slot[0]);
  for (int i = 0; i < count; i++)
    if (slot[i] != slot[0] + i)
      lola_die(LOLA_EXIT_RUNTIME, "train_diffusion: batch slots are not contiguous");
  uint64_t seed = backward ? j->spec->seed : j->spec->seed ^ VALID_SALT;
  emulator_batch(e, items, count, backward, step, first, seed, j->x.host, j->mask.host, j->label.host);
  const size_t n = (size_t)count * (size_t)e->per_sample;
  staged_upload(&j->x, n);
  staged_upload(&j->mask, n);
  staged_upload(&j->label, (size_t)count * (size_t)e->label_dim);
  arena_reset(&j->act);
  nn_mode mode = nn_mode_eval();
  if (backward)
    mode = (nn_mode){.training = true,
                     .key = {.seed = seed, .purpose = RNG_DROPOUT, .step = (uint32_t)step},
                     .first_sample = first};
  rng_key tkey = {.seed = seed, .purpose = RNG_DIFFUSION_TIME, .step = (uint32_t)step};
  rng_key nkey = {.seed = seed, .purpose = RNG_NOISE, .step = (uint32_t)step};
  double loss =
      denoiser_loss_forward(&j->loss, &j->model, &j->params, &j->buffers, &j->act, j->x.dev, j->mask.dev,
                            e->label_dim ? j->label.dev : NULL, count, e->shape, tkey, nkey, first, &mode);
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
  emulator_data_open(e, d, "train_diffusion", spec.seed);

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

  const int R = comm_size();
  int64_t micro = spec.batch_size / (spec.accumulation * R), vmicro = spec.valid_batch_size / R;
  int64_t B = micro > vmicro ? micro : vmicro;
  if (B < 1) B = 1;
  arena_init_device(&j.act, denoiser_loss_activation_bytes(&j.model, B, e->shape) + (1u << 20),
                    "train_diffusion activations");
  size_t n = (size_t)B * (size_t)e->per_sample;
  staged_init(&j.x, n, "diffusion batch");
  staged_init(&j.mask, n, "diffusion mask");
  staged_init(&j.label, (size_t)B * (size_t)(e->label_dim + 1), "diffusion labels");

  char extra[256];
  snprintf(extra, sizeof extra, "channels=%d;labels=%d;spatial=%d;length=%d", e->C, e->label_dim, e->spatial,
           e->L);
  spec.model_fingerprint = deck_keys_fingerprint(d, denoiser_model_keys, extra);
  spec.params = &j.params;
  spec.buffers = &j.buffers;
  spec.train_len = source_len(&e->train);
  spec.valid_len = source_len(&e->valid);
  char *text = deck_text(d);
  spec.deck_text = text;
  char sbuf[64];
  lola_log(
      "train_diffusion: %s; %ld train / %ld valid windows of %s x %d channels, label %d, %lld parameters",
      e->describe, spec.train_len, spec.valid_len, shape_str(e->spatial, e->shape, sbuf, sizeof sbuf), e->C,
      e->label_dim, (long long)j.params.total);
  train_objective obj = {.loss = diffusion_objective, .user = &j};
  double valid = train_run(&spec, &obj);
  lola_log("train_diffusion: final validation loss %.6g; checkpoints in %s", valid, dir);

  free(text);
  staged_free(&j.x);
  staged_free(&j.mask);
  staged_free(&j.label);
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
