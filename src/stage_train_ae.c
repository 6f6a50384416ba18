/* `train_ae`: the reference's experiments/train_ae.py as a stage: the
 * autoencoder (deck group `ae`) trained on single preprocessed, augmented
 * physical states with the AutoEncoderLoss of `ae.loss`, data-parallel over
 * the ranks (src/train_loop.h). Checkpoints in <run.dir>/train_ae/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoencoder_deck.h"
#include "dataset_deck.h"
#include "error.h"
#include "log.h"
#include "stage.h"
#include "staging.h"
#include "train_common.h"
#include "train_data.h"

static const deck_key train_ae_own_keys[] = {TRAIN_COMMON_KEYS("train_ae"), {.path = NULL}};
static const deck_key *const train_ae_keys[] = {dataset_keys, autoencoder_deck_keys, train_ae_own_keys, NULL};

typedef struct {
  const train_spec *spec;
  sample_source train, valid;
  autoencoder ae;
  ae_loss_config loss;
  dcae_grid grid;
  arena act, scratch;
  staged x; /* (B, C, *grid), filled on the host */
} ae_job;

/* On the prefetch thread (src/train_loop.h), the only one that reads the sources. */
static void ae_fill(void *user, int buffer, const batch_ticket *t) {
  ae_job *j = user;
  sample_source *src = t->training ? &j->train : &j->valid;
  const long per = source_sample_floats(src);
  uint64_t first = train_batch_first(j->spec, t, "train_ae");
  for (int i = 0; i < t->count; i++)
    source_sample(src, t->items[i], t->training, t->step, first + (uint64_t)i,
                  j->x.host[buffer] + (size_t)i * per, NULL);
}

static double ae_loss(void *user, int buffer, const batch_ticket *t, double grad_scale) {
  ae_job *j = user;
  sample_source *src = t->training ? &j->train : &j->valid;
  const int count = t->count;
  const bool backward = t->training;
  uint64_t first = train_batch_first(j->spec, t, "train_ae");
  staged_upload(&j->x, buffer, (size_t)count * (size_t)source_sample_floats(src));
  arena_reset(&j->act);
  arena_reset(&j->scratch);
  dcae_pass p = {.act = &j->act,
                 .scratch = &j->scratch,
                 .train = backward,
                 .seed = train_batch_seed(j->spec, backward),
                 .step = (uint32_t)t->step,
                 .first_sample = first};
  if (backward)
    return autoencoder_loss_step(&j->ae, &j->loss, &p, j->x.dev, count, &j->grid, false, grad_scale, NULL);
  float *z = autoencoder_encode(&j->ae, &p, j->x.dev, count, &j->grid);
  float *y = autoencoder_decode(&j->ae, &p, z, count, &j->ae.latent_grid, false);
  int64_t latent = j->ae.lat_channels * dcae_grid_volume(&j->ae.latent_grid);
  return ae_loss_forward(&j->loss, j->x.dev, y, count, src->C, src->points, z, latent, NULL);
}

static void run_train_ae(const run_ctx *ctx) {
  const deck *d = ctx->deck;
  train_spec spec;
  char dir[4200];
  train_spec_from_deck(&spec, d, "train_ae", ctx->run_dir, dir, (int)sizeof dir);
  ae_job j = {.spec = &spec};
  source_open_pixels(&j.train, d, "train", 1, 1, spec.seed, spec.prefetch);
  source_open_pixels(&j.valid, d, "valid", 1, 1, spec.seed, spec.prefetch);
  const int C = j.train.C, dims = j.train.ndims;
  if (j.valid.C != C || j.valid.points != j.train.points)
    lola_die_collective(LOLA_EXIT_DATA,
                        "train_ae: the valid split's states (%d fields, %ld points) differ from "
                        "the train split's (%d fields, %ld points)",
                        j.valid.C, j.valid.points, C, j.train.points);

  autoencoder_config cfg;
  autoencoder_config_from_deck(d, C, dims, &cfg, &j.loss);
  autoencoder_create(&j.ae, &cfg);
  autoencoder_init(&j.ae, spec.seed);
  train_fork(d, "train_ae", &j.ae.params, &j.ae.buffers);
  params_to_device(&j.ae.params);
  params_to_device(&j.ae.buffers);
  j.grid.dims = dims;
  for (int k = 0; k < dims; k++) j.grid.ext[k] = j.train.shape[k];
  dcae_grid latent;
  int64_t lat = autoencoder_latent_shape(&j.ae, &j.grid, &latent);

  int64_t B = train_spec_largest_batch(&spec);
  size_t act = autoencoder_activation_bytes(&j.ae, B, &j.grid, true);
  size_t eval = autoencoder_activation_bytes(&j.ae, B, &j.grid, false);
  arena_init_device(&j.act, (act > eval ? act : eval) + (1u << 20), "train_ae activations");
  arena_init_device(&j.scratch, autoencoder_scratch_bytes(&j.ae, B, &j.grid) + (1u << 20),
                    "train_ae scratch");
  staged_init(&j.x, (size_t)B * (size_t)source_sample_floats(&j.train), 2, "train_ae batch");

  char extra[128];
  snprintf(extra, sizeof extra, "fields=%d;dims=%d", C, dims);
  spec.model_fingerprint = deck_keys_fingerprint(d, autoencoder_deck_keys, extra);
  spec.params = &j.ae.params;
  spec.buffers = &j.ae.buffers;
  spec.train_len = source_len(&j.train);
  spec.valid_len = source_len(&j.valid);
  char *text = deck_text(d);
  spec.deck_text = text;
  char gbuf[64];
  lola_log(
      "train_ae: %ld train / %ld valid states of %d fields on a %s grid, %lld parameters, latent %lld x %lld",
      spec.train_len, spec.valid_len, C, shape_str(dims, j.grid.ext, gbuf, sizeof gbuf),
      (long long)j.ae.params.total, (long long)lat, (long long)dcae_grid_volume(&latent));
  train_objective obj = {.fill = ae_fill, .loss = ae_loss, .user = &j};
  double valid = train_run(&spec, &obj);
  lola_log("train_ae: final validation loss %.6g; checkpoints in %s", valid, dir);

  free(text);
  staged_free(&j.x);
  arena_free(&j.act);
  arena_free(&j.scratch);
  autoencoder_free(&j.ae);
  source_close(&j.train);
  source_close(&j.valid);
  train_spec_free(&spec);
}

const stage stage_train_ae = {"train_ae",
                              "train the autoencoder on physical states (experiments/train_ae.py)",
                              train_ae_keys, run_train_ae, .device_ready = true};
