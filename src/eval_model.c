#include "eval_model.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/backend.h"
#include "../parallel/comm.h"
#include "ae_run.h"
#include "checkpoint.h"
#include "error.h"
#include "model_io.h"
#include "run.h"
#include "vit_deck.h"

static const char *const method_names[] = {"autoencoder", "surrogate", "diffusion"};
static const char *const method_stages[] = {"train_ae", "train_surrogate", "train_diffusion"};

int eval_method_from_name(const char *name) {
  for (int i = 0; i < 3; i++)
    if (strcmp(name, method_names[i]) == 0) return i;
  return -1;
}

const char *eval_method_name(eval_method m) { return method_names[m]; }
const char *eval_method_stage(eval_method m) { return method_stages[m]; }

static void checkpoint_file(const char *run, eval_method method, const char *target, const char *file,
                            char *buf, size_t n) {
  snprintf(buf, n, "%s/%s/%s/%s", run, method_stages[method], target, file);
}

static bool exists_on_root(const char *path) {
  int found = 0;
  if (comm_rank() == 0) {
    FILE *f = fopen(path, "rb");
    found = f != NULL;
    if (f) fclose(f);
  }
  MPI_Bcast(&found, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return found;
}

bool eval_model_exists(const char *run, eval_method method, const char *target) {
  char path[4300];
  checkpoint_file(run, method, target, "model.safetensors", path, sizeof path);
  return exists_on_root(path);
}

static deck *load_checkpoint_deck(const char *path) {
  if (!exists_on_root(path))
    lola_die_collective(LOLA_EXIT_DECK, "%s is missing: the checkpoint does not record its deck", path);
  int n = 0;
  const deck_schema *schemas = run_schemas(path, &n);
  return deck_load(path, 0, NULL, schemas, n);
}

void eval_model_load_deck(eval_model *m, const char *run, eval_method method, const char *target) {
  memset(m, 0, sizeof *m);
  m->method = method;
  snprintf(m->run, sizeof m->run, "%s", run);
  snprintf(m->target, sizeof m->target, "%s", target);
  checkpoint_file(run, method, target, "model.safetensors", m->weights, sizeof m->weights);
  char path[4300];
  checkpoint_file(run, method, target, "deck.cfg", path, sizeof path);
  m->mdeck = load_checkpoint_deck(path);
}

/* Autoencoder of the checkpoint `ckpt` of run `run` for the data's fields. */
static void load_autoencoder(eval_model *m, const deck *d, const char *key, const char *run,
                             const char *ckpt) {
  ae_run_ref ref;
  ae_run_locate(d, key, run, ckpt, &ref);
  if (m->method == EVAL_AUTOENCODER) {
    m->aedeck = NULL; /* the model's own deck */
  } else {
    char path[4300];
    snprintf(path, sizeof path, "%s/train_ae/%s/deck.cfg", run, ckpt);
    m->aedeck = load_checkpoint_deck(path);
  }
  ae_run_load(m->aedeck ? m->aedeck : m->mdeck, &ref, m->C, m->dims, &m->ae);
  params_to_device(&m->ae.params);
  params_to_device(&m->ae.buffers);
  m->Cz = (int)autoencoder_latent_shape(&m->ae, &m->grid, &m->zgrid);
  m->Pz = 1;
  for (int k = 0; k < m->zgrid.dims; k++) m->Pz *= (long)m->zgrid.ext[k];
  size_t act = autoencoder_activation_bytes(&m->ae, m->chunk, &m->grid, false) + (1u << 20);
  size_t scratch = autoencoder_scratch_bytes(&m->ae, m->chunk, &m->grid) + (1u << 20);
  arena_init_device(&m->act, act, "eval autoencoder activations");
  arena_init_device(&m->scratch, scratch, "eval autoencoder scratch");
  int64_t widest = eval_pixel_floats(m) > eval_state_floats(m) ? eval_pixel_floats(m) : eval_state_floats(m);
  m->io = k_device_alloc(sizeof(float) * (size_t)(m->chunk * widest), "eval autoencoder states");
}

void eval_model_build(eval_model *m, const dataset *ds, int chunk, int stride) {
  const deck *d = m->mdeck;
  m->built = true;
  m->chunk = chunk;
  m->C = dataset_channels(ds);
  m->dims = dataset_ndims(ds);
  m->P = dataset_points(ds);
  m->grid.dims = m->dims;
  for (int k = 0; k < m->dims; k++) m->grid.ext[k] = dataset_shape(ds, k);
  m->label_dim = dataset_label_dim(ds);
  m->Cz = m->C;
  m->Pz = m->P;
  m->zgrid = m->grid;
  m->stride = stride;
  if (m->method == EVAL_AUTOENCODER) {
    m->latent = true;
    load_autoencoder(m, d, "run.dir", m->run, m->target);
    return;
  }
  const char *g = eval_method_stage(m->method);
  char key[128], ckey[128];
  snprintf(key, sizeof key, "%s.trajectory.length", g);
  m->window = (int)deck_int(d, key);
  snprintf(key, sizeof key, "%s.trajectory.stride", g);
  m->stride = (int)deck_int(d, key);
  snprintf(key, sizeof key, "%s.ae_run", g);
  snprintf(ckey, sizeof ckey, "%s.ae_checkpoint", g);
  m->latent = deck_string(d, key)[0] != 0;
  if (m->latent) load_autoencoder(m, d, key, deck_string(d, key), deck_string(d, ckey));

  const int spatial = m->dims + 1;
  params_init(&m->params, 4096);
  params_init(&m->buffers, 64);
  if (m->method == EVAL_SURROGATE) {
    surrogate_config cfg = surrogate_config_from_deck(d, "surrogate", m->Cz, m->label_dim, spatial);
    surrogate_declare(&m->sur, &m->params, &m->buffers, &cfg);
  } else {
    denoiser_config cfg = denoiser_config_from_deck(d, "denoiser", m->Cz, m->label_dim, spatial, true);
    denoiser_declare(&m->den, &m->params, &m->buffers, &cfg);
  }
  params_finalize(&m->params);
  params_finalize(&m->buffers);
  /* The initialisation sets the buffers (fixed frequencies) too; the
   * checkpoint then overwrites parameters and buffers by name, strictly. */
  rng_key init = {.seed = 0, .purpose = RNG_INIT};
  if (m->method == EVAL_SURROGATE)
    surrogate_init(&m->sur, &m->params, &m->buffers, init);
  else
    denoiser_init(&m->den, &m->params, &m->buffers, init);
  model_load(m->weights, &m->params, &m->buffers, true, eval_method_name(m->method));
  params_to_device(&m->params);
  params_to_device(&m->buffers);
}

void eval_model_free(eval_model *m) {
  if (!m->built) { /* only the deck was loaded */
    deck_free(m->mdeck);
    memset(m, 0, sizeof *m);
    return;
  }
  if (m->latent) {
    autoencoder_free(&m->ae);
    arena_free(&m->act);
    arena_free(&m->scratch);
    k_device_free(m->io);
  }
  if (m->method == EVAL_SURROGATE) surrogate_free(&m->sur);
  if (m->method == EVAL_DIFFUSION) denoiser_free(&m->den);
  if (m->method != EVAL_AUTOENCODER) {
    params_free(&m->params);
    params_free(&m->buffers);
  }
  deck_free(m->aedeck);
  deck_free(m->mdeck);
  memset(m, 0, sizeof *m);
}

void eval_encode(eval_model *m, const float *x, long L, float *z) {
  const int64_t in = eval_pixel_floats(m), out = eval_state_floats(m);
  if (!m->latent) {
    memcpy(z, x, sizeof(float) * (size_t)(L * in));
    return;
  }
  for (long l = 0; l < L; l += m->chunk) {
    long n = L - l < m->chunk ? L - l : m->chunk;
    arena_reset(&m->act);
    arena_reset(&m->scratch);
    dcae_pass pass = {.act = &m->act, .scratch = &m->scratch, .train = false};
    k_upload(m->io, x + l * in, sizeof(float) * (size_t)(n * in));
    const float *y = autoencoder_encode(&m->ae, &pass, m->io, n, &m->grid);
    k_download(z + l * out, y, sizeof(float) * (size_t)(n * out));
  }
}

void eval_decode(eval_model *m, const float *z, long L, float *x) {
  const int64_t in = eval_state_floats(m), out = eval_pixel_floats(m);
  if (!m->latent) {
    memcpy(x, z, sizeof(float) * (size_t)(L * in));
    return;
  }
  for (long l = 0; l < L; l += m->chunk) {
    long n = L - l < m->chunk ? L - l : m->chunk;
    arena_reset(&m->act);
    arena_reset(&m->scratch);
    dcae_pass pass = {.act = &m->act, .scratch = &m->scratch, .train = false};
    k_upload(m->io, z + l * in, sizeof(float) * (size_t)(n * in));
    const float *y = autoencoder_decode(&m->ae, &pass, m->io, n, &m->zgrid, false);
    k_download(x + l * out, y, sizeof(float) * (size_t)(n * out));
  }
}
