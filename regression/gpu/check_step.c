/* Whole training steps on the GPU: a few AdamW steps of the demo's latent
 * denoiser (vit_tiny) and of the demo's autoencoder (dcae_f4c8_laptop) on the
 * CPU and on the GPU from the same weights and data, compared (losses and
 * trained parameters, at each GEMM precision); then, with --bench, the step
 * times (forward, backward, AdamW) of the reference's vit_large denoiser on 32
 * latent windows of 64 x 5 x 16 x 16 and of its dcae_f32c64_large
 * autoencoder on 8 states of 5 x 256 x 256, with TFLOP/s and the fraction of
 * the measured bf16 GEMM peak, and a 16-step `ab` sampling of one window for 16
 * ensemble members with the vit_large denoiser (the unit of a rollout). --bench-small runs that code
 * on the demo models (a check of the benchmark, on the emulated device or the CUDA emulator); the
 * flags combine. Exit status 1 when a comparison is out of tolerance. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../kernels/backend.h"
#include "../../kernels/cuda/cuda_device.h"
#include "../../kernels/cuda/kernels_cuda.h"
#include "../../kernels/cuda/timing.h"
#include "../../kernels/optim.h"
#include "../../src/autoencoder.h"
#include "../../src/denoiser_loss.h"
#include "../../src/diffusion_sampler.h"
#include "../bench/reference_models.h"

enum { MAX_STEPS = 16 };

/* --quick: the demo models on smaller inputs (8 x 8 latent windows, 32 x 32
 * states), for the CPU emulator of regression/gpu/emu in make check. */
static bool quick;

typedef struct {
  double loss[MAX_STEPS];
  float *values; /* host copy of the trained parameters, when asked */
  int64_t total;
  double ms_per_step;
  size_t act_bytes;
  double flops; /* of one step's matrix products and convolutions, when counted */
} step_run;

typedef struct {
  const char *name;
  denoiser_config cfg;
  int64_t batch, shape[3];
} denoiser_case;

/* The demo's denoiser (inputs/presets/denoiser/vit_tiny.cfg) on the demo's
 * latent windows, with labels, a local window and dropout so that every op of
 * the training step runs. */
static denoiser_case demo_case(void) {
  denoiser_case c = {.name = "demo vit_tiny",
                     .cfg = {.channels = 8,
                             .emb_features = 64,
                             .label_features = 3,
                             .masked = true,
                             .schedule = schedule_default(SCHEDULE_LOG_LOGIT),
                             .arch = {.hid_channels = 64,
                                      .hid_blocks = 2,
                                      .ffn_factor = 2,
                                      .attention_heads = 2,
                                      .spatial = 3,
                                      .patch = {1, 1, 1},
                                      .window = {0, 9, 0},
                                      .qk_norm = true,
                                      .rope = true,
                                      .dropout = 0.1f}},
                     .batch = 4,
                     .shape = {3, 16, 16}};
  if (quick) c.shape[1] = c.shape[2] = 8, c.cfg.arch.window[1] = 5;
  return c;
}

/* The reference's vit_large denoiser (configs/denoiser/vit_large.yaml) on
 * 64-channel latents of 5 x 16 x 16, batch 32, as issue 9 asks. */
static denoiser_case vit_large_case(void) {
  denoiser_case c = {
      .name = "vit_large", .cfg = vit_large_denoiser_config(), .batch = 32, .shape = {5, 16, 16}};
  return c;
}

static void fill(float *x, size_t n, unsigned seed) {
  unsigned long long s = 0x9E3779B97F4A7C15ULL ^ seed;
  for (size_t i = 0; i < n; i++) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x[i] = (float)((s >> 11) * (2.0 / 9007199254740992.0) - 1.0);
  }
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

/* Multiply-adds of the matrix products of one training step, times 2 (flops):
 * 6 · (matmul weights) · tokens for the linear layers (forward, input and
 * weight gradients), and attention's 4·B·H·L²·D forward times 3.5 (the
 * backward recomputes the scores and takes 2.5 forward's worth). */
static double step_flops(const denoiser_case *c) {
  const vit_config *a = &c->cfg.arch;
  double C = (double)a->hid_channels, E = (double)c->cfg.emb_features, Ci = (double)c->cfg.channels;
  double L = (double)(c->shape[0] * c->shape[1] * c->shape[2]), B = (double)c->batch, tokens = B * L;
  double block = (3 + 1 + 2 * (double)a->ffn_factor) * C * C;          /* qkv, out, FFN */
  double io = (2 * Ci + Ci) * C;                                       /* in_proj (x and mask), out_proj */
  double per_sample = a->hid_blocks * (E * E + E * 4 * C) + 2 * E * E; /* AdaLN nets, time embedding */
  double linear = 6 * (a->hid_blocks * block + io) * tokens + 6 * per_sample * B;
  double attention = 3.5 * 4 * B * L * L * C * a->hid_blocks;
  return linear + attention;
}

/* `steps` AdamW steps of the denoiser loss on the active backend, the first
 * `warmup` of them untimed. */
static step_run train(const denoiser_case *c, int steps, int warmup, bool keep_values) {
  param_registry params, buffers;
  params_init(&params, 1024);
  params_init(&buffers, 8);
  denoiser d;
  denoiser_declare(&d, &params, &buffers, &c->cfg);
  params_finalize(&params);
  params_finalize(&buffers);
  denoiser_init(&d, &params, &buffers, (rng_key){.seed = 1, .purpose = RNG_INIT});
  params_to_device(&params);
  params_to_device(&buffers);
  step_run r = {.total = params.total};
  r.act_bytes = denoiser_loss_activation_bytes(&d, c->batch, c->shape);
  arena act;
  arena_init_device(&act, r.act_bytes, "step activations");

  int64_t P = c->cfg.channels * c->shape[0] * c->shape[1] * c->shape[2], n = c->batch * P;
  int64_t nl = c->batch * (c->cfg.label_features > 0 ? c->cfg.label_features : 1);
  float *h = malloc((size_t)n * sizeof(float)), *hl = malloc((size_t)nl * sizeof(float));
  float *x = k_device_alloc((size_t)n * sizeof(float), "x");
  float *mask = k_device_alloc((size_t)n * sizeof(float), "mask");
  float *label = k_device_alloc((size_t)nl * sizeof(float), "label");
  fill(h, (size_t)n, 1);
  k_upload(x, h, (size_t)n * sizeof(float));
  int64_t frame = P / c->shape[0] / c->cfg.channels; /* the first frame of every channel observed */
  for (int64_t i = 0; i < n; i++) h[i] = (i % P) % (frame * c->shape[0]) < frame ? 1.0f : 0.0f;
  k_upload(mask, h, (size_t)n * sizeof(float));
  fill(hl, (size_t)nl, 2);
  k_upload(label, hl, (size_t)nl * sizeof(float));

  adamw_config opt = {
      .lr = 1e-3, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8, .weight_decay = 0, .grad_clip = 1};
  adamw_state st = {0};
  denoiser_loss L = {.prior = {TIME_PRIOR_UNIFORM, 0.0, 1.0}};
  double t0 = 0;
  for (int s = 0; s < steps; s++) {
    if (s == warmup) {
      k_sync();
      t0 = now_ms();
    }
    nn_mode mode = {.training = true, .key = {.seed = 3, .purpose = RNG_DROPOUT, .step = (uint32_t)s}};
    arena_reset(&act);
    rng_key tk = {.seed = 2, .purpose = RNG_DIFFUSION_TIME, .step = (uint32_t)s};
    rng_key zk = {.seed = 2, .purpose = RNG_NOISE, .step = (uint32_t)s};
    r.loss[s % MAX_STEPS] =
        denoiser_loss_forward(&L, &d, &params, &buffers, &act, x, mask,
                              c->cfg.label_features > 0 ? label : NULL, c->batch, c->shape, tk, zk, 0, &mode);
    denoiser_loss_backward(&L, &d, &params, &act, 1.0);
    k_adamw_safe_step(&opt, &st, 1.0, params.values, params.grads, params.m, params.v, params.total);
  }
  k_sync();
  r.ms_per_step = steps > warmup ? (now_ms() - t0) / (steps - warmup) : 0;
  r.flops = step_flops(c);
  if (keep_values) {
    r.values = malloc((size_t)params.total * sizeof(float));
    memcpy(r.values, params_download(&params), (size_t)params.total * sizeof(float));
  }
  free(h);
  free(hl);
  k_device_free(x);
  k_device_free(mask);
  k_device_free(label);
  denoiser_loss_free(&L);
  arena_free(&act);
  denoiser_free(&d);
  params_free(&params);
  params_free(&buffers);
  return r;
}

static int failures, compared;
/* The GPU's backend; without a device, the emulated one (CPU kernels behind
 * device addresses), which checks this program's host side and nothing more. */
static k_backend_kind gpu = K_BACKEND_CUDA;

static void compare(const char *what, const char *precision, double err, double tol) {
  bool ok = err <= tol;
  failures += !ok;
  compared++;
  printf("step %-44s %-5s %10.2e %9.1e  %s\n", what, precision, err, tol, ok ? "ok" : "FAIL");
}

/* A few steps on the CPU, then on the GPU at each GEMM precision, from the
 * same start: the losses of every step and the trained parameters. */
typedef step_run (*step_runner)(const void *model_case, int steps);

/* Parameters: AdamW's first steps move each weight by about ±lr whatever
 * its gradient's size, so a weight whose gradient is near zero and changes
 * sign under TF32 or bf16 rounding steps 2·lr the other way: with lr = 1e-3
 * and weights of order 1, up to about 6e-3 after 3 steps in either precision
 * (the CPU emulator measured 2e-3 for both, at the old tf32 tolerance). The
 * losses carry the precision's own accuracy. */
static void check_against_cpu(const char *name, int64_t batch, step_runner run, const void *model_case) {
  enum { STEPS = 3 };
  k_backend_set(K_BACKEND_CPU);
  step_run cpu = run(model_case, STEPS);
  printf("(%s: %lld parameters, %.3g GFLOP per step of batch %lld)\n", name, (long long)cpu.total,
         cpu.flops / 1e9, (long long)batch);
  const struct {
    kc_precision p;
    const char *name;
    double loss_tol, param_tol;
  } modes[] = {{KC_FP32, "fp32", 1e-4, 1e-4}, {KC_TF32, "tf32", 1e-2, 6e-3}, {KC_BF16, "bf16", 3e-2, 6e-3}};
  for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
    k_backend_set(gpu);
    kc_set_precision(modes[m].p);
    step_run dev = run(model_case, STEPS);
    k_backend_set(K_BACKEND_CPU);
    double loss_err = 0, worst = 0, scale = 1e-30;
    for (int s = 0; s < STEPS; s++) loss_err = fmax(loss_err, fabs(dev.loss[s] - cpu.loss[s]) / cpu.loss[s]);
    for (int64_t i = 0; i < cpu.total; i++) {
      worst = fmax(worst, fabs((double)dev.values[i] - cpu.values[i]));
      scale = fmax(scale, fabs(cpu.values[i]));
    }
    char what[96];
    snprintf(what, sizeof what, "%s loss (%d steps)", name, STEPS);
    compare(what, modes[m].name, loss_err, modes[m].loss_tol);
    snprintf(what, sizeof what, "%s parameters after %d", name, STEPS);
    compare(what, modes[m].name, worst / scale, modes[m].param_tol);
    free(dev.values);
  }
  free(cpu.values);
}

static step_run denoiser_steps(const void *model_case, int steps) {
  return train(model_case, steps, 0, true);
}

/* ---- the autoencoder ---- */

typedef struct {
  const char *name;
  autoencoder_config cfg;
  ae_loss_config loss;
  int64_t batch;
  dcae_grid grid;
} ae_case;

static ae_case make_ae_case(const char *name, int levels, const int64_t *hid, int blocks, int64_t lat,
                            int64_t batch, int64_t side) {
  dcae_config c = dcae_config_default(2, 5, lat);
  c.levels = levels;
  for (int i = 0; i < levels; i++) {
    c.hid_channels[i] = hid[i];
    c.hid_blocks[i] = blocks;
    c.attention_heads[i] = 0;
  }
  c.dropout = 0.05f;
  ae_case a = {.name = name,
               .cfg = autoencoder_config_symmetric(&c, 5, lat, AE_SAT_SOFTCLIP2, 0.01),
               .loss = {.count = 1, .kind = {AE_LOSS_VRMSE}, .weight = {1.0}},
               .batch = batch,
               .grid = {.dims = 2, .ext = {side, side}}};
  return a;
}

/* 2 · (multiply-adds) of the last forward of a convolution, from its saved shape. */
static double conv_flops(const conv_module *c) {
  int64_t out[K_CONV_MAX_DIMS];
  double positions = (double)k_conv_out_shape(&c->shape, out), taps = 1;
  for (int d = 0; d < c->shape.dims; d++) taps *= c->shape.kernel[d];
  return 2.0 * (double)c->shape.batch * positions * (double)c->shape.cout * (double)c->shape.cin * taps;
}

/* Forward, input and weight gradients: 3 × the forward's convolutions (the
 * few attention levels and the norms are left out). */
static double ae_step_flops(const autoencoder *ae) {
  double flops = 0;
  const dcae_stack *stacks[2] = {&ae->encoder, &ae->decoder};
  for (int s = 0; s < 2; s++)
    for (int i = 0; i < stacks[s]->count; i++) {
      const dcae_layer *l = &stacks[s]->layers[i];
      if (l->kind == DCAE_CONV) flops += conv_flops(&l->conv);
      if (l->kind == DCAE_RESBLOCK) flops += conv_flops(&l->block.ffn_in) + conv_flops(&l->block.ffn_out);
    }
  return 3 * flops;
}

/* `steps` AdamW steps of the autoencoder loss (noisy decode, dropout) on the active backend. */
static step_run train_ae(const ae_case *c, int steps, int warmup, bool keep_values) {
  autoencoder ae;
  autoencoder_create(&ae, &c->cfg);
  autoencoder_init(&ae, 1);
  params_to_device(&ae.params);
  params_to_device(&ae.buffers);
  step_run r = {.total = ae.params.total};
  r.act_bytes = autoencoder_activation_bytes(&ae, c->batch, &c->grid, true);
  size_t scratch_bytes = autoencoder_scratch_bytes(&ae, c->batch, &c->grid);
  arena act, scratch;
  arena_init_device(&act, r.act_bytes, "step activations");
  arena_init_device(&scratch, scratch_bytes, "step scratch");
  int64_t n = c->batch * 5 * c->grid.ext[0] * c->grid.ext[1];
  float *h = malloc((size_t)n * sizeof(float));
  fill(h, (size_t)n, 5);
  float *x = k_device_alloc((size_t)n * sizeof(float), "x");
  k_upload(x, h, (size_t)n * sizeof(float));
  adamw_config opt = {
      .lr = 1e-3, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8, .weight_decay = 0, .grad_clip = 1};
  adamw_state st = {0};
  double t0 = 0;
  for (int s = 0; s < steps; s++) {
    if (s == warmup) {
      k_sync();
      t0 = now_ms();
    }
    arena_reset(&act);
    arena_reset(&scratch);
    dcae_pass p = {.act = &act, .scratch = &scratch, .train = true, .seed = 7, .step = (uint32_t)s};
    r.loss[s % MAX_STEPS] = autoencoder_loss_step(&ae, &c->loss, &p, x, c->batch, &c->grid, true, 1.0, NULL);
    k_adamw_safe_step(&opt, &st, 1.0, ae.params.values, ae.params.grads, ae.params.m, ae.params.v,
                      ae.params.total);
  }
  k_sync();
  r.ms_per_step = steps > warmup ? (now_ms() - t0) / (steps - warmup) : 0;
  r.act_bytes += scratch_bytes;
  r.flops = ae_step_flops(&ae);
  if (keep_values) {
    r.values = malloc((size_t)ae.params.total * sizeof(float));
    memcpy(r.values, params_download(&ae.params), (size_t)ae.params.total * sizeof(float));
  }
  free(h);
  k_device_free(x);
  arena_free(&act);
  arena_free(&scratch);
  autoencoder_free(&ae);
  return r;
}

/* The demo's autoencoder (inputs/presets/ae/dcae_f4c8_laptop.cfg) on 5 x 64 x 64 states. */
static ae_case demo_ae_case(void) {
  static const int64_t hid[] = {16, 32, 64};
  return make_ae_case("demo dcae_f4c8_laptop", 3, hid, 1, 8, 4, quick ? 32 : 64);
}

/* The reference's dcae_f32c64_large (configs/ae/dcae_f32c64_large.yaml) on 5 x 256 x 256, batch 8. */
static ae_case large_ae_case(void) {
  static const int64_t hid[] = {64, 128, 256, 512, 768, 1024};
  return make_ae_case("dcae_f32c64_large", 6, hid, 3, 64, 8, 256);
}

static step_run ae_steps(const void *model_case, int steps) { return train_ae(model_case, steps, 0, true); }

/* ---- sampling: the unit of a rollout ---- */

typedef struct {
  denoiser *d;
  param_registry *params, *buffers;
  arena *act;
  const float *y, *mask;
  float *t; /* host: one time per member */
  const int64_t *shape;
  int evaluations;
} sampling;

static void sampling_mean(void *user, const float *x_t, double t, float *mean, int count) {
  sampling *s = user;
  for (int b = 0; b < count; b++) s->t[b] = (float)t;
  arena_reset(s->act);
  nn_mode mode = nn_mode_eval();
  denoiser_masked_forward(s->d, s->params, s->buffers, s->act, mean, NULL, x_t, s->t, NULL, s->y, s->mask,
                          count, s->shape, &mode);
  s->evaluations++;
}

static void sampling_schedule(void *user, double t, double *alpha, double *sigma) {
  sampling *s = user;
  schedule_eval(&s->d->cfg.schedule, t, alpha, sigma);
}

/* ms per sampling of one window for `members` members with `steps` steps of
 * ab (order 3); the last sample into `out` (host) when not NULL. */
static double run_sampling(const denoiser_case *c, int members, int steps, int repeats, int *evals,
                           float *out) {
  param_registry params, buffers;
  params_init(&params, 1024);
  params_init(&buffers, 8);
  denoiser d;
  denoiser_declare(&d, &params, &buffers, &c->cfg);
  params_finalize(&params);
  params_finalize(&buffers);
  denoiser_init(&d, &params, &buffers, (rng_key){.seed = 1, .purpose = RNG_INIT});
  params_to_device(&params);
  params_to_device(&buffers);
  int64_t P = c->cfg.channels * c->shape[0] * c->shape[1] * c->shape[2], n = members * P;
  arena act;
  arena_init_device(&act, denoiser_activation_bytes(&d, members, c->shape) + (1 << 20),
                    "sampling activations");
  sampler_config sc = sampler_defaults(SAMPLER_AB, steps);
  float *h = malloc((size_t)n * sizeof(float)), *t = malloc((size_t)members * sizeof(float));
  uint64_t *ids = malloc((size_t)members * sizeof(uint64_t));
  for (int b = 0; b < members; b++) ids[b] = (uint64_t)b;
  float *x = k_device_alloc((size_t)n * sizeof(float), "x"),
        *y = k_device_alloc((size_t)n * sizeof(float), "y");
  float *mask = k_device_alloc((size_t)n * sizeof(float), "mask");
  float *work = k_device_alloc((size_t)sampler_workspace_floats(&sc, members, P) * sizeof(float), "work");
  fill(h, (size_t)n, 9);
  k_upload(y, h, (size_t)n * sizeof(float));
  int64_t frame = P / c->shape[0] / c->cfg.channels; /* the first state observed */
  for (int64_t i = 0; i < n; i++) h[i] = (i % P) % (frame * c->shape[0]) < frame ? 1.0f : 0.0f;
  k_upload(mask, h, (size_t)n * sizeof(float));
  sampling s = {.d = &d,
                .params = &params,
                .buffers = &buffers,
                .act = &act,
                .y = y,
                .mask = mask,
                .t = t,
                .shape = c->shape};
  gaussian_denoiser g = {.mean = sampling_mean, .schedule = sampling_schedule, .user = &s};
  double t0 = 0;
  for (int r = 0; r <= repeats; r++) { /* the first is the warm-up */
    if (r == 1) {
      k_sync();
      t0 = now_ms();
      s.evaluations = 0;
    }
    sampler_init(&sc, &g, x, members, P, 11, (uint32_t)r, ids);
    sampler_run(&sc, &g, x, members, P, work, 11, (uint32_t)r, ids);
  }
  k_sync();
  double ms = (now_ms() - t0) / repeats;
  *evals = s.evaluations / repeats;
  if (out) k_download(out, x, (size_t)n * sizeof(float));
  free(h);
  free(t);
  free(ids);
  k_device_free(x);
  k_device_free(y);
  k_device_free(mask);
  k_device_free(work);
  arena_free(&act);
  denoiser_free(&d);
  params_free(&params);
  params_free(&buffers);
  return ms;
}

/* A window sampled for 4 members with 8 ab steps by the demo denoiser, on the
 * CPU and on the GPU from the same weights and noise. */
static void check_sampling_parity(void) {
  denoiser_case c = demo_case();
  c.cfg.arch.dropout = 0;
  int64_t n = 4 * c.cfg.channels * c.shape[0] * c.shape[1] * c.shape[2];
  float *cpu = malloc((size_t)n * sizeof(float)), *dev = malloc((size_t)n * sizeof(float));
  int evals = 0;
  k_backend_set(K_BACKEND_CPU);
  run_sampling(&c, 4, 8, 1, &evals, cpu);
  const struct {
    kc_precision p;
    const char *name;
    double tol;
  } modes[] = {{KC_FP32, "fp32", 1e-4}, {KC_BF16, "bf16", 3e-2}};
  for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
    k_backend_set(gpu);
    kc_set_precision(modes[m].p);
    run_sampling(&c, 4, 8, 1, &evals, dev);
    k_backend_set(K_BACKEND_CPU);
    double worst = 0, scale = 1e-30;
    for (int64_t i = 0; i < n; i++) {
      worst = fmax(worst, fabs((double)dev[i] - cpu[i]));
      scale = fmax(scale, fabs(cpu[i]));
    }
    compare("demo vit_tiny ab sampling (8 steps, 4 members)", modes[m].name, worst / scale, modes[m].tol);
  }
  free(cpu);
  free(dev);
}

/* `small`: the demo's sizes, on any backend (a check of the benchmark itself). */
static void bench(bool small) {
  /* --bench-small checks this code (on the emulator too), not the GPU: a small peak GEMM */
  const int64_t peak_n = small ? 256 : 8192;
  double peak = gpu == K_BACKEND_CUDA ? kc_bf16_gemm_tflops(peak_n, small ? 1 : 10) : 1.0;
  printf("\nbench: bf16 GEMM peak (cuBLAS, %lld^3)   %8.1f TFLOP/s\n", (long long)peak_n, peak);
  fflush(stdout);
  /* bf16 first (what run.precision defaults to and what PyTorch's autocast does): a time limit
   * that cuts the run short loses the least */
  denoiser_case c = small ? demo_case() : vit_large_case();
  kc_set_precision(KC_BF16);
  k_backend_set(gpu);
  double free_gb = (double)cuda_device_free_bytes() / (1 << 30);
  step_run r = train(&c, 5, 2, false);
  printf(
      "bench: denoiser %s step, batch %lld of %lldx%lldx%lldx%lld (bf16): %8.1f ms, %6.1f TFLOP/s, "
      "%.0f%% of the bf16 peak, activations %.1f GiB of %.1f GiB free, loss %.4f\n",
      c.name, (long long)c.batch, (long long)c.cfg.channels, (long long)c.shape[0], (long long)c.shape[1],
      (long long)c.shape[2], r.ms_per_step, r.flops / r.ms_per_step / 1e9,
      100 * r.flops / r.ms_per_step / 1e9 / peak, (double)r.act_bytes / (1 << 30), free_gb, r.loss[4]);
  fflush(stdout);
  int evals = 0;
  double ms = run_sampling(&c, 16, 16, small ? 1 : 3, &evals, NULL);
  const vit_config *v = &c.cfg.arch;
  double L = (double)(c.shape[0] * c.shape[1] * c.shape[2]), C = (double)v->hid_channels;
  double fwd = 2.0 * (3 + 1 + 2 * (double)v->ffn_factor) * C * C * 16 * L * v->hid_blocks +
               4.0 * 16 * L * L * C * v->hid_blocks; /* forward only, batch 16 */
  printf(
      "bench: sampling ab (16 steps, order 3) of 16 members, %s (bf16): %8.1f ms per window, %d denoiser "
      "evaluations, %.1f ms each, %6.1f TFLOP/s\n",
      c.name, ms, evals, ms / evals, fwd * evals / ms / 1e9);
  fflush(stdout);
  k_backend_set(K_BACKEND_CPU);
  ae_case a = small ? demo_ae_case() : large_ae_case();
  const struct {
    kc_precision p;
    const char *name;
  } modes[] = {{KC_BF16, "bf16"}, {KC_TF32, "tf32"}};
  for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
    kc_set_precision(modes[m].p);
    k_backend_set(gpu);
    free_gb = (double)cuda_device_free_bytes() / (1 << 30);
    r = train_ae(&a, 5, 2, false);
    printf(
        "bench: autoencoder %s step, batch %lld of 5x%lldx%lld (%s): %8.1f ms, %6.1f TFLOP/s, %.0f%% of "
        "the bf16 peak, activations %.1f GiB of %.1f GiB free, loss %.4f\n",
        a.name, (long long)a.batch, (long long)a.grid.ext[0], (long long)a.grid.ext[1], modes[m].name,
        r.ms_per_step, r.flops / r.ms_per_step / 1e9, 100 * r.flops / r.ms_per_step / 1e9 / peak,
        (double)r.act_bytes / (1 << 30), free_gb, r.loss[4]);
    fflush(stdout);
    k_backend_set(K_BACKEND_CPU);
  }
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0); /* a part killed by its time limit keeps its lines */
  if (cuda_device_count() == 0) {
    printf(
        "check_step: no CUDA device visible: the emulated device stands in (a check of this program; "
        "no benchmark)\n");
    if (getenv("LOLA_GPU_REQUIRED")) return 3;
    gpu = K_BACKEND_EMULATED;
  } else {
    cuda_select_device(0);
  }
  bool bench_large = false, bench_small = false;
  for (int i = 1; i < argc; i++) {
    quick |= strcmp(argv[i], "--quick") == 0;
    bench_large |= strcmp(argv[i], "--bench") == 0;
    bench_small |= strcmp(argv[i], "--bench-small") == 0;
  }
  printf("%-49s %-5s %10s %9s\n", "step check", "mode", "rel.err", "tol");
  denoiser_case dc = demo_case();
  check_against_cpu(dc.name, dc.batch, denoiser_steps, &dc);
  ae_case ac = demo_ae_case();
  check_against_cpu(ac.name, ac.batch, ae_steps, &ac);
  check_sampling_parity();
  printf("\ngpu steps: %d passed, %d failed\n", compared - failures, failures);
  if (bench_large && gpu == K_BACKEND_CUDA) bench(false);
  if (bench_small) bench(true);
  return failures ? 1 : 0;
}
