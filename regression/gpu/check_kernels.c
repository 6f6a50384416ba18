/* Every CUDA kernel against its CPU twin on random inputs (forward and
 * backward), with a tolerance stated per kernel and precision; then, with
 * --bench, the GPU figures: bf16 GEMM peak, linear layers and attention at the
 * latent denoiser's sizes, the optimiser's bandwidth. Exit status 1 on any
 * mismatch. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/cuda/cuda_device.h"
#include "../../kernels/cuda/kernels_cuda.h"
#include "../../kernels/cuda/timing.h"
#include "../../kernels/kernels.h"

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

/* max |gpu - cpu| / max(max |cpu|, 1e-30), over n entries of a device array. */
static double rel_err(const float *d_gpu, const float *cpu, size_t n) {
  float *g = host(n);
  kc_download(g, d_gpu, n * sizeof(float));
  double worst = 0, scale = 1e-30;
  for (size_t i = 0; i < n; i++) {
    double e = fabs((double)g[i] - cpu[i]);
    if (!(e <= worst)) worst = e;
    if (fabs(cpu[i]) > scale) scale = fabs(cpu[i]);
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

static void check_linear(kc_precision p, const char *pname, double tol) {
  int64_t rows = 97, in = 65, out = 33;
  float *x = host(rows * in), *w = host(out * in), *b = host(out), *dy = host(rows * out);
  fill(x, rows * in, 1, -1, 1);
  fill(w, out * in, 2, -1, 1);
  fill(b, out, 3, -1, 1);
  fill(dy, rows * out, 4, -1, 1);
  float *y = host(rows * out), *dx = host(rows * in), *dw = host(out * in), *db = host(out);
  k_linear_fwd(y, x, w, b, rows, in, out);
  k_linear_bwd(dx, dw, db, dy, x, w, rows, in, out);
  float *gx = dev(x, rows * in), *gw = dev(w, out * in), *gb = dev(b, out), *gdy = dev(dy, rows * out);
  float *gy = dev_zero(rows * out), *gdx = dev_zero(rows * in), *gdw = dev_zero(out * in),
        *gdb = dev_zero(out);
  kc_set_precision(p);
  kc_linear_fwd(gy, gx, gw, gb, rows, in, out);
  kc_linear_bwd(gdx, gdw, gdb, dy ? gdy : NULL, gx, gw, rows, in, out);
  char what[32];
  snprintf(what, sizeof what, "fwd %s", pname);
  report("linear", what, "97x65 -> 33", rel_err(gy, y, rows * out), tol);
  snprintf(what, sizeof what, "dx %s", pname);
  report("linear", what, "97x65 -> 33", rel_err(gdx, dx, rows * in), tol);
  snprintf(what, sizeof what, "dw %s", pname);
  report("linear", what, "97x65 -> 33", rel_err(gdw, dw, out * in), tol);
  report("linear", "db", "97x65 -> 33", rel_err(gdb, db, out), 1e-6);
  kc_set_precision(KC_FP32);
  free(x), free(w), free(b), free(dy), free(y), free(dx), free(dw), free(db);
  kc_free(gx), kc_free(gw), kc_free(gb), kc_free(gdy), kc_free(gy), kc_free(gdx), kc_free(gdw), kc_free(gdb);
}

static void check_pointwise(void) {
  int64_t n = 10007;
  float *x = host(n), *dy = host(n), *y = host(n), *dx = host(n);
  fill(x, n, 5, -12, 12);
  fill(dy, n, 6, -1, 1);
  float *gx = dev(x, n), *gdy = dev(dy, n), *gy = dev_zero(n), *gdx = dev_zero(n);
  k_silu_fwd(y, x, n);
  k_silu_bwd(dx, dy, x, n);
  kc_silu_fwd(gy, gx, n);
  kc_silu_bwd(gdx, gdy, gx, n);
  report("silu", "fwd", "10007", rel_err(gy, y, n), 1e-6);
  report("silu", "bwd", "10007", rel_err(gdx, dx, n), 1e-6);
  const char *names[] = {"none", "softclip", "softclip2", "tanh", "arcsinh"};
  for (int k = 0; k < 5; k++) {
    k_saturate_fwd(y, x, n, (k_saturation)k);
    k_saturate_bwd(dx, dy, x, n, (k_saturation)k);
    kc_saturate_fwd(gy, gx, n, (k_saturation)k);
    kc_saturate_bwd(gdx, gdy, gx, n, (k_saturation)k);
    char what[32];
    snprintf(what, sizeof what, "%s", names[k]);
    report("saturate fwd", what, "10007", rel_err(gy, y, n), 1e-6);
    report("saturate bwd", what, "10007", rel_err(gdx, dx, n), 1e-6);
  }
  free(x), free(dy), free(y), free(dx);
  kc_free(gx), kc_free(gdy), kc_free(gy), kc_free(gdx);
}

static void check_modulation(k_layout layout, int64_t vstride_kind) {
  int64_t B = 3, C = 37, S = 29, n = B * C * S, vstride = vstride_kind ? C : 0, nv = vstride ? B * C : C;
  float *x = host(n), *r = host(n), *dy = host(n), *sc = host(nv), *sh = host(nv);
  fill(x, n, 7, -1, 1), fill(r, n, 8, -1, 1), fill(dy, n, 9, -1, 1), fill(sc, nv, 10, -1, 1),
      fill(sh, nv, 11, -1, 1);
  float *y = host(n), *dx = host(n), *dr = host(n), *dsc = host(nv), *dsh = host(nv);
  float *gx = dev(x, n), *gr = dev(r, n), *gdy = dev(dy, n), *gsc = dev(sc, nv), *gsh = dev(sh, nv);
  float *gy = dev_zero(n), *gdx = dev_zero(n), *gdr = dev_zero(n), *gdsc = dev_zero(nv), *gdsh = dev_zero(nv);
  char shape[64];
  snprintf(shape, sizeof shape, "%s 3x37x29 v%lld", layout == K_TOKENS ? "tok" : "chf", (long long)vstride);
  k_modulate_fwd(y, x, sc, sh, vstride, B, C, S, layout);
  k_modulate_bwd(dx, dsc, dsh, dy, x, sc, vstride, B, C, S, layout);
  kc_modulate_fwd(gy, gx, gsc, gsh, vstride, B, C, S, layout);
  kc_modulate_bwd(gdx, gdsc, gdsh, gdy, gx, gsc, vstride, B, C, S, layout);
  report("modulate", "fwd", shape, rel_err(gy, y, n), 1e-6);
  report("modulate", "dx", shape, rel_err(gdx, dx, n), 1e-6);
  report("modulate", "dscale", shape, rel_err(gdsc, dsc, nv), 1e-5);
  report("modulate", "dshift", shape, rel_err(gdsh, dsh, nv), 1e-5);
  memset(dsc, 0, nv * sizeof(float));
  kc_memset0(gdsc, nv * sizeof(float));
  k_residual_mix_fwd(y, x, r, sc, vstride, B, C, S, layout);
  k_residual_mix_bwd(dx, dr, dsc, dy, x, r, sc, vstride, B, C, S, layout);
  kc_residual_mix_fwd(gy, gx, gr, gsc, vstride, B, C, S, layout);
  kc_residual_mix_bwd(gdx, gdr, gdsc, gdy, gx, gr, gsc, vstride, B, C, S, layout);
  report("residual_mix", "fwd", shape, rel_err(gy, y, n), 1e-6);
  report("residual_mix", "dx", shape, rel_err(gdx, dx, n), 1e-6);
  report("residual_mix", "dr", shape, rel_err(gdr, dr, n), 1e-6);
  report("residual_mix", "dc", shape, rel_err(gdsc, dsc, nv), 1e-5);
  free(x), free(r), free(dy), free(sc), free(sh), free(y), free(dx), free(dr), free(dsc), free(dsh);
  kc_free(gx), kc_free(gr), kc_free(gdy), kc_free(gsc), kc_free(gsh), kc_free(gy), kc_free(gdx), kc_free(gdr);
  kc_free(gdsc), kc_free(gdsh);
}

static void check_norms(void) {
  int64_t rows = 37, dim = 129, n = rows * dim;
  float *x = host(n), *dy = host(n), *y = host(n), *dx = host(n), *rs = host(rows);
  fill(x, n, 12, -3, 5), fill(dy, n, 13, -1, 1);
  float *gx = dev(x, n), *gdy = dev(dy, n), *gy = dev_zero(n), *gdx = dev_zero(n), *grs = dev_zero(rows);
  for (int rms = 0; rms < 2; rms++) {
    const char *name = rms ? "rmsnorm" : "layernorm";
    if (rms) {
      k_rmsnorm_fwd(y, rs, x, rows, dim), k_rmsnorm_bwd(dx, dy, y, rs, rows, dim);
      kc_rmsnorm_fwd(gy, grs, gx, rows, dim), kc_rmsnorm_bwd(gdx, gdy, gy, grs, rows, dim);
    } else {
      k_layernorm_fwd(y, rs, x, rows, dim), k_layernorm_bwd(dx, dy, y, rs, rows, dim);
      kc_layernorm_fwd(gy, grs, gx, rows, dim), kc_layernorm_bwd(gdx, gdy, gy, grs, rows, dim);
    }
    report(name, "fwd", "37x129", rel_err(gy, y, n), 1e-6);
    report(name, "rstd", "37x129", rel_err(grs, rs, rows), 1e-6);
    report(name, "bwd", "37x129", rel_err(gdx, dx, n), 1e-5);
  }
  free(x), free(dy), free(y), free(dx), free(rs);
  kc_free(gx), kc_free(gdy), kc_free(gy), kc_free(gdx), kc_free(grs);
}

static void check_attention(bool masked) {
  int64_t B = 2, L = 45, H = 3, D = 16, n = B * L * H * D, nl = B * H * L;
  float *q = host(n), *k = host(n), *v = host(n), *dy = host(n), *y = host(n), *lse = host(nl);
  float *dq = host(n), *dk = host(n), *dv = host(n);
  fill(q, n, 14, -1, 1), fill(k, n, 15, -1, 1), fill(v, n, 16, -1, 1), fill(dy, n, 17, -1, 1);
  bool *mask = NULL, *gmask = NULL;
  if (masked) { /* a local window, as the ViT's: |i - j| <= 6 */
    mask = malloc((size_t)(L * L));
    for (int64_t i = 0; i < L; i++)
      for (int64_t j = 0; j < L; j++) mask[i * L + j] = llabs(i - j) <= 6;
    gmask = kc_malloc((size_t)(L * L));
    kc_upload(gmask, mask, (size_t)(L * L));
  }
  float *work = host((size_t)k_attention_workspace_floats(L, D));
  k_attention_fwd(y, lse, q, k, v, mask, B, L, H, D, work);
  k_attention_bwd(dq, dk, dv, dy, q, k, v, y, lse, mask, B, L, H, D, work);
  float *gq = dev(q, n), *gk = dev(k, n), *gv = dev(v, n), *gdy = dev(dy, n), *gy = dev_zero(n),
        *glse = dev_zero(nl);
  float *gdq = dev_zero(n), *gdk = dev_zero(n), *gdv = dev_zero(n);
  kc_attention_fwd(gy, glse, gq, gk, gv, gmask, B, L, H, D, NULL);
  kc_attention_bwd(gdq, gdk, gdv, gdy, gq, gk, gv, gy, glse, gmask, B, L, H, D, NULL);
  const char *shape = masked ? "2x45x3x16 window" : "2x45x3x16";
  report("attention", "fwd", shape, rel_err(gy, y, n), 1e-5);
  report("attention", "lse", shape, rel_err(glse, lse, nl), 1e-5);
  report("attention", "dq", shape, rel_err(gdq, dq, n), 1e-4);
  report("attention", "dk", shape, rel_err(gdk, dk, n), 1e-4);
  report("attention", "dv", shape, rel_err(gdv, dv, n), 1e-4);
  free(q), free(k), free(v), free(dy), free(y), free(lse), free(dq), free(dk), free(dv), free(work),
      free(mask);
  kc_free(gq), kc_free(gk), kc_free(gv), kc_free(gdy), kc_free(gy), kc_free(glse), kc_free(gdq), kc_free(gdk);
  kc_free(gdv);
  if (gmask) kc_free(gmask);
}

static void check_loss_optim_rng(void) {
  int64_t n = 100003;
  float *p = host(n), *t = host(n), *d = host(n), *m = host(n), *v = host(n), *g = host(n);
  fill(p, n, 18, -1, 1), fill(t, n, 19, -1, 1), fill(g, n, 20, -1, 1), fill(m, n, 21, -0.1f, 0.1f);
  fill(v, n, 22, 0, 0.01f);
  float *gp = dev(p, n), *gt = dev(t, n), *gd = dev_zero(n), *gm = dev(m, n), *gv = dev(v, n),
        *gg = dev(g, n);
  double cpu = k_mse_fwd(p, t, n), gpu = kc_mse_fwd(gp, gt, n);
  report("mse", "fwd", "100003", fabs(gpu - cpu) / cpu, 1e-12);
  k_mse_bwd(d, p, t, n, 0.7);
  kc_mse_bwd(gd, gp, gt, n, 0.7);
  report("mse", "bwd", "100003", rel_err(gd, d, n), 1e-6);
  cpu = k_global_norm(g, n), gpu = kc_global_norm(gg, n);
  report("global_norm", "", "100003", fabs(gpu - cpu) / cpu, 1e-12);
  k_adamw_update(p, g, m, v, n, 1e-3, 0.9, 0.99, 1e-8, 0.01, 7);
  kc_adamw_update(gp, gg, gm, gv, n, 1e-3, 0.9, 0.99, 1e-8, 0.01, 7);
  report("adamw", "params", "100003", rel_err(gp, p, n), 1e-6);
  report("adamw", "moments", "100003", rel_err(gv, v, n), 1e-6);
  rng_key key = {.seed = 1234, .purpose = RNG_NOISE, .step = 9};
  rng_uniform(d, n, key, 77, 5);
  kc_rng_uniform(gd, n, key, 77, 5);
  report("rng", "uniform", "100003 @5", rel_err(gd, d, n), 0);
  rng_normal(d, n, key, 78, 3);
  kc_rng_normal(gd, n, key, 78, 3);
  report("rng", "normal", "100003 @3", rel_err(gd, d, n), 1e-6);
  free(p), free(t), free(d), free(m), free(v), free(g);
  kc_free(gp), kc_free(gt), kc_free(gd), kc_free(gm), kc_free(gv), kc_free(gg);
}

/* The figures: one line each, for the note. */
static void bench(void) {
  double peak = kc_bf16_gemm_tflops(8192, 10);
  printf("\nbench: bf16 GEMM peak (cuBLAS, 8192^3)               %8.1f TFLOP/s\n", peak);
  /* vit_large: 32 windows x 1280 tokens, 1024 channels; the FFN's first linear 1024 -> 4096. */
  int64_t rows = 32 * 1280, in = 1024, out = 4096;
  float *x = dev_zero(rows * in), *w = dev_zero(out * in), *b = dev_zero(out), *y = dev_zero(rows * out);
  float *dx = dev_zero(rows * in), *dw = dev_zero(out * in), *db = dev_zero(out);
  kc_set_precision(KC_BF16);
  for (int r = 0; r < 12; r++) {
    if (r == 2) kc_timer_start();
    kc_linear_fwd(y, x, w, b, rows, in, out);
    kc_linear_bwd(dx, dw, db, y, x, w, rows, in, out);
  }
  double ms = kc_timer_stop_ms() / 10, flops = 3 * 2.0 * (double)rows * in * out;
  printf("bench: linear fwd+bwd 40960x1024->4096 (bf16 mode) %8.3f ms %6.1f TFLOP/s (%.0f%% of peak)\n", ms,
         flops / ms / 1e9, 100 * flops / ms / 1e9 / peak);
  kc_free(x), kc_free(w), kc_free(b), kc_free(y), kc_free(dx), kc_free(dw), kc_free(db);
  /* vit_large attention: batch 32, 1280 tokens, 8 heads of 128. */
  int64_t B = 32, L = 1280, H = 8, D = 128, n = B * L * H * D;
  float *q = dev_zero(n), *k = dev_zero(n), *v = dev_zero(n), *o = dev_zero(n), *lse = dev_zero(B * H * L);
  float *dq = dev_zero(n), *dk = dev_zero(n), *dv = dev_zero(n);
  kc_timer_start();
  kc_attention_fwd(o, lse, q, k, v, NULL, B, L, H, D, NULL);
  double fwd_ms = kc_timer_stop_ms();
  kc_timer_start();
  kc_attention_bwd(dq, dk, dv, o, q, k, v, o, lse, NULL, B, L, H, D, NULL);
  double bwd_ms = kc_timer_stop_ms();
  double af = 4.0 * B * H * (double)L * L * D;
  printf("bench: attention fwd 32x1280x8x128 (fp32)           %8.3f ms %6.1f TFLOP/s\n", fwd_ms,
         af / fwd_ms / 1e9);
  printf("bench: attention bwd 32x1280x8x128 (fp32)           %8.3f ms %6.1f TFLOP/s\n", bwd_ms,
         2.5 * af / bwd_ms / 1e9);
  kc_free(q), kc_free(k), kc_free(v), kc_free(o), kc_free(lse), kc_free(dq), kc_free(dk), kc_free(dv);
  int64_t np = 400 << 20;
  float *p = dev_zero(np), *g = dev_zero(np), *m = dev_zero(np), *vv = dev_zero(np);
  kc_adamw_update(p, g, m, vv, np, 1e-3, 0.9, 0.99, 1e-8, 0, 1);
  kc_timer_start();
  kc_adamw_update(p, g, m, vv, np, 1e-3, 0.9, 0.99, 1e-8, 0, 2);
  ms = kc_timer_stop_ms();
  printf("bench: AdamW over 419M parameters                   %8.3f ms %6.0f GB/s\n", ms,
         7.0 * 4 * (double)np / ms / 1e6);
  kc_free(p), kc_free(g), kc_free(m), kc_free(vv);
}

int main(int argc, char **argv) {
  int devices = cuda_device_count();
  if (devices == 0) {
    printf("check_kernels: no CUDA device visible; nothing to check\n");
    return 0;
  }
  char desc[256];
  cuda_select_device(0);
  cuda_device_describe(0, desc, sizeof desc);
  char ver[256];
  cuda_versions(ver, sizeof ver);
  printf("device: %s\n%s\n\n%-22s %-10s %-26s %10s %9s\n", desc, ver, "kernel", "what", "shape", "rel.err",
         "tol");
  kc_init();
  check_linear(KC_FP32, "fp32", 1e-5);
  check_linear(KC_TF32, "tf32", 5e-3);
  check_linear(KC_BF16, "bf16", 3e-2);
  check_pointwise();
  for (int layout = 0; layout < 2; layout++)
    for (int vs = 0; vs < 2; vs++) check_modulation(layout ? K_TOKENS : K_CHANNEL_FIRST, vs);
  check_norms();
  check_attention(false);
  check_attention(true);
  check_loss_optim_rng();
  printf("\ngpu kernels: %d passed, %d failed\n", checks - failures, failures);
  if (argc > 1 && strcmp(argv[1], "--bench") == 0) bench();
  return failures ? 1 : 0;
}
