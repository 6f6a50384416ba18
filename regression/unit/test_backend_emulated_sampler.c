/* The device discipline of the reverse-diffusion samplers and the evaluation
 * emulators, proven without a GPU: on the emulated device backend
 * (kernels/backend.h) every array the samplers and emulators use lives at an
 * address the host cannot touch, so code that reads or writes one outside the
 * kernels faults. Every sampler over a small masked denoiser, and a diffusion
 * and a surrogate emulator window, must give there, bit for bit, what they
 * give on the CPU backend. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/backend.h"
#include "../../kernels/vector.h"
#include "../../src/diffusion_sampler.h"
#include "../../src/eval_emulators.h"
#include "gradcheck.h"
#include "harness.h"

enum { B = 3, C = 2, L = 3, GH = 4, GW = 3, PZ = GH * GW, P = C * L * PZ, LABELS = 2, ALGOS = 7 };
static const int64_t shape[3] = {L, GH, GW};

static vit_config small_vit(void) {
  return (vit_config){.hid_channels = 8,
                      .hid_blocks = 1,
                      .ffn_factor = 2,
                      .attention_heads = 2,
                      .spatial = 3,
                      .patch = {1, 2, 1},
                      .window = {0, 2, 0},
                      .qk_norm = true,
                      .rope = true};
}

/* Initialised, then every value moved by a small random amount (so that no
 * zero-initialised output layer hides the backbone), then onto the device. */
static void perturb_to_device(param_registry *params, param_registry *buffers, unsigned seed) {
  float *noise = malloc((size_t)params->total * sizeof(float));
  fill_uniform(noise, (size_t)params->total, seed);
  for (int64_t i = 0; i < params->total; i++) params->values[i] += 0.1f * noise[i];
  free(noise);
  params_to_device(params);
  params_to_device(buffers);
}

static denoiser_config small_denoiser(void) {
  return (denoiser_config){.channels = C,
                           .emb_features = 8,
                           .label_features = LABELS,
                           .masked = true,
                           .schedule = schedule_default(SCHEDULE_LOG_LOGIT),
                           .arch = small_vit()};
}

/* The masked denoiser of the emulators, on observations y and mask. */
typedef struct {
  denoiser *d;
  param_registry *params, *buffers;
  arena *act;
  const float *y, *mask, *label; /* device */
  float t[B];                    /* host */
} masked_user;

static void masked_mean(void *user, const float *x_t, double t, float *mean, int count) {
  masked_user *u = user;
  for (int b = 0; b < count; b++) u->t[b] = (float)t;
  arena_reset(u->act);
  nn_mode mode = nn_mode_eval();
  denoiser_masked_forward(u->d, u->params, u->buffers, u->act, mean, NULL, x_t, u->t, u->label, u->y, u->mask,
                          count, shape, &mode);
}

static void masked_schedule(void *user, double t, double *alpha, double *sigma) {
  masked_user *u = user;
  schedule_eval(&u->d->cfg.schedule, t, alpha, sigma);
}

static sampler_config algorithm_config(int a) {
  sampler_config c = sampler_defaults((sampler_algorithm)a, 4);
  if (a == SAMPLER_DDIM) c.eta = 0.5; /* with noise */
  if (a == SAMPLER_PC) c.corrections = 2;
  return c;
}

/* Every algorithm's sample of B windows from the same weights, on `kind`:
 * out[a] (B × P floats each). */
static void run_samplers(k_backend_kind kind, float out[ALGOS][B * P]) {
  k_backend_set(kind);
  denoiser_config cfg = small_denoiser();
  param_registry params, buffers;
  params_init(&params, 128);
  params_init(&buffers, 4);
  denoiser d;
  denoiser_declare(&d, &params, &buffers, &cfg);
  params_finalize(&params);
  params_finalize(&buffers);
  denoiser_init(&d, &params, &buffers, (rng_key){.seed = 5, .purpose = RNG_INIT});
  perturb_to_device(&params, &buffers, 41);
  arena act;
  arena_init_device(&act, denoiser_activation_bytes(&d, B, shape) + (1 << 20), "test activations");

  float y[B * P], mask[B * P], label[B * LABELS];
  fill_uniform(y, B * P, 42);
  fill_uniform(label, B * LABELS, 43);
  for (int i = 0; i < B * P; i++) mask[i] = (i % (L * PZ)) < PZ ? 1.0f : 0.0f; /* the first state observed */
  float *dy = k_device_alloc(sizeof y, "y"), *dmask = k_device_alloc(sizeof mask, "mask"),
        *dlabel = k_device_alloc(sizeof label, "label"), *x = k_device_alloc(sizeof y, "x");
  k_upload(dy, y, sizeof y);
  k_upload(dmask, mask, sizeof mask);
  k_upload(dlabel, label, sizeof label);
  masked_user u = {
      .d = &d, .params = &params, .buffers = &buffers, .act = &act, .y = dy, .mask = dmask, .label = dlabel};
  gaussian_denoiser g = {.mean = masked_mean, .schedule = masked_schedule, .user = &u};
  const uint64_t ids[B] = {7, 2, 40};
  for (int a = 0; a < ALGOS; a++) {
    sampler_config c = algorithm_config(a);
    float *work = k_device_alloc(sizeof(float) * (size_t)sampler_workspace_floats(&c, B, P), "work");
    sampler_init(&c, &g, x, B, P, 13, 9, ids);
    sampler_run(&c, &g, x, B, P, work, 13, 9, ids);
    k_download(out[a], x, sizeof(float) * B * P);
    k_device_free(work);
  }
  k_device_free(dy);
  k_device_free(dmask);
  k_device_free(dlabel);
  k_device_free(x);
  arena_free(&act);
  denoiser_free(&d);
  params_free(&params);
  params_free(&buffers);
  k_backend_set(K_BACKEND_CPU);
}

TEST(backend_emulated_samplers_match_cpu) {
  static float cpu[ALGOS][B * P], emu[ALGOS][B * P];
  run_samplers(K_BACKEND_CPU, cpu);
  run_samplers(K_BACKEND_EMULATED, emu);
  for (int a = 0; a < ALGOS; a++) {
    bool same = memcmp(cpu[a], emu[a], sizeof cpu[a]) == 0;
    if (!same) fprintf(stderr, "sampler %d differs between the cpu and emulated backends\n", a);
    CHECK(same);
    double norm = 0;
    bool finite = true;
    for (int i = 0; i < B * P; i++) {
      norm += fabs(cpu[a][i]);
      finite = finite && isfinite(cpu[a][i]);
    }
    CHECK(finite && norm > 0);
    if (a > 0) CHECK(memcmp(cpu[a], cpu[0], sizeof cpu[a]) != 0); /* the algorithms differ */
  }
}

/* An emulator's model, built by hand as eval_model_build would from a checkpoint. */
static void build_model(eval_model *m, eval_method method) {
  memset(m, 0, sizeof *m);
  m->method = method;
  m->built = true;
  m->window = L;
  m->Cz = C;
  m->Pz = PZ;
  m->zgrid.dims = 2;
  m->zgrid.ext[0] = GH;
  m->zgrid.ext[1] = GW;
  m->label_dim = LABELS;
  params_init(&m->params, 128);
  params_init(&m->buffers, 4);
  if (method == EVAL_DIFFUSION) {
    denoiser_config cfg = small_denoiser();
    denoiser_declare(&m->den, &m->params, &m->buffers, &cfg);
  } else {
    surrogate_config cfg = {.channels = C, .emb_features = 8, .label_features = LABELS, .arch = small_vit()};
    surrogate_declare(&m->sur, &m->params, &m->buffers, &cfg);
  }
  params_finalize(&m->params);
  params_finalize(&m->buffers);
  rng_key key = {.seed = 6, .purpose = RNG_INIT};
  if (method == EVAL_DIFFUSION)
    denoiser_init(&m->den, &m->params, &m->buffers, key);
  else
    surrogate_init(&m->sur, &m->params, &m->buffers, key);
  perturb_to_device(&m->params, &m->buffers, 51);
}

/* Two windows of an emulator (one and two observed states) on `kind`: out
 * (2, B, L, C·PZ) in the rollout's state-major layout. */
static void run_emulator(k_backend_kind kind, eval_method method, float *out) {
  k_backend_set(kind);
  eval_model m;
  build_model(&m, method);
  sampler_config sc = sampler_defaults(SAMPLER_AB, 4);
  eval_emulator e;
  eval_emulator_init(&e, &m, B + 1, &sc);
  float obs[B * 2 * C * PZ], label[LABELS] = {0.25f, -0.5f};
  fill_uniform(obs, sizeof obs / sizeof *obs, 52);
  const uint64_t ids[B] = {3, 11, 5};
  e.batch = B;
  e.ids = ids;
  e.seed = 17;
  e.label = label;
  emulator em = eval_emulator_callback(&e);
  em.emulate(em.user, obs, 1, out, 0);
  em.emulate(em.user, obs, 2, out + B * P, 2);
  eval_emulator_free(&e);
  if (method == EVAL_DIFFUSION)
    denoiser_free(&m.den);
  else
    surrogate_free(&m.sur);
  params_free(&m.params);
  params_free(&m.buffers);
  k_backend_set(K_BACKEND_CPU);
}

TEST(backend_emulated_eval_emulators_match_cpu) {
  static float cpu[2 * B * P], emu[2 * B * P];
  for (int k = 0; k < 2; k++) {
    eval_method method = k ? EVAL_SURROGATE : EVAL_DIFFUSION;
    memset(cpu, 0, sizeof cpu);
    memset(emu, 0xFF, sizeof emu);
    run_emulator(K_BACKEND_CPU, method, cpu);
    run_emulator(K_BACKEND_EMULATED, method, emu);
    CHECK(memcmp(cpu, emu, sizeof cpu) == 0);
    double norm = 0;
    for (int i = 0; i < 2 * B * P; i++) norm += fabs(cpu[i]);
    CHECK(isfinite(norm) && norm > 0);
    CHECK(memcmp(cpu, cpu + B * P, sizeof(float) * B * P) != 0); /* the two windows differ */
  }
}
