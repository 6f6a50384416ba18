/* Benchmark B1: one training step of the DCAE autoencoder (forward, MSE loss,
 * backward, AdamW) with hid_channels (32, 64, 128, 256), 2 ResBlocks per
 * level, 5 → 16 latent channels, pixel shuffle, batch 8 × 5 × 64 × 64. For 1
 * and 2 threads it reports the step time, the achieved GFLOP/s of the
 * convolutions, the fraction of this machine's OpenBLAS sgemm peak (measured
 * here, on the same threads) and the ratio to PyTorch running the reference's
 * get_autoencoder on the same batch and threads, timed in the same run by
 * bench_dcae_torch.py (set LOLA_PYTHON to an interpreter that has torch, and
 * LOLA_REF as ../shared/reference says).
 *
 *   build/<b>/bench/bench_dcae [max_threads] [steps]     (default 2, 4) */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../kernels/optim.h"
#include "../../src/autoencoder.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Best of a few 1536³ sgemms on the current threads. */
static double sgemm_peak(void) {
  const int n = 1536;
  float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n),
        *c = malloc(sizeof(float) * n * n);
  rng_normal(a, (int64_t)n * n, (rng_key){.seed = 1, .purpose = RNG_TEST}, 0, 0);
  rng_normal(b, (int64_t)n * n, (rng_key){.seed = 2, .purpose = RNG_TEST}, 0, 0);
  double best = 1e30;
  for (int r = 0; r < 4; r++) {
    double t0 = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    double t = now() - t0;
    if (r > 0 && t < best) best = t;
  }
  free(a), free(b), free(c);
  return 2.0 * n * (double)n * n / best * 1e-9;
}

/* 2 × the multiply-adds of every convolution's forward (a training step does
 * about 3 times that: forward, input and weight gradients). */
static double conv_flops(const dcae_stack *m, int64_t batch, const dcae_grid *in) {
  double flops = 0;
  dcae_grid g = *in;
  for (int i = 0; i < m->count; i++) {
    const dcae_layer *l = &m->layers[i];
    const conv_module *convs[2] = {NULL, NULL};
    if (l->kind == DCAE_CONV) convs[0] = &l->conv;
    if (l->kind == DCAE_RESBLOCK) convs[0] = &l->block.ffn_in, convs[1] = &l->block.ffn_out;
    for (int k = 0; k < 2 && convs[k]; k++) {
      const conv_module_config *cc = &convs[k]->cfg;
      dcae_grid out = conv_module_out_grid(cc, &g);
      double kvol = (double)cc->kernel[0] * cc->kernel[1] * cc->kernel[2];
      flops +=
          2.0 * (double)batch * (double)cc->cout * (double)cc->cin * kvol * (double)dcae_grid_volume(&out);
    }
    if (l->kind == DCAE_CONV) g = conv_module_out_grid(&l->conv.cfg, &g);
    if (l->kind == DCAE_PATCH || l->kind == DCAE_UNPATCH || l->kind == DCAE_UPSAMPLE)
      for (int d = 0; d < in->dims; d++)
        g.ext[d] = l->kind == DCAE_PATCH ? g.ext[d] / l->factor[d] : g.ext[d] * l->factor[d];
  }
  return flops;
}

static double torch_seconds(int threads, char *note, size_t n) {
  const char *python = getenv("LOLA_PYTHON") ? getenv("LOLA_PYTHON") : "python3";
  char cmd[1024], line[512];
  snprintf(cmd, sizeof cmd, "%s regression/bench/bench_dcae_torch.py --threads %d 2>&1", python, threads);
  snprintf(note, n, "not run");
  FILE *p = popen(cmd, "r");
  if (!p) return 0;
  double seconds = 0;
  while (fgets(line, sizeof line, p)) {
    line[strcspn(line, "\n")] = '\0';
    if (sscanf(line, "seconds_per_step %lf", &seconds) == 1)
      snprintf(note, n, "timed");
    else if (strncmp(line, "skipped", 7) == 0 || strstr(line, "Error"))
      snprintf(note, n, "%.200s", line);
  }
  pclose(p);
  return seconds;
}

int main(int argc, char **argv) {
  int max_threads = argc > 1 ? atoi(argv[1]) : 2, steps = argc > 2 ? atoi(argv[2]) : 4;
  const int64_t B = 8;
  const dcae_grid grid = {2, {64, 64, 1}};
  dcae_config shared = dcae_config_default(2, 0, 0);
  shared.levels = 4;
  for (int i = 0; i < 4; i++) shared.hid_channels[i] = 32 << i, shared.hid_blocks[i] = 2;
  autoencoder_config cfg = autoencoder_config_symmetric(&shared, 5, 16, AE_SAT_SOFTCLIP2, 0.0);
  autoencoder ae;
  autoencoder_create(&ae, &cfg);
  autoencoder_init(&ae, 1);
  ae_loss_config loss = {1, {AE_LOSS_MSE}, {1.0}};
  adamw_config opt = {
      .lr = 1e-4, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8, .weight_decay = 0.0, .grad_clip = 1.0};
  adamw_state st = {0};

  omp_set_num_threads(max_threads); /* the conv workspaces are sized for the most threads */
  arena act, scratch;
  arena_init(&act, autoencoder_activation_bytes(&ae, B, &grid, true), "activations");
  arena_init(&scratch, autoencoder_scratch_bytes(&ae, B, &grid), "scratch");
  float *x = malloc(sizeof(float) * (size_t)(B * 5 * 64 * 64));
  rng_normal(x, B * 5 * 64 * 64, (rng_key){.seed = 3, .purpose = RNG_TEST}, 0, 0);
  dcae_grid lat;
  autoencoder_latent_shape(&ae, &grid, &lat);
  double flops = 3.0 * (conv_flops(&ae.encoder, B, &grid) + conv_flops(&ae.decoder, B, &lat));
  printf(
      "bench_dcae (B1): DCAE hid (32, 64, 128, 256) x 2 blocks, 5 -> 16 channels, pixel shuffle, batch "
      "8x5x64x64,\n"
      "  MSE loss, AdamW; %lld parameters, %.1f GFLOP of convolutions per step, arenas %.0f + %.0f MB\n",
      (long long)ae.params.total, flops * 1e-9, (double)act.capacity / 1e6, (double)scratch.capacity / 1e6);
  printf("%8s %10s %9s %10s %8s %10s %8s  %s\n", "threads", "s/step", "GFLOP/s", "sgemm_pk", "of_peak",
         "torch_s", "speedup", "(torch)");
  for (int threads = 1; threads <= max_threads; threads++) {
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    double best = 1e30;
    for (int s = 0; s <= steps; s++) {
      double t0 = now();
      arena_reset(&act);
      dcae_pass p = {
          .act = &act, .scratch = &scratch, .train = true, .seed = 1, .step = (uint32_t)s, .first_sample = 0};
      autoencoder_loss_step(&ae, &loss, &p, x, B, &grid, false, 1.0, NULL);
      k_adamw_safe_step(&opt, &st, 1.0, ae.params.values, ae.params.grads, ae.params.m, ae.params.v,
                        ae.params.total);
      double t = now() - t0;
      if (s > 0 && t < best) best = t; /* step 0 warms up */
    }
    double peak = sgemm_peak();
    char note[256];
    double torch = torch_seconds(threads, note, sizeof note);
    char speedup[16] = "-";
    if (torch > 0) snprintf(speedup, sizeof speedup, "%.2fx", torch / best);
    printf("%8d %10.3f %9.1f %10.1f %8.2f %10.3f %8s  %s\n", threads, best, flops / best * 1e-9, peak,
           flops / best * 1e-9 / peak, torch, speedup, note);
  }
  free(x);
  arena_free(&act);
  arena_free(&scratch);
  autoencoder_free(&ae);
  return 0;
}
