/* The CUDA kernels of the reverse-diffusion samplers and the evaluation
 * emulators' window layouts (kernels/sampler.h) against their CPU twins on
 * random odd-sized inputs; then a 16-step Adams-Bashforth sampler loop (order
 * 3, over a stand-in denoiser made of the same kernels) on the GPU against the
 * CPU. The GPU evaluates the CPU's double expressions operation for operation
 * (no fused multiply-adds), so the updates are expected to agree exactly; the
 * stated tolerance (1e-7 of the largest value, about one float ulp) leaves
 * room for nothing else. The layouts are copies: tolerance 0. Exit status 1 on
 * any mismatch. The CPU twins run through k_<op> on the default (cpu) backend. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/cuda/cuda_device.h"
#include "../../kernels/cuda/kernels_cuda.h"
#include "../../kernels/kernels.h"
#include "../../src/diffusion_sampler.h"
#include "parity.h"

enum { N = 100003 }; /* odd, over the CPU's parallel threshold, several GPU blocks */
static const double TOL = 1e-7;

static float *filled(size_t n, unsigned seed, float lo, float hi) {
  float *h = host(n);
  fill(h, n, seed, lo, hi);
  return h;
}

/* The update kernels: in place or into a fresh output, with and without the optional noise. */
static void check_updates(void) {
  float *x = filled(N, 1, -3, 3), *mean = filled(N, 2, -2, 2), *eps = filled(N, 3, -3, 3),
        *z = filled(N, 4, -2, 2);
  float *gx = dev(x, N), *gmean = dev(mean, N), *geps = dev(eps, N), *gz = dev(z, N);
  float *c = host(N), *gout = dev_zero(N);
  const char *shape = "100003";

  /* ddim with noise (tau in (0, 1)) and without (the pc predictor, tau = 0) */
  for (int noisy = 0; noisy < 2; noisy++) {
    double tau = noisy ? 0.37 : 0.0;
    memcpy(c, x, sizeof(float) * N);
    k_sampler_ddim(c, mean, noisy ? eps : NULL, N, 0.83, 0.56, 0.91, 0.41, tau);
    kc_upload(gout, x, sizeof(float) * N);
    kc_sampler_ddim(gout, gmean, noisy ? geps : NULL, N, 0.83, 0.56, 0.91, 0.41, tau);
    report("sampler_ddim", noisy ? "eps" : "no eps", shape, rel_err(gout, c, N), TOL);
  }
  k_sampler_velocity(c, x, mean, N, 0.77, 0.64);
  kc_sampler_velocity(gout, gx, gmean, N, 0.77, 0.64);
  report("sampler_velocity", "fwd", shape, rel_err(gout, c, N), TOL);

  k_sampler_euler(c, x, z, N, 0.71, 0.93, -0.31);
  kc_sampler_euler(gout, gx, gz, N, 0.71, 0.93, -0.31);
  report("sampler_euler", "fwd", shape, rel_err(gout, c, N), TOL);

  /* heun corrects an Euler prediction in place */
  fill(c, N, 5, -3, 3);
  kc_upload(gout, c, sizeof(float) * N);
  k_sampler_heun(c, x, z, mean, N, 0.71, 0.93, 0.29, -0.31);
  kc_sampler_heun(gout, gx, gz, gmean, N, 0.71, 0.93, 0.29, -0.31);
  report("sampler_heun", "in place", shape, rel_err(gout, c, N), TOL);

  memcpy(c, x, sizeof(float) * N);
  kc_upload(gout, x, sizeof(float) * N);
  k_sampler_pc_correct(c, mean, eps, N, 0.88, 0.01, sqrt(0.02) * 0.47);
  kc_sampler_pc_correct(gout, gmean, geps, N, 0.88, 0.01, sqrt(0.02) * 0.47);
  report("sampler_pc_correct", "in place", shape, rel_err(gout, c, N), TOL);

  free(x), free(mean), free(eps), free(z), free(c);
  kc_free(gx), kc_free(gmean), kc_free(geps), kc_free(gz), kc_free(gout);
}

/* Adams-Bashforth over rings of 1, 3 and 16 z's, every coefficient count and ring offset. */
static void check_ab(void) {
  const int64_t n = 20011;
  const int orders[3] = {1, 3, K_SAMPLER_MAX_ORDER};
  for (int o = 0; o < 3; o++) {
    int order = orders[o];
    float *hist = filled((size_t)(order * n), 10 + (unsigned)o, -2, 2), *x = filled((size_t)n, 20, -3, 3);
    float *c = host((size_t)n), *ghist = dev(hist, (size_t)(order * n)), *gx = dev_zero((size_t)n);
    double coef[K_SAMPLER_MAX_ORDER];
    for (int j = 0; j < order; j++) coef[j] = 0.37 * cos(1.3 * j + order) - 0.11 * j;
    double worst = 0;
    for (int k = 1; k <= order; k++)
      for (int first = 0; first<order; first += order> 3 ? 5 : 1) {
        memcpy(c, x, sizeof(float) * (size_t)n);
        kc_upload(gx, x, sizeof(float) * (size_t)n);
        k_sampler_ab(c, hist, coef, k, first, order, n, 0.79, 0.86);
        kc_sampler_ab(gx, ghist, coef, k, first, order, n, 0.79, 0.86);
        double e = rel_err(gx, c, (size_t)n);
        if (!(e <= worst)) worst = e;
      }
    char shape[64];
    snprintf(shape, sizeof shape, "20011, ring %d, all k", order);
    report("sampler_ab", "in place", shape, worst, TOL);
    free(hist), free(x), free(c);
    kc_free(ghist), kc_free(gx);
  }
}

/* Observations into (B, C, L, P) windows and their mask, for 0, some and all
 * states observed; windows back to the state-major layout. */
static void check_layouts(void) {
  const int64_t B = 3, C = 2, L = 5, P = 37, W = C * L * P;
  const int64_t observed[3] = {0, 2, 5};
  float *obs = filled((size_t)(B * W), 30, -1, 1), *gobs = dev(obs, (size_t)(B * W));
  float *y = host((size_t)(B * W)), *mask = host((size_t)(B * W));
  float *gy = dev_zero((size_t)(B * W)), *gmask = dev_zero((size_t)(B * W));
  for (int k = 0; k < 3; k++) {
    /* the outputs start from garbage: every entry is written */
    fill(y, (size_t)(B * W), 31, -9, 9), fill(mask, (size_t)(B * W), 32, -9, 9);
    kc_upload(gy, y, sizeof(float) * (size_t)(B * W)),
        kc_upload(gmask, mask, sizeof(float) * (size_t)(B * W));
    k_window_place(y, mask, observed[k] ? obs : NULL, B, C, L, P, observed[k]);
    kc_window_place(gy, gmask, observed[k] ? gobs : NULL, B, C, L, P, observed[k]);
    char shape[64];
    snprintf(shape, sizeof shape, "3x2x5x37, %lld observed", (long long)observed[k]);
    report("window_place", "y", shape, rel_err(gy, y, (size_t)(B * W)), 0);
    report("window_place", "mask", shape, rel_err(gmask, mask, (size_t)(B * W)), 0);
  }
  k_window_to_state_major(y, obs, B, C, L, P);
  kc_window_to_state_major(gy, gobs, B, C, L, P);
  report("window_to_state_major", "fwd", "3x2x5x37", rel_err(gy, y, (size_t)(B * W)), 0);
  free(obs), free(y), free(mask);
  kc_free(gobs), kc_free(gy), kc_free(gmask);
}

/* A 16-step order-3 Adams-Bashforth loop as src/diffusion_sampler.c runs it,
 * over a stand-in denoiser mean = 0.6·x + 0.1 (k_scal, k_add of a constant
 * row): init noise per sample, velocity into the ring, update. The GPU and CPU
 * trajectories must stay together over the whole loop. */
static void check_ab_loop(void) {
  enum { COUNT = 4, ORDER = 3, STEPS = 16 };
  const int64_t per = 4099, n = COUNT * per;
  float *x = host((size_t)n), *mean = host((size_t)n), *hist = host((size_t)(ORDER * n)),
        *row = host((size_t)n);
  float *gx = dev_zero((size_t)n), *gmean = dev_zero((size_t)n), *ghist = dev_zero((size_t)(ORDER * n));
  for (int64_t i = 0; i < n; i++) row[i] = 0.1f;
  float *grow = dev(row, (size_t)n);
  rng_key key = {.seed = 5, .purpose = RNG_SAMPLER, .step = 0xFFFFu};
  for (int c = 0; c < COUNT; c++) {
    k_rng_normal(x + c * per, per, key, (uint64_t)(3 * c + 1), 0);
    kc_rng_normal(gx + c * per, per, key, (uint64_t)(3 * c + 1), 0);
  }
  double rho[STEPS + 1];
  for (int i = 0; i <= STEPS; i++) {
    double t = 1.0 - (double)i / STEPS, a = cos(1.5 * t), s = sin(1.5 * t) + 1e-3;
    rho[i] = s / a;
  }
  for (int i = 0; i < STEPS; i++) {
    double t = 1.0 - (double)i / STEPS, u = 1.0 - (double)(i + 1) / STEPS;
    double at = cos(1.5 * t), st = sin(1.5 * t) + 1e-3, as = cos(1.5 * u);
    k_copy(mean, x, n), k_scal(mean, 0.6f, n), k_add(mean, row, n);
    kc_copy(gmean, gx, n), kc_scal(gmean, 0.6f, n), kc_add(gmean, grow, n);
    k_sampler_velocity(hist + (i % ORDER) * n, x, mean, n, at, st);
    kc_sampler_velocity(ghist + (i % ORDER) * n, gx, gmean, n, at, st);
    int m = i + 1, k = m < ORDER ? m : ORDER;
    double coef[16];
    adams_bashforth_coefficients(rho, m, k, false, coef);
    k_sampler_ab(x, hist, coef, k, m - k, ORDER, n, at, as);
    kc_sampler_ab(gx, ghist, coef, k, m - k, ORDER, n, at, as);
  }
  report("ab loop (16 steps)", "x", "4x4099, order 3", rel_err(gx, x, (size_t)n), 1e-6);
  free(x), free(mean), free(hist), free(row);
  kc_free(gx), kc_free(gmean), kc_free(ghist), kc_free(grow);
}

int main(void) {
  if (!parity_begin("check_kernels_sampler")) return 0;
  check_updates();
  check_ab();
  check_layouts();
  check_ab_loop();
  kc_sync();
  printf("\ngpu kernels (sampler family): %d passed, %d failed\n", checks - failures, failures);
  return failures ? 1 : 0;
}
