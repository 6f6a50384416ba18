/* The tensor-core (bf16 tiles, fp32 accumulation) attention of
 * kernels/cuda/attention_tc.cu, taken by kc_attention_fwd/bwd in the bf16 GEMM
 * precision, against the CPU kernel on random inputs: forward y and lse,
 * backward dq, dk, dv, for L in {1, 17, 64, 200, 1280}, head_dim in {32, 64,
 * 128} (and 16, 48), 1 to 8 heads, without a mask, with a local window and a
 * query that may attend to no key, and with a random mask; two cases scale the
 * keys up along the sequence (×1 to ×3), so the forward's softmax reference
 * moves and its output accumulator is rescaled.
 *
 * Tolerances (bf16 inputs to the products, 8 significant bits):
 *   y, dq, dk, dv  2e-2 of the largest |cpu| value of the array;
 *   lse            2e-2 of max(largest |cpu lse|, 1), i.e. absolute for small lse;
 *   with L = 1 the exact dq and dk are zero (softmax over one key), so their
 *   error is absolute (inputs are O(1)). Infinite lse (no allowed key) must match exactly.
 * Also: the backward run twice is bitwise identical (deterministic), and a
 * head_dim the tensor cores do not take (40) falls back to the fp32 kernels
 * (1e-5 forward, 1e-4 backward, as check_kernels).
 * --quick: leaves out the 1280-token case (what the CPU emulator of
 * regression/gpu/emu runs in make check: that case alone takes it minutes).
 * --bench: forward and backward time at the vit_large size (32 x 1280 tokens,
 * 8 heads of 128), tensor-core path vs the fp32 path. Exit status 1 on any mismatch. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/cpu/kernels_cpu.h"
#include "../../kernels/cuda/cuda_device.h"
#include "../../kernels/cuda/kernels_cuda.h"
#include "../../kernels/cuda/timing.h"
#include "parity.h"

enum { MASK_NONE, MASK_WINDOW, MASK_RANDOM };

/* max |gpu - cpu| / max(max |cpu|, floor) over the finite cpu values; an
 * infinite cpu value must be matched exactly (else the error is 1e30). */
static double err_floor(const float *d_gpu, const float *cpu, size_t n, double floor) {
  float *g = host(n);
  kc_download(g, d_gpu, n * sizeof(float));
  double worst = 0, scale = floor;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(cpu[i]) || !isfinite(g[i])) {
      if (g[i] != cpu[i]) worst = 1e30;
      continue;
    }
    double e = fabs((double)g[i] - cpu[i]);
    if (!(e <= worst)) worst = e;
    if (fabs(cpu[i]) > scale) scale = fabs(cpu[i]);
  }
  free(g);
  return worst / scale;
}

static bool *make_mask(int64_t L, int kind, unsigned seed) {
  if (kind == MASK_NONE) return NULL;
  bool *mask = malloc((size_t)(L * L));
  float *r = host((size_t)(L * L));
  fill(r, (size_t)(L * L), seed, 0, 1);
  int64_t w = L / 8 + 2;
  for (int64_t i = 0; i < L; i++)
    for (int64_t j = 0; j < L; j++)
      mask[i * L + j] = kind == MASK_WINDOW ? llabs(i - j) <= w : r[i * L + j] < 0.3f;
  if (L > 3)
    for (int64_t j = 0; j < L; j++) mask[3 * L + j] = false; /* a query that may attend to no key */
  free(r);
  return mask;
}

static void check_case(int64_t B, int64_t L, int64_t H, int64_t D, int kind, float ramp, bool determinism) {
  const int64_t n = B * L * H * D, nl = B * H * L;
  const unsigned seed = (unsigned)(L * 131 + D * 7 + H * 3 + B + kind * 1000);
  float *q = host(n), *k = host(n), *v = host(n), *dy = host(n), *y = host(n), *lse = host(nl);
  float *dq = host(n), *dk = host(n), *dv = host(n);
  fill(q, n, seed, -2, 2), fill(k, n, seed + 1, -2, 2), fill(v, n, seed + 2, -1, 1),
      fill(dy, n, seed + 3, -1, 1);
  if (ramp > 0) /* later keys score higher: the forward's reference maximum moves (its rescale path) */
    for (int64_t b = 0; b < B; b++)
      for (int64_t j = 0; j < L; j++)
        for (int64_t c = 0; c < H * D; c++) k[(b * L + j) * H * D + c] *= 1.0f + ramp * (float)j / (float)L;
  bool *mask = make_mask(L, kind, seed + 4), *gmask = NULL;
  if (mask) {
    gmask = kc_malloc((size_t)(L * L));
    kc_upload(gmask, mask, (size_t)(L * L));
  }
  float *work = host((size_t)kcpu_attention_workspace_floats(L, D));
  kcpu_attention_fwd(y, lse, q, k, v, mask, B, L, H, D, work);
  kcpu_attention_bwd(dq, dk, dv, dy, q, k, v, y, lse, mask, B, L, H, D, work);
  float *gq = dev(q, n), *gk = dev(k, n), *gv = dev(v, n), *gdy = dev(dy, n), *gy = dev_zero(n),
        *glse = dev_zero(nl);
  float *gdq = dev_zero(n), *gdk = dev_zero(n), *gdv = dev_zero(n);
  const bool tc = D % 16 == 0 && D <= 128;
  kc_set_precision(KC_BF16);
  kc_attention_fwd(gy, glse, gq, gk, gv, gmask, B, L, H, D, NULL);
  kc_attention_bwd(gdq, gdk, gdv, gdy, gq, gk, gv, gy, glse, gmask, B, L, H, D, NULL);
  char shape[48];
  const char *mk[] = {"", " window", " random"};
  snprintf(shape, sizeof shape, "%lldx%lldx%lldx%lld%s%s", (long long)B, (long long)L, (long long)H,
           (long long)D, mk[kind], ramp > 0 ? " ramp" : "");
  const double tf = tc ? 2e-2 : 1e-5, tb = tc ? 2e-2 : 1e-4, zero_grad = L == 1 ? 1.0 : 1e-30;
  const char *name = tc ? "attention bf16 tc" : "attention fallback";
  report(name, "fwd", shape, err_floor(gy, y, n, 1e-30), tf);
  report(name, "lse", shape, err_floor(glse, lse, nl, tc ? 1.0 : 1e-30), tf);
  report(name, "dq", shape, err_floor(gdq, dq, n, zero_grad), tb);
  report(name, "dk", shape, err_floor(gdk, dk, n, zero_grad), tb);
  report(name, "dv", shape, err_floor(gdv, dv, n, 1e-30), tb);
  if (determinism) { /* the same backward again: bitwise the same gradients */
    float *a = host(n), *b = host(n);
    double worst = 0;
    float *outs[3] = {gdq, gdk, gdv};
    for (int t = 0; t < 3; t++) {
      kc_download(a, outs[t], n * sizeof(float));
      kc_attention_bwd(gdq, gdk, gdv, gdy, gq, gk, gv, gy, glse, gmask, B, L, H, D, NULL);
      kc_download(b, outs[t], n * sizeof(float));
      for (int64_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float))) worst = 1;
    }
    report(name, "determin.", shape, worst, 0);
    free(a), free(b);
  }
  kc_set_precision(KC_FP32);
  free(q), free(k), free(v), free(dy), free(y), free(lse), free(dq), free(dk), free(dv), free(work),
      free(mask);
  kc_free(gq), kc_free(gk), kc_free(gv), kc_free(gdy), kc_free(gy), kc_free(glse), kc_free(gdq), kc_free(gdk);
  kc_free(gdv);
  if (gmask) kc_free(gmask);
}

/* The fp32 path in the fp32 precision on the same inputs as the bf16 path must
 * agree with it to the bf16 tolerance too (a cross-check of the dispatch). */
static void check_cross(void) {
  int64_t B = 2, L = 100, H = 2, D = 64, n = B * L * H * D, nl = B * H * L;
  float *q = host(n), *k = host(n), *v = host(n), *y = host(n), *lse = host(nl);
  fill(q, n, 70, -2, 2), fill(k, n, 71, -2, 2), fill(v, n, 72, -1, 1);
  float *gq = dev(q, n), *gk = dev(k, n), *gv = dev(v, n), *gy = dev_zero(n), *glse = dev_zero(nl);
  float *gy32 = dev_zero(n), *glse32 = dev_zero(nl);
  kc_set_precision(KC_FP32);
  kc_attention_fwd(gy32, glse32, gq, gk, gv, NULL, B, L, H, D, NULL);
  kc_download(y, gy32, n * sizeof(float));
  kc_download(lse, glse32, nl * sizeof(float));
  kc_set_precision(KC_BF16);
  kc_attention_fwd(gy, glse, gq, gk, gv, NULL, B, L, H, D, NULL);
  kc_set_precision(KC_FP32);
  report("attention tc vs fp32", "fwd", "2x100x2x64", rel_err(gy, y, n), 2e-2);
  report("attention tc vs fp32", "lse", "2x100x2x64", rel_err(glse, lse, nl), 2e-2);
  free(q), free(k), free(v), free(y), free(lse);
  kc_free(gq), kc_free(gk), kc_free(gv), kc_free(gy), kc_free(glse), kc_free(gy32), kc_free(glse32);
}

static void bench_one(kc_precision p, const char *pname, int reps, double *fwd_ms, double *bwd_ms) {
  int64_t B = 32, L = 1280, H = 8, D = 128, n = B * L * H * D;
  float *h = host(n);
  fill(h, n, 80, -2, 2);
  float *q = dev(h, n), *k = dev(h, n), *v = dev(h, n), *o = dev_zero(n), *lse = dev_zero(B * H * L);
  fill(h, n, 81, -1, 1);
  float *dy = dev(h, n), *dq = dev_zero(n), *dk = dev_zero(n), *dv = dev_zero(n);
  free(h);
  kc_set_precision(p);
  kc_attention_fwd(o, lse, q, k, v, NULL, B, L, H, D, NULL); /* warm-up */
  kc_attention_bwd(dq, dk, dv, dy, q, k, v, o, lse, NULL, B, L, H, D, NULL);
  kc_timer_start();
  for (int r = 0; r < reps; r++) kc_attention_fwd(o, lse, q, k, v, NULL, B, L, H, D, NULL);
  *fwd_ms = kc_timer_stop_ms() / reps;
  kc_timer_start();
  for (int r = 0; r < reps; r++) kc_attention_bwd(dq, dk, dv, dy, q, k, v, o, lse, NULL, B, L, H, D, NULL);
  *bwd_ms = kc_timer_stop_ms() / reps;
  kc_set_precision(KC_FP32);
  double af = 4.0 * B * H * (double)L * L * D;
  printf("bench: attention fwd 32x1280x8x128 (%s)%*s%8.3f ms %6.1f TFLOP/s\n", pname,
         (int)(16 - strlen(pname)), "", *fwd_ms, af / *fwd_ms / 1e9);
  printf("bench: attention bwd 32x1280x8x128 (%s)%*s%8.3f ms %6.1f TFLOP/s\n", pname,
         (int)(16 - strlen(pname)), "", *bwd_ms, 2.5 * af / *bwd_ms / 1e9);
  kc_free(q), kc_free(k), kc_free(v), kc_free(o), kc_free(lse), kc_free(dy), kc_free(dq), kc_free(dk),
      kc_free(dv);
}

static void bench(void) {
  printf("\n");
  double f16, b16, f32, b32;
  bench_one(KC_BF16, "bf16 tc", 5, &f16, &b16);
  bench_one(KC_FP32, "fp32", 1, &f32, &b32);
  printf("bench: attention bf16 tc over fp32: fwd %.1fx, bwd %.1fx\n", f32 / f16, b32 / b16);
}

int main(int argc, char **argv) {
  if (!parity_begin("check_attention_tc")) return 0;
  /* {batch, tokens, heads, head_dim} */
  static const int64_t cases[][4] = {{2, 1, 1, 32},    {2, 17, 3, 32},  {2, 17, 2, 64}, {2, 17, 1, 128},
                                     {2, 64, 4, 64},   {1, 64, 2, 128}, {1, 64, 8, 32}, {2, 200, 2, 128},
                                     {1, 200, 5, 32},  {3, 200, 1, 64}, {2, 65, 1, 16}, {1, 130, 3, 48},
                                     {1, 1280, 8, 128}};
  const bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    if (quick && cases[c][1] > 300) {
      printf("attention tc: %lld x %lld x %lld x %lld left out (--quick)\n", (long long)cases[c][0],
             (long long)cases[c][1], (long long)cases[c][2], (long long)cases[c][3]);
      continue;
    }
    for (int kind = MASK_NONE; kind <= MASK_WINDOW; kind++)
      check_case(cases[c][0], cases[c][1], cases[c][2], cases[c][3], kind, 0, c == 7 && kind == MASK_WINDOW);
  }
  check_case(2, 200, 2, 128, MASK_RANDOM, 0, false);
  check_case(1, 200, 5, 32, MASK_RANDOM, 0, true);
  check_case(2, 200, 2, 128, MASK_WINDOW, 2, false);
  check_case(1, 300, 3, 64, MASK_NONE, 2, false);
  check_case(2, 45, 3, 40, MASK_NONE, 0, false); /* head_dim 40: the fp32 fallback */
  check_cross();
  printf("\nattention tc: %d passed, %d failed\n", checks - failures, failures);
  if (argc > 1 && strcmp(argv[1], "--bench") == 0) bench();
  return failures ? 1 : 0;
}
