/* What the GPU parity programs share: seeded host fillers, host/device
 * copies, the relative error of a device array against its CPU twin, and one
 * report line per check. Each program includes this once. */
#ifndef LOLA_GPU_PARITY_H
#define LOLA_GPU_PARITY_H

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../kernels/cuda/cuda_device.h"
#include "../../kernels/cuda/kernels_cuda.h"

static int failures, checks;

static void fill(float *x, size_t n, unsigned seed, float lo, float hi) {
  unsigned long long s = 0x9E3779B97F4A7C15ULL ^ seed;
  for (size_t i = 0; i < n; i++) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x[i] = lo + (hi - lo) * (float)((s >> 11) * (1.0 / 9007199254740992.0));
  }
}

static float *host(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

static float *dev(const float *h, size_t n) {
  float *d = kc_malloc(n * sizeof(float));
  kc_upload(d, h, n * sizeof(float));
  return d;
}

static float *dev_zero(size_t n) {
  float *d = kc_malloc(n * sizeof(float));
  kc_memset0(d, n * sizeof(float));
  return d;
}

/* max |gpu - cpu| / max(max finite |cpu|, 1e-30), over n entries of a device
 * array; equal entries (an infinity on both sides too) count 0. */
static double rel_err(const float *d_gpu, const float *cpu, size_t n) {
  float *g = host(n);
  kc_download(g, d_gpu, n * sizeof(float));
  double worst = 0, scale = 1e-30;
  for (size_t i = 0; i < n; i++) {
    if (isfinite(cpu[i]) && fabs(cpu[i]) > scale) scale = fabs(cpu[i]);
    if (g[i] == cpu[i]) continue; /* equal, infinities included */
    double e = fabs((double)g[i] - cpu[i]);
    if (!(e <= worst)) worst = e; /* a NaN or a mismatched infinity fails */
  }
  free(g);
  return worst / scale;
}

static void report(const char *kernel, const char *what, const char *shape, double err, double tol) {
  bool ok = err <= tol;
  checks++;
  failures += !ok;
  printf("%-22s %-10s %-26s %10.2e %9.1e  %s\n", kernel, what, shape, err, tol, ok ? "ok" : "FAIL");
}

/* Select device 0, print it and the table header, start the kernels' context;
 * false (after saying so) when no device is visible, and then the program
 * exits 3 where LOLA_GPU_REQUIRED is set (check.sh on a machine with a GPU).
 * Output is line-buffered, so a part killed by its time limit keeps its lines. */
static inline bool parity_begin(const char *program) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (cuda_device_count() == 0) {
    printf("%s: no CUDA device visible; nothing to check\n", program);
    if (getenv("LOLA_GPU_REQUIRED")) exit(3);
    return false;
  }
  char desc[256], ver[256];
  cuda_select_device(0);
  cuda_device_describe(0, desc, sizeof desc);
  cuda_versions(ver, sizeof ver);
  printf("device: %s\n%s\n\n%-22s %-10s %-26s %10s %9s\n", desc, ver, "kernel", "what", "shape", "rel.err",
         "tol");
  kc_init();
  return true;
}

#endif
