/* Benchmark B2: one training step (forward, MSE loss, backward, AdamW) of the
 * latent ViT of issue 6 — 256 channels, 8 blocks, 4 heads, QK-norm, RoPE,
 * FFN ×4, 3 token axes, 16 → 16 channels with 16 condition channels,
 * modulation 256, batch 8 × 16 × 5 × 8 × 8 — on 1 and 2 threads, with the
 * achieved GFLOP/s against this machine's OpenBLAS sgemm peak (measured here
 * on the same threads) and the ratio to the reference's PyTorch ViT timed in
 * the same run by bench_vit_torch.py (set LOLA_PYTHON to an interpreter with
 * PyTorch and LOLA_REF to the reference; skipped otherwise).
 *
 *   build/<b>/bench/bench_vit [max_threads] [steps] [rounds]     (default 2, 3, 2) */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../kernels/kernels.h"
#include "../../parallel/comm.h"
#include "../../src/vit.h"

enum { BATCH = 8, CH = 16, MOD = 256 };
static const int64_t shape[3] = {5, 8, 8};

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double sgemm_peak(void) {
  const int n = 1536;
  float *a = malloc(sizeof *a * (size_t)n * n), *b = malloc(sizeof *b * (size_t)n * n);
  float *c = malloc(sizeof *c * (size_t)n * n);
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

/* Matmul FLOPs of one step, 3× the forward's (backward = 2 forwards). */
static double step_flops(const vit_config *c, int64_t L) {
  double rows = (double)BATCH * L, C = (double)c->hid_channels, F = (double)c->ffn_factor * C;
  double per_block = 2 * rows * (3 * C * C + C * C + 2 * C * F) + 4.0 * BATCH * L * L * C +
                     2.0 * BATCH * (MOD * MOD + MOD * 4 * C);
  double outer = 2 * rows * (2 * CH * C + C * CH);
  return 3 * (c->hid_blocks * per_block + outer);
}

/* PyTorch's best step time (3 timed steps), or -1 when it is not available. */
static double torch_seconds(int threads) {
  const char *python = getenv("LOLA_PYTHON") ? getenv("LOLA_PYTHON") : "python3";
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s regression/bench/bench_vit_torch.py --threads %d --steps 3 2>&1", python,
           threads);
  FILE *p = popen(cmd, "r");
  if (!p) return -1;
  char line[512];
  double s = -1;
  while (fgets(line, sizeof line, p))
    if (sscanf(line, "seconds_per_step %lf", &s) != 1 && strncmp(line, "skipped", 7) == 0)
      fprintf(stderr, "  torch: %s", line);
  pclose(p);
  return s;
}

int main(int argc, char **argv) {
  comm_init(&argc, &argv);
  int max_threads = argc > 1 ? atoi(argv[1]) : 2, steps = argc > 2 ? atoi(argv[2]) : 3;
  int rounds = argc > 3 ? atoi(argv[3]) : 2;
  vit_config cfg = {.in_channels = CH,
                    .out_channels = CH,
                    .cond_channels = CH,
                    .mod_features = MOD,
                    .hid_channels = 256,
                    .hid_blocks = 8,
                    .ffn_factor = 4,
                    .attention_heads = 4,
                    .spatial = 3,
                    .patch = {1, 1, 1},
                    .qk_norm = true,
                    .rope = true};
  param_registry params, buffers;
  params_init(&params, 256);
  params_init(&buffers, 2);
  vit m;
  vit_declare(&m, &params, &buffers, "", &cfg);
  params_finalize(&params);
  params_finalize(&buffers);
  vit_init(&m, &params, &buffers, (rng_key){.seed = 1, .purpose = RNG_INIT});
  int64_t n = BATCH * CH * shape[0] * shape[1] * shape[2], L = shape[0] * shape[1] * shape[2];
  float *x = malloc(sizeof *x * (size_t)n), *cond = malloc(sizeof *cond * (size_t)n);
  float *target = malloc(sizeof *target * (size_t)n), *y = malloc(sizeof *y * (size_t)n);
  float *dy = malloc(sizeof *dy * (size_t)n), *mod = malloc(sizeof *mod * BATCH * MOD);
  rng_key k = {.seed = 3, .purpose = RNG_TEST};
  rng_normal(x, n, k, 0, 0);
  rng_normal(cond, n, k, 1, 0);
  rng_normal(target, n, k, 2, 0);
  rng_normal(mod, BATCH * MOD, k, 3, 0);
  adamw_config opt = {.lr = 1e-4, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8};
  adamw_state st = {0};
  double flops = step_flops(&cfg, L);
  printf(
      "B2: ViT 256 ch, 8 blocks, 4 heads, QK-norm, RoPE, FFN x4, batch %d x %d x %lld x %lld x %lld, "
      "%.1f M parameters, %.1f GFLOP per step\n",
      BATCH, CH, (long long)shape[0], (long long)shape[1], (long long)shape[2], (double)params.total / 1e6,
      flops * 1e-9);
  for (int threads = 1; threads <= max_threads; threads++) {
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    arena act; /* sized per thread count: the attention workspace depends on it */
    arena_init(&act, vit_activation_bytes(&m, BATCH, shape), "bench activations");
    nn_mode mode = nn_mode_eval();
    double best = 1e30, torch = 1e30, loss = 0;
    /* rounds alternate our steps and PyTorch's, each side keeping its best, so
     * that load from other jobs on a shared machine biases neither */
    for (int round = 0; round < rounds; round++) {
      for (int s = 0; s <= steps; s++) { /* step 0 warms up */
        double t0 = now();
        arena_reset(&act);
        vit_forward(&m, &params, &buffers, &act, y, x, mod, cond, BATCH, shape, &mode);
        loss = k_mse_fwd(y, target, n);
        k_mse_bwd(dy, y, target, n, 1.0);
        vit_backward(&m, &params, &act, NULL, NULL, NULL, dy);
        k_adamw_safe_step(&opt, &st, 1.0, params.values, params.grads, params.m, params.v, params.total);
        double t = now() - t0;
        if (s > 0 && t < best) best = t;
      }
      double t = torch_seconds(threads);
      if (t > 0 && t < torch) torch = t;
    }
    double peak = sgemm_peak();
    printf(
        "threads %d: %.3f s/step (best of %d x %d), %.1f GFLOP/s = %.2f of sgemm peak %.1f GFLOP/s, "
        "activations %.0f MiB, loss %.4f",
        threads, best, rounds, steps, flops / best * 1e-9, flops / best * 1e-9 / peak, peak,
        (double)act.high_water / (1 << 20), loss);
    if (torch < 1e30)
      printf("; PyTorch %.3f s/step, speed-up %.2fx\n", torch, torch / best);
    else
      printf("; PyTorch: not available\n");
    fflush(stdout);
    arena_free(&act);
  }
  comm_finalize();
  return 0;
}
