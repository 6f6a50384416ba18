/* The device discipline of the models, proven without a GPU: on the emulated
 * device backend (kernels/backend.h) every activation and parameter lives at
 * an address the host cannot touch, so a model that reads or writes one
 * outside the kernels faults. Training steps of the masked denoiser and
 * forward/backward passes of the surrogate run there and must give, bit for
 * bit, what they give on the CPU backend. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/backend.h"
#include "../../kernels/optim.h"
#include "../../kernels/vector.h"
#include "../../src/checkpoint.h"
#include "../../src/denoiser_loss.h"
#include "../../src/surrogate.h"
#include "gradcheck.h"
#include "harness.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#ifndef UNDER_ASAN /* the sanitizer's shadow lookup of such an address is its own fault */
static sigjmp_buf fault_jump;

static void on_fault(int sig) { siglongjmp(fault_jump, sig); }

/* Whether reading *p from the host faults (SIGSEGV or SIGBUS). */
static bool host_read_faults(const float *p) {
  struct sigaction act = {0}, old_segv, old_bus;
  act.sa_handler = on_fault;
  sigemptyset(&act.sa_mask);
  sigaction(SIGSEGV, &act, &old_segv);
  sigaction(SIGBUS, &act, &old_bus);
  volatile bool faulted = false;
  if (sigsetjmp(fault_jump, 1) == 0) {
    volatile float v = *(volatile const float *)p;
    (void)v;
  } else {
    faulted = true;
  }
  sigaction(SIGSEGV, &old_segv, NULL);
  sigaction(SIGBUS, &old_bus, NULL);
  return faulted;
}
#endif

TEST(backend_emulated_memory_is_out_of_host_reach) {
  k_backend_set(K_BACKEND_EMULATED);
  CHECK(k_backend_on_device());
  float host[5] = {1, 2, 3, 4, 5}, back[5] = {0};
  float *d = k_device_alloc(sizeof host, "test");
  k_upload(d, host, sizeof host);
  k_scal(d, 2.0f, 5); /* a kernel sees the data */
  k_download(back, d, sizeof back);
  for (int i = 0; i < 5; i++) CHECK(back[i] == 2 * host[i]);
#ifndef UNDER_ASAN
  CHECK(host_read_faults(d));
  CHECK(host_read_faults(d + 3));
#endif
  k_device_free(d);
  k_backend_set(K_BACKEND_CPU);
  CHECK(!k_backend_on_device());
}

enum { B = 3, C = 2, T = 2, H = 4, W = 3, P = C * T * H * W, LABELS = 2 };
static const int64_t shape[3] = {T, H, W};

typedef struct {
  double loss[3];
  float *values; /* host copy of the trained parameters */
  int64_t total;
} run_result;

/* Three AdamW steps of the masked denoiser's loss with dropout, labels, RoPE,
 * QK-norm and a local attention window, on the active backend. */
static run_result train_denoiser(k_backend_kind kind) {
  k_backend_set(kind);
  denoiser_config cfg = {.channels = C,
                         .emb_features = 8,
                         .label_features = LABELS,
                         .masked = true,
                         .schedule = schedule_default(SCHEDULE_LOG_LOGIT),
                         .arch = {.hid_channels = 8,
                                  .hid_blocks = 2,
                                  .ffn_factor = 2,
                                  .attention_heads = 2,
                                  .spatial = 3,
                                  .patch = {1, 2, 1},
                                  .window = {0, 2, 0},
                                  .qk_norm = true,
                                  .rope = true,
                                  .dropout = 0.25f}};
  param_registry params, buffers;
  params_init(&params, 128);
  params_init(&buffers, 4);
  denoiser d;
  denoiser_declare(&d, &params, &buffers, &cfg);
  params_finalize(&params);
  params_finalize(&buffers);
  denoiser_init(&d, &params, &buffers, (rng_key){.seed = 3, .purpose = RNG_INIT});
  params_to_device(&params);
  params_to_device(&buffers);
  arena act;
  arena_init_device(&act, denoiser_loss_activation_bytes(&d, B, shape), "test activations");

  float x[B * P], mask[B * P], label[B * LABELS];
  fill_uniform(x, B * P, 11);
  fill_uniform(label, B * LABELS, 12);
  for (int i = 0; i < B * P; i++) mask[i] = (i % P) < H * W ? 1.0f : 0.0f; /* the first frame observed */
  float *dx = k_device_alloc(sizeof x, "x"), *dmask = k_device_alloc(sizeof mask, "mask"),
        *dlabel = k_device_alloc(sizeof label, "label");
  k_upload(dx, x, sizeof x);
  k_upload(dmask, mask, sizeof mask);
  k_upload(dlabel, label, sizeof label);

  adamw_config opt = {
      .lr = 1e-2, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8, .weight_decay = 0.01, .grad_clip = 1};
  adamw_state st = {0};
  denoiser_loss L = {.prior = {TIME_PRIOR_UNIFORM, 0.1, 0.9}};
  run_result r = {.total = params.total};
  for (int step = 0; step < 3; step++) {
    nn_mode mode = {.training = true,
                    .key = {.seed = 9, .purpose = RNG_DROPOUT, .step = (uint32_t)step},
                    .first_sample = 6};
    arena_reset(&act);
    rng_key tk = {.seed = 4, .purpose = RNG_DIFFUSION_TIME, .step = (uint32_t)step};
    rng_key zk = {.seed = 4, .purpose = RNG_NOISE, .step = (uint32_t)step};
    r.loss[step] =
        denoiser_loss_forward(&L, &d, &params, &buffers, &act, dx, dmask, dlabel, B, shape, tk, zk, 6, &mode);
    denoiser_loss_backward(&L, &d, &params, &act, 1.0);
    k_adamw_safe_step(&opt, &st, 1.0, params.values, params.grads, params.m, params.v, params.total);
  }
  r.values = malloc((size_t)params.total * sizeof(float));
  memcpy(r.values, params_download(&params), (size_t)params.total * sizeof(float));
  k_device_free(dx);
  k_device_free(dmask);
  k_device_free(dlabel);
  denoiser_loss_free(&L);
  arena_free(&act);
  denoiser_free(&d);
  params_free(&params);
  params_free(&buffers);
  k_backend_set(K_BACKEND_CPU);
  return r;
}

TEST(backend_emulated_denoiser_training_matches_cpu) {
  run_result cpu = train_denoiser(K_BACKEND_CPU), emu = train_denoiser(K_BACKEND_EMULATED);
  CHECK(cpu.total == emu.total && cpu.total > 1000);
  for (int s = 0; s < 3; s++) CHECK(cpu.loss[s] == emu.loss[s] && cpu.loss[s] > 0);
  CHECK(cpu.loss[2] != cpu.loss[0]); /* the steps moved the weights */
  CHECK(memcmp(cpu.values, emu.values, (size_t)cpu.total * sizeof(float)) == 0);
  free(cpu.values);
  free(emu.values);
}

/* The surrogate's forward and backward (with the input gradient) on the active backend. */
static void surrogate_pass(k_backend_kind kind, float *y_out, float *dx_out, float *grads_out,
                           int64_t *total) {
  k_backend_set(kind);
  surrogate_config cfg = {.channels = C,
                          .emb_features = 8,
                          .label_features = LABELS,
                          .arch = {.hid_channels = 8,
                                   .hid_blocks = 1,
                                   .ffn_factor = 2,
                                   .attention_heads = 2,
                                   .spatial = 3,
                                   .patch = {1, 1, 1},
                                   .qk_norm = false,
                                   .rope = true}};
  param_registry params, buffers;
  params_init(&params, 64);
  params_init(&buffers, 4);
  surrogate m;
  surrogate_declare(&m, &params, &buffers, &cfg);
  params_finalize(&params);
  params_finalize(&buffers);
  surrogate_init(&m, &params, &buffers, (rng_key){.seed = 8, .purpose = RNG_INIT});
  params_to_device(&params);
  params_to_device(&buffers);
  arena act;
  arena_init_device(&act, surrogate_activation_bytes(&m, B, shape) + (1 << 16), "test activations");
  float x[B * P], mask[B * P], label[B * LABELS], dy[B * P];
  fill_uniform(x, B * P, 21);
  fill_uniform(label, B * LABELS, 22);
  fill_uniform(dy, B * P, 23);
  for (int i = 0; i < B * P; i++) mask[i] = (i / 5) % 2 ? 1.0f : 0.0f;
  float *d[5];
  const float *h[4] = {x, mask, label, dy};
  size_t n[5] = {sizeof x, sizeof mask, sizeof label, sizeof dy, sizeof x};
  for (int i = 0; i < 5; i++) {
    d[i] = k_device_alloc(n[i], "surrogate test");
    if (i < 4) k_upload(d[i], h[i], n[i]);
  }
  float *y = arena_floats(&act, B * P);
  nn_mode mode = nn_mode_eval();
  surrogate_forward(&m, &params, &buffers, &act, y, d[0], d[1], d[2], B, shape, &mode);
  surrogate_backward(&m, &params, &act, d[4], d[3]);
  k_download(y_out, y, sizeof x);
  k_download(dx_out, d[4], sizeof x);
  *total = params.total;
  if (grads_out) k_download(grads_out, params.grads, (size_t)params.total * sizeof(float));
  for (int i = 0; i < 5; i++) k_device_free(d[i]);
  arena_free(&act);
  surrogate_free(&m);
  params_free(&params);
  params_free(&buffers);
  k_backend_set(K_BACKEND_CPU);
}

TEST(backend_emulated_surrogate_matches_cpu) {
  float y0[B * P], y1[B * P], dx0[B * P], dx1[B * P];
  int64_t total = 0;
  surrogate_pass(K_BACKEND_CPU, y0, dx0, NULL, &total);
  float *g0 = malloc((size_t)total * sizeof(float)), *g1 = malloc((size_t)total * sizeof(float));
  surrogate_pass(K_BACKEND_CPU, y0, dx0, g0, &total);
  surrogate_pass(K_BACKEND_EMULATED, y1, dx1, g1, &total);
  CHECK(memcmp(y0, y1, sizeof y0) == 0);
  CHECK(memcmp(dx0, dx1, sizeof dx0) == 0);
  CHECK(memcmp(g0, g1, (size_t)total * sizeof(float)) == 0);
  double norm = 0;
  for (int i = 0; i < B * P; i++) norm += fabs(dx0[i]);
  CHECK(norm > 0);
  free(g0);
  free(g1);
}

/* A checkpoint written from the emulated device and read back onto it holds
 * the device's values and moments (download before writing, upload after
 * reading). */
TEST(backend_emulated_checkpoint_round_trip) {
  k_backend_set(K_BACKEND_EMULATED);
  param_registry a, b;
  const int64_t shape[2] = {3, 5};
  params_init(&a, 2);
  params_init(&b, 2);
  params_add(&a, "w", 2, shape);
  params_add(&b, "w", 2, shape);
  params_finalize(&a);
  params_finalize(&b);
  fill_uniform(a.values, (size_t)a.total, 31);
  fill_uniform(a.m, (size_t)a.total, 32);
  fill_uniform(a.v, (size_t)a.total, 33);
  params_to_device(&a);
  params_to_device(&b);
  k_scal(a.values, 3.0f, a.total); /* device-side changes the host copies do not have yet */
  k_scal(a.v, 0.5f, a.total);
  float want[3][15], got[3][15];
  k_download(want[0], a.values, sizeof want[0]);
  k_download(want[1], a.m, sizeof want[1]);
  k_download(want[2], a.v, sizeof want[2]);
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/emulated_checkpoint", harness_tmpdir());
  train_counters c = {.epoch = 1, .step = 7, .ranks = 1, .opt = {.steps = 7}};
  checkpoint_save(dir, "last", &a, NULL, &c, "stages = [];\n");
  train_counters back = {0};
  CHECK(checkpoint_load(dir, "last", &b, NULL, &back));
  k_download(got[0], b.values, sizeof got[0]);
  k_download(got[1], b.m, sizeof got[1]);
  k_download(got[2], b.v, sizeof got[2]);
  CHECK(memcmp(want, got, sizeof want) == 0);
  CHECK(back.step == 7 && back.opt.steps == 7);
  params_free(&a);
  params_free(&b);
  k_backend_set(K_BACKEND_CPU);
}
