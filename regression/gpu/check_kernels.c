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
#include "../../kernels/cpu/kernels_cpu.h"
#include "../../kernels/cuda/timing.h"
#include "../../kernels/kernels.h"
#include "parity.h"

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
  /* without a bias: the plain GEMM (with one, the bias rides in cuBLASLt's epilogue) */
  k_linear_fwd(y, x, w, NULL, rows, in, out);
  kc_linear_fwd(gy, gx, gw, NULL, rows, in, out);
  snprintf(what, sizeof what, "fwd no bias %s", pname);
  report("linear", what, "97x65 -> 33", rel_err(gy, y, rows * out), tol);
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

/* The bias gradient over many rows (253 chunks of the column sums) and
 * columns that are not a multiple of 32, against the CPU's. */
static void check_bias_grad_at_scale(void) {
  int64_t rows = 16411, in = 1, out = 1029;
  float *x = host(rows * in), *w = host(out * in), *dy = host(rows * out), *db = host(out),
        *dw = host(out * in);
  fill(x, rows * in, 41, -1, 1), fill(w, out * in, 42, -1, 1), fill(dy, rows * out, 43, -1, 1),
      fill(db, out, 44, -1, 1), fill(dw, out * in, 45, -1, 1);
  float *gx = dev(x, rows * in), *gw = dev(w, out * in), *gdy = dev(dy, rows * out), *gdb = dev(db, out),
        *gdw = dev(dw, out * in);
  k_linear_bwd(NULL, dw, db, dy, x, w, rows, in, out);
  kc_linear_bwd(NULL, gdw, gdb, gdy, gx, gw, rows, in, out);
  report("linear", "db", "16411 rows -> 1029", rel_err(gdb, db, out), 1e-6);
  free(x), free(w), free(dy), free(db), free(dw);
  kc_free(gx), kc_free(gw), kc_free(gdy), kc_free(gdb), kc_free(gdw);
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
  /* In place, as kernels/elementwise.h allows (dx == dy; dr == dy): the vector
   * gradients must read dy before it is overwritten, and dr must see dy, not dx. */
  memset(dsc, 0, nv * sizeof(float)), memset(dsh, 0, nv * sizeof(float));
  kc_memset0(gdsc, nv * sizeof(float)), kc_memset0(gdsh, nv * sizeof(float));
  k_modulate_bwd(dx, dsc, dsh, dy, x, sc, vstride, B, C, S, layout);
  float *gin = dev(dy, n);
  kc_modulate_bwd(gin, gdsc, gdsh, gin, gx, gsc, vstride, B, C, S, layout);
  report("modulate", "dx==dy", shape, rel_err(gin, dx, n), 1e-6);
  report("modulate", "dscale i.p.", shape, rel_err(gdsc, dsc, nv), 1e-5);
  report("modulate", "dshift i.p.", shape, rel_err(gdsh, dsh, nv), 1e-5);
  kc_free(gin);
  memset(dsc, 0, nv * sizeof(float));
  kc_memset0(gdsc, nv * sizeof(float));
  k_residual_mix_bwd(dx, dr, dsc, dy, x, r, sc, vstride, B, C, S, layout);
  gin = dev(dy, n);
  kc_residual_mix_bwd(gin, gdr, gdsc, gin, gx, gr, gsc, vstride, B, C, S, layout);
  report("residual_mix", "dx==dy", shape, rel_err(gin, dx, n), 1e-6);
  report("residual_mix", "dr, dx==dy", shape, rel_err(gdr, dr, n), 1e-6);
  report("residual_mix", "dc, dx==dy", shape, rel_err(gdsc, dsc, nv), 1e-5);
  kc_free(gin);
  memset(dsc, 0, nv * sizeof(float));
  kc_memset0(gdsc, nv * sizeof(float));
  k_residual_mix_bwd(dx, dr, dsc, dy, x, r, sc, vstride, B, C, S, layout);
  gin = dev(dy, n);
  kc_residual_mix_bwd(gdx, gin, gdsc, gin, gx, gr, gsc, vstride, B, C, S, layout);
  report("residual_mix", "dr==dy", shape, rel_err(gin, dr, n), 1e-6);
  report("residual_mix", "dx, dr==dy", shape, rel_err(gdx, dx, n), 1e-6);
  report("residual_mix", "dc, dr==dy", shape, rel_err(gdsc, dsc, nv), 1e-5);
  kc_free(gin);
  free(x), free(r), free(dy), free(sc), free(sh), free(y), free(dx), free(dr), free(dsc), free(dsh);
  kc_free(gx), kc_free(gr), kc_free(gdy), kc_free(gsc), kc_free(gsh), kc_free(gy), kc_free(gdx), kc_free(gdr);
  kc_free(gdsc), kc_free(gdsh);
}

/* Rows of 129 values (a warp per row) and of 4999 (a block per row). */
static void check_norm_rows(int64_t rows, int64_t dim) {
  int64_t n = rows * dim;
  char shape[32];
  snprintf(shape, sizeof shape, "%lldx%lld", (long long)rows, (long long)dim);
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
    report(name, "fwd", shape, rel_err(gy, y, n), 1e-6);
    report(name, "rstd", shape, rel_err(grs, rs, rows), 1e-6);
    report(name, "bwd", shape, rel_err(gdx, dx, n), 1e-5);
  }
  free(x), free(dy), free(y), free(dx), free(rs);
  kc_free(gx), kc_free(gdy), kc_free(gy), kc_free(gdx), kc_free(grs);
}

static void check_norms(void) {
  check_norm_rows(37, 129);
  check_norm_rows(11, 4999);
  /* An ill-conditioned row (spread 1e-7 of the mean): the output is where a
   * float mean and reciprocal, rounded as the CPU rounds them, matter. */
  float ill[64], iy[64], irs[1];
  for (int i = 0; i < 64; i++) ill[i] = 10000.0f + 0.0009765625f * (float)(i % 5);
  k_layernorm_fwd(iy, irs, ill, 1, 64);
  float *gill = dev(ill, 64), *giy = dev_zero(64), *girs = dev_zero(1);
  kc_layernorm_fwd(giy, girs, gill, 1, 64);
  report("layernorm", "fwd", "1x64 ill-conditioned", rel_err(giy, iy, 64), 1e-6);
  kc_free(gill), kc_free(giy), kc_free(girs);
}

/* Degenerate and very large launches: empty products and attention over no
 * sample do nothing (the CPU returns), a linear map from 0 features gives the
 * bias, and more (sample, head) pairs than a grid's y extent still run. */
static void check_edges(void) {
  float b[5] = {1, -2, 3, -4, 5}, y[15];
  float *gb = dev(b, 5), *gy = dev_zero(15), *gdx = dev_zero(15);
  kc_linear_fwd(gy, NULL, NULL, gb, 3, 0, 5);
  kc_linear_fwd(gy, NULL, NULL, gb, 0, 4, 5);
  kc_linear_bwd(gdx, NULL, NULL, NULL, NULL, NULL, 3, 5, 0);
  for (int r = 0; r < 3; r++) memcpy(y + 5 * r, b, sizeof b);
  report("linear", "fwd", "in = 0", rel_err(gy, y, 15), 0);
  kc_attention_fwd(gy, gdx, NULL, NULL, NULL, NULL, 0, 4, 2, 16, NULL);
  kc_attention_bwd(gy, gy, gy, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 2, 0, 2, 16, NULL);
  kc_free(gb), kc_free(gy), kc_free(gdx);

  int64_t B = 70001, L = 3, H = 1, D = 16, n = B * L * H * D, nl = B * H * L;
  float *q = host(n), *k = host(n), *v = host(n), *dy = host(n), *o = host(n), *lse = host(nl);
  float *dq = host(n), *dk = host(n), *dv = host(n);
  fill(q, n, 31, -1, 1), fill(k, n, 32, -1, 1), fill(v, n, 33, -1, 1), fill(dy, n, 34, -1, 1);
  float *work = host((size_t)k_attention_workspace_floats(L, D));
  k_attention_fwd(o, lse, q, k, v, NULL, B, L, H, D, work);
  k_attention_bwd(dq, dk, dv, dy, q, k, v, o, lse, NULL, B, L, H, D, work);
  float *gq = dev(q, n), *gk = dev(k, n), *gv = dev(v, n), *gdy = dev(dy, n), *go = dev_zero(n),
        *glse = dev_zero(nl), *gdq = dev_zero(n), *gdk = dev_zero(n), *gdv = dev_zero(n);
  kc_attention_fwd(go, glse, gq, gk, gv, NULL, B, L, H, D, NULL);
  kc_attention_bwd(gdq, gdk, gdv, gdy, gq, gk, gv, go, glse, NULL, B, L, H, D, NULL);
  report("attention", "fwd", "70001 pairs", rel_err(go, o, n), 1e-5);
  report("attention", "dk", "70001 pairs", rel_err(gdk, dk, n), 1e-4);
  free(q), free(k), free(v), free(dy), free(o), free(lse), free(dq), free(dk), free(dv), free(work);
  kc_free(gq), kc_free(gk), kc_free(gv), kc_free(gdy), kc_free(go), kc_free(glse), kc_free(gdq), kc_free(gdk);
  kc_free(gdv);
}

/* The fp32 kernels walk keys (queries) in tiles of 32 with 16 rows a block:
 * shapes with a partial last tile and block, head dims that are not a
 * multiple of 32, the largest head dim, and a window mask with a query that
 * sees no key. */
static void check_attention(int64_t B, int64_t L, int64_t H, int64_t D, bool masked) {
  int64_t n = B * L * H * D, nl = B * H * L;
  float *q = host(n), *k = host(n), *v = host(n), *dy = host(n), *y = host(n), *lse = host(nl);
  float *dq = host(n), *dk = host(n), *dv = host(n);
  fill(q, n, 14, -1, 1), fill(k, n, 15, -1, 1), fill(v, n, 16, -1, 1), fill(dy, n, 17, -1, 1);
  bool *mask = NULL, *gmask = NULL;
  if (masked) { /* a local window, as the ViT's: |i - j| <= 6; query 7 sees no key */
    mask = malloc((size_t)(L * L));
    for (int64_t i = 0; i < L; i++)
      for (int64_t j = 0; j < L; j++) mask[i * L + j] = llabs(i - j) <= 6 && i != 7;
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
  char shape[64];
  snprintf(shape, sizeof shape, "%lldx%lldx%lldx%lld%s", (long long)B, (long long)L, (long long)H,
           (long long)D, masked ? " window" : "");
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
  /* the guarded step with its state on the device: a clipped step, a skipped
   * (non-finite) one, another clipped one */
  k_step_state hs = {.steps = 7}, gs_host = hs;
  k_step_state *gs = kc_malloc(sizeof gs_host);
  kc_upload(gs, &gs_host, sizeof gs_host);
  for (int t = 0; t < 3; t++) {
    float poison = t == 1 ? NAN : g[17];
    g[17] = poison;
    kc_upload(gg + 17, &poison, sizeof poison);
    k_step_guard(g, n, &hs);
    kc_step_guard(gg, n, gs);
    k_adamw_guarded(p, g, m, v, n, &hs, 1e-3, 0.9, 0.99, 1e-8, 0.01, 1.0);
    kc_adamw_guarded(gp, gg, gm, gv, n, gs, 1e-3, 0.9, 0.99, 1e-8, 0.01, 1.0);
    if (t == 1) g[17] = 0.25f, kc_upload(gg + 17, &g[17], sizeof g[17]);
  }
  kc_download(&gs_host, gs, sizeof gs_host);
  kc_free(gs);
  bool counts =
      gs_host.steps == hs.steps && gs_host.skipped == hs.skipped && hs.steps == 9 && hs.skipped == 1;
  report("adamw_guarded", "counts", "3 steps", counts ? 0 : 1, 0);
  report("adamw_guarded", "norm", "3 steps", fabs(gs_host.norm_sum - hs.norm_sum) / hs.norm_sum, 1e-12);
  report("adamw_guarded", "params", "100003", rel_err(gp, p, n), 1e-6);
  report("adamw_guarded", "moments", "100003", rel_err(gv, v, n), 1e-6);
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

/* ---- the ViT / denoiser / surrogate path: flat arrays, layouts, dropout,
 * scaling, encodings, rotary embedding, qkv split, MAE. The CPU twins are
 * called as kcpu_<op> (host memory, whatever the backend). ---- */

/* Exact comparison of n bools, 0 when equal, else the count of mismatches. */
static double bool_mismatch(const bool *d_gpu, const bool *cpu, size_t n) {
  bool *g = malloc(n ? n : 1);
  kc_download(g, d_gpu, n);
  size_t bad = 0;
  for (size_t i = 0; i < n; i++) bad += g[i] != cpu[i];
  free(g);
  return (double)bad;
}

/* A device copy of host array h, for the in-place (aliasing) calls. */
static float *dev_copy_of(const float *h, size_t n) { return dev(h, n); }

static void check_vector(void) {
  int64_t B = 5, n = 203, N = B * n;
  float *x = host(N), *z = host(N), *row = host(n), *a = host(B), *c = host(B), *m = host(N);
  float *y = host(N), *w = host(B);
  fill(x, N, 30, -1, 1), fill(z, N, 31, -1, 1), fill(row, n, 33, -1, 1);
  fill(a, B, 34, -2, 2), fill(c, B, 35, -2, 2), fill(w, B, 36, 0, 1), fill(m, N, 37, -1, 1);
  for (int64_t i = 0; i < N; i++)
    m[i] = m[i] > 0.2f ? 1.0f : (m[i] < -0.6f ? -3.0f : 0.0f); /* zeros and nonzeros */
  float *gx = dev(x, N), *gz = dev(z, N), *grow = dev(row, n), *ga = dev(a, B), *gc = dev(c, B),
        *gm = dev(m, N), *gw = dev(w, B), *gy = dev_zero(N);
  const char *shape = "5x203";

  kcpu_fill(y, 0.37f, N), kc_fill(gy, 0.37f, N);
  report("fill", "0.37", "1015", rel_err(gy, y, N), 0);
  kcpu_fill(y, 0.0f, N - 2), kc_fill(gy, 0.0f, N - 2); /* the memset path; the tail keeps 0.37 */
  report("fill", "0", "1013 of 1015", rel_err(gy, y, N), 0);
  kcpu_copy(y, x, N), kc_copy(gy, gx, N);
  report("copy", "", "1015", rel_err(gy, y, N), 0);
  kcpu_add(y, z, N), kc_add(gy, gz, N);
  report("add", "", "1015", rel_err(gy, y, N), 1e-6);
  kcpu_scal(y, -1.7f, N), kc_scal(gy, -1.7f, N);
  report("scal", "", "1015", rel_err(gy, y, N), 1e-6);

  kcpu_add_row(y, x, row, B, n), kc_add_row(gy, gx, grow, B, n);
  report("add_row", "", shape, rel_err(gy, y, N), 1e-6);
  float *gin = dev_copy_of(x, N);
  kc_add_row(gin, gin, grow, B, n);
  report("add_row", "y==x", shape, rel_err(gin, y, N), 1e-6);
  kc_free(gin);

  kcpu_sum_rows(y, x, B, n), kc_sum_rows(gy, gx, B, n);
  report("sum_rows", "", shape, rel_err(gy, y, n), 1e-6);

  kcpu_axpby_rows(y, a, x, c, z, B, n), kc_axpby_rows(gy, ga, gx, gc, gz, B, n);
  report("axpby_rows", "a,c", shape, rel_err(gy, y, N), 1e-6);
  gin = dev_copy_of(x, N);
  kc_axpby_rows(gin, ga, gin, gc, gz, B, n);
  report("axpby_rows", "y==x", shape, rel_err(gin, y, N), 1e-6);
  kc_free(gin);
  gin = dev_copy_of(z, N);
  kc_axpby_rows(gin, ga, gx, gc, gin, B, n);
  report("axpby_rows", "y==z", shape, rel_err(gin, y, N), 1e-6);
  kc_free(gin);
  kcpu_axpby_rows(y, a, x, NULL, NULL, B, n), kc_axpby_rows(gy, ga, gx, NULL, NULL, B, n);
  report("axpby_rows", "a only", shape, rel_err(gy, y, N), 1e-6);

  kcpu_mul(y, x, z, N), kc_mul(gy, gx, gz, N);
  report("mul", "", "1015", rel_err(gy, y, N), 0);
  gin = dev_copy_of(x, N);
  kc_mul(gin, gin, gz, N);
  report("mul", "y==x", "1015", rel_err(gin, y, N), 0);
  kc_free(gin);
  kcpu_diff_rows(y, a, x, z, B, n), kc_diff_rows(gy, ga, gx, gz, B, n);
  report("diff_rows", "", shape, rel_err(gy, y, N), 1e-6);
  gin = dev_copy_of(x, N);
  kc_diff_rows(gin, ga, gin, gz, B, n);
  report("diff_rows", "y==x", shape, rel_err(gin, y, N), 1e-6);
  kc_free(gin);

  kcpu_select(y, m, x, z, N), kc_select(gy, gm, gx, gz, N);
  report("select", "a,b", "1015", rel_err(gy, y, N), 0);
  kcpu_select(y, m, NULL, z, N), kc_select(gy, gm, NULL, gz, N);
  report("select", "a NULL", "1015", rel_err(gy, y, N), 0);
  kcpu_select(y, m, x, NULL, N), kc_select(gy, gm, gx, NULL, N);
  report("select", "b NULL", "1015", rel_err(gy, y, N), 0);
  kcpu_select(y, m, x, z, N);
  gin = dev_copy_of(x, N);
  kc_select(gin, gm, gin, gz, N);
  report("select", "y==a", "1015", rel_err(gin, y, N), 0);
  kc_free(gin);
  gin = dev_copy_of(z, N);
  kc_select(gin, gm, gx, gin, N);
  report("select", "y==b", "1015", rel_err(gin, y, N), 0);
  kc_free(gin);

  double cpu = kcpu_weighted_sse(x, z, w, B, n), gpu = kc_weighted_sse(gx, gz, gw, B, n);
  report("weighted_sse", "", shape, fabs(gpu - cpu) / cpu, 1e-10);
  int64_t big = 100003; /* a multi-block reduction */
  float *p = host(big), *t = host(big), *w1 = host(1);
  fill(p, big, 38, -1, 1), fill(t, big, 39, -1, 1), w1[0] = 0.3f;
  float *gp = dev(p, big), *gt = dev(t, big), *gw1 = dev(w1, 1);
  cpu = kcpu_weighted_sse(p, t, w1, 1, big), gpu = kc_weighted_sse(gp, gt, gw1, 1, big);
  report("weighted_sse", "", "1x100003", fabs(gpu - cpu) / cpu, 1e-10);
  free(p), free(t), free(w1);
  kc_free(gp), kc_free(gt), kc_free(gw1);

  free(x), free(z), free(row), free(a), free(c), free(m), free(y), free(w);
  kc_free(gx), kc_free(gz), kc_free(grow), kc_free(ga), kc_free(gc), kc_free(gm), kc_free(gw), kc_free(gy);
}

static void check_window_mask(void) {
  struct {
    int dims;
    int64_t grid[3];
    int window[3];
    const char *shape;
  } cases[] = {{1, {13, 1, 1}, {5, 0, 0}, "13 w5"},
               {2, {5, 7, 1}, {3, 4, 0}, "5x7 w3,4"},
               {3, {3, 4, 5}, {2, 0, 3}, "3x4x5 w2,0,3"},
               {2, {6, 9, 1}, {0, 0, 0}, "6x9 no window"}};
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    int64_t L = 1;
    for (int d = 0; d < cases[k].dims; d++) L *= cases[k].grid[d];
    bool *mask = malloc((size_t)(L * L)), *gmask = kc_malloc((size_t)(L * L));
    kcpu_window_mask(mask, cases[k].dims, cases[k].grid, cases[k].window);
    kc_window_mask(gmask, cases[k].dims, cases[k].grid, cases[k].window);
    report("window_mask", "", cases[k].shape, bool_mismatch(gmask, mask, (size_t)(L * L)), 0);
    free(mask);
    kc_free(gmask);
  }
}

static void check_layout(void) {
  /* concatenation */
  int64_t outer = 7, al = 13, bl = 5, ny = outer * (al + bl);
  float *a = host(outer * al), *b = host(outer * bl), *dy = host(ny), *y = host(ny), *da = host(outer * al),
        *db = host(outer * bl);
  fill(a, outer * al, 40, -1, 1), fill(b, outer * bl, 41, -1, 1), fill(dy, ny, 42, -1, 1);
  float *ga = dev(a, outer * al), *gb = dev(b, outer * bl), *gdy = dev(dy, ny), *gy = dev_zero(ny),
        *gda = dev_zero(outer * al), *gdb = dev_zero(outer * bl);
  kcpu_concat_fwd(y, a, b, outer, al, bl), kc_concat_fwd(gy, ga, gb, outer, al, bl);
  report("concat", "fwd", "7x(13+5)", rel_err(gy, y, ny), 0);
  kcpu_concat_bwd(da, db, dy, outer, al, bl), kc_concat_bwd(gda, gdb, gdy, outer, al, bl);
  report("concat", "da", "7x(13+5)", rel_err(gda, da, outer * al), 0);
  report("concat", "db", "7x(13+5)", rel_err(gdb, db, outer * bl), 0);
  kc_memset0(gdb, outer * bl * sizeof(float));
  kc_concat_bwd(NULL, gdb, gdy, outer, al, bl);
  report("concat", "db, da NULL", "7x(13+5)", rel_err(gdb, db, outer * bl), 0);
  free(a), free(b), free(dy), free(y), free(da), free(db);
  kc_free(ga), kc_free(gb), kc_free(gdy), kc_free(gy), kc_free(gda), kc_free(gdb);

  /* channel-first <-> tokens: extents across 32-wide tiles and their tails */
  int64_t shapes[][3] = {{3, 37, 45}, {2, 70, 33}, {1, 5, 3}};
  for (int k = 0; k < 3; k++) {
    int64_t Bt = shapes[k][0], C = shapes[k][1], S = shapes[k][2], n = Bt * C * S;
    char shape[48];
    snprintf(shape, sizeof shape, "%lldx%lldx%lld", (long long)Bt, (long long)C, (long long)S);
    float *x = host(n), *o = host(n);
    fill(x, n, 43 + k, -1, 1);
    float *gx = dev(x, n), *go = dev_zero(n);
    kcpu_to_tokens_fwd(o, x, Bt, C, S), kc_to_tokens_fwd(go, gx, Bt, C, S);
    report("to_tokens", "fwd", shape, rel_err(go, o, n), 0);
    kcpu_to_tokens_bwd(o, x, Bt, C, S), kc_to_tokens_bwd(go, gx, Bt, C, S);
    report("to_tokens", "bwd", shape, rel_err(go, o, n), 0);
    kcpu_to_channels_fwd(o, x, Bt, C, S), kc_to_channels_fwd(go, gx, Bt, C, S);
    report("to_channels", "fwd", shape, rel_err(go, o, n), 0);
    kcpu_to_channels_bwd(o, x, Bt, C, S), kc_to_channels_bwd(go, gx, Bt, C, S);
    report("to_channels", "bwd", shape, rel_err(go, o, n), 0);
    free(x), free(o);
    kc_free(gx), kc_free(go);
  }

  /* patchify / unpatchify over 1 to 3 spatial dims, both output layouts */
  k_patch_shape ps[] = {
      {.batch = 2, .channels = 5, .dims = 1, .in = {12}, .patch = {4}},
      {.batch = 2, .channels = 3, .dims = 2, .in = {6, 10}, .patch = {2, 5}},
      {.batch = 2, .channels = 3, .dims = 3, .in = {4, 6, 9}, .patch = {2, 3, 3}},
      {.batch = 1, .channels = 2, .dims = 3, .in = {5, 4, 7}, .patch = {1, 4, 1}},
      {.batch = 2, .channels = 3, .dims = 2, .in = {6, 520}, .patch = {2, 4}}, /* rows wider than a block */
  };
  for (size_t k = 0; k < sizeof ps / sizeof *ps; k++)
    for (int last = 0; last < 2; last++) {
      k_patch_shape s = ps[k];
      s.channel_last = last;
      int64_t n = s.batch * s.channels;
      for (int d = 0; d < s.dims; d++) n *= s.in[d];
      char shape[64];
      snprintf(shape, sizeof shape, "%dd case %zu %s", s.dims, k, last ? "ch-last" : "ch-first");
      float *x = host(n), *o = host(n);
      fill(x, n, 50 + (unsigned)k, -1, 1);
      float *gx = dev(x, n), *go = dev_zero(n);
      kcpu_patchify_fwd(o, x, &s), kc_patchify_fwd(go, gx, &s);
      report("patchify", "fwd", shape, rel_err(go, o, n), 0);
      kcpu_patchify_bwd(o, x, &s), kc_patchify_bwd(go, gx, &s);
      report("patchify", "bwd", shape, rel_err(go, o, n), 0);
      kcpu_unpatchify_fwd(o, x, &s), kc_unpatchify_fwd(go, gx, &s);
      report("unpatchify", "fwd", shape, rel_err(go, o, n), 0);
      kcpu_unpatchify_bwd(o, x, &s), kc_unpatchify_bwd(go, gx, &s);
      report("unpatchify", "bwd", shape, rel_err(go, o, n), 0);
      free(x), free(o);
      kc_free(gx), kc_free(go);
    }
}

static void check_dropout_scale(void) {
  int64_t B = 3, per = 1001, n = B * per; /* per_sample not a multiple of 4: a partial Philox block */
  float *x = host(n), *y = host(n), *s = host(B), *ds = host(B);
  fill(x, n, 60, -1, 1), fill(s, B, 61, -2, 2), fill(ds, B, 62, -1, 1);
  float *gx = dev(x, n), *gy = dev_zero(n), *gs = dev(s, B), *gds = dev(ds, B);
  rng_key key = {.seed = 0x5eed, .purpose = RNG_DROPOUT, .step = 3};
  float ps[] = {0.3f, 0.0f, 1.0f};
  for (int k = 0; k < 3; k++) {
    char what[32];
    snprintf(what, sizeof what, "p=%.1f", ps[k]);
    kcpu_dropout_fwd(y, x, B, per, ps[k], key, 7), kc_dropout_fwd(gy, gx, B, per, ps[k], key, 7);
    report("dropout fwd", what, "3x1001 @7", rel_err(gy, y, n), 0);
    kcpu_dropout_bwd(y, x, B, per, ps[k], key, 7), kc_dropout_bwd(gy, gx, B, per, ps[k], key, 7);
    report("dropout bwd", what, "3x1001 @7", rel_err(gy, y, n), 0);
  }
  kcpu_dropout_fwd(y, x, B, per, 0.3f, key, 7);
  float *gin = dev_copy_of(x, n);
  kc_dropout_fwd(gin, gin, B, per, 0.3f, key, 7);
  report("dropout fwd", "y==x", "3x1001 @7", rel_err(gin, y, n), 0);
  kc_free(gin);
  key.step = 4;
  kcpu_dropout_bwd(y, x, B, per, 0.5f, key, 1ULL << 33); /* a sample index above 32 bits */
  kc_dropout_bwd(gy, gx, B, per, 0.5f, key, 1ULL << 33);
  report("dropout bwd", "p=0.5", "3x1001 @2^33", rel_err(gy, y, n), 0);

  kcpu_scale_fwd(y, x, s, B, per), kc_scale_fwd(gy, gx, gs, B, per);
  report("scale", "fwd", "3x1001", rel_err(gy, y, n), 1e-6);
  float *dy = host(n), *dx = host(n);
  fill(dy, n, 63, -1, 1);
  float *gdy = dev(dy, n), *gdx = dev_zero(n);
  kcpu_scale_bwd(dx, ds, dy, x, s, B, per), kc_scale_bwd(gdx, gds, gdy, gx, gs, B, per);
  report("scale", "dx", "3x1001", rel_err(gdx, dx, n), 1e-6);
  report("scale", "ds (accum)", "3x1001", rel_err(gds, ds, B), 1e-5);
  kcpu_scale_bwd(dx, ds, dy, x, s, B, per); /* in place on the GPU: dx == dy */
  kc_scale_bwd(gdy, gds, gdy, gx, gs, B, per);
  report("scale", "dx==dy", "3x1001", rel_err(gdy, dx, n), 1e-6);
  report("scale", "ds (accum 2)", "3x1001", rel_err(gds, ds, B), 1e-5);
  free(x), free(y), free(s), free(ds), free(dy), free(dx);
  kc_free(gx), kc_free(gy), kc_free(gs), kc_free(gds), kc_free(gdy), kc_free(gdx);
}

static void check_sine(void) {
  int64_t feats[] = {18, 256};
  for (int k = 0; k < 2; k++) {
    int64_t n = 37, D = feats[k];
    float *x = host(n), *freqs = host(D / 2), *y = host(n * D), *dy = host(n * D), *dx = host(n);
    fill(x, n, 70, -3, 3), fill(dy, n * D, 71, -1, 1);
    k_sine_freqs(freqs, D, K_SINE_OMEGA);
    float *gx = dev(x, n), *gf = dev(freqs, D / 2), *gy = dev_zero(n * D), *gdy = dev(dy, n * D),
          *gdx = dev_zero(n);
    char shape[32];
    snprintf(shape, sizeof shape, "37x%lld", (long long)D);
    kcpu_sine_encoding_fwd(y, x, freqs, n, D), kc_sine_encoding_fwd(gy, gx, gf, n, D);
    report("sine_encoding", "fwd", shape, rel_err(gy, y, n * D), 1e-6);
    kcpu_sine_encoding_bwd(dx, dy, x, freqs, n, D), kc_sine_encoding_bwd(gdx, gdy, gx, gf, n, D);
    report("sine_encoding", "bwd", shape, rel_err(gdx, dx, n), 1e-5);
    free(x), free(freqs), free(y), free(dy), free(dx);
    kc_free(gx), kc_free(gf), kc_free(gy), kc_free(gdy), kc_free(gdx);
  }
}

static void check_rope(void) {
  int64_t shp[3] = {3, 4, 5}, L = 60, nd = 3, pairs = 9, C = 2 * pairs, B = 3, n = B * L * C;
  float *coo = host(L * nd), *theta = host(nd * pairs), *ang = host(L * pairs), *dang = host(L * pairs),
        *dth = host(nd * pairs);
  kcpu_grid_coords(coo, 3, shp);
  float *gcoo = dev_zero(L * nd);
  kc_grid_coords(gcoo, 3, shp);
  report("grid_coords", "", "3x4x5", rel_err(gcoo, coo, L * nd), 0);
  int64_t shp2[2] = {7, 3};
  float *coo2 = host(42), *gcoo2 = dev_zero(42);
  kcpu_grid_coords(coo2, 2, shp2);
  kc_grid_coords(gcoo2, 2, shp2);
  report("grid_coords", "", "7x3", rel_err(gcoo2, coo2, 42), 0);
  free(coo2);
  kc_free(gcoo2);

  fill(theta, nd * pairs, 80, -1, 1), fill(dang, L * pairs, 81, -1, 1), fill(dth, nd * pairs, 82, -1, 1);
  float *gth = dev(theta, nd * pairs), *gang = dev_zero(L * pairs), *gdang = dev(dang, L * pairs),
        *gdth = dev(dth, nd * pairs);
  kcpu_rope_angles_fwd(ang, coo, theta, L, nd, pairs), kc_rope_angles_fwd(gang, gcoo, gth, L, nd, pairs);
  report("rope_angles", "fwd", "60x3 -> 9", rel_err(gang, ang, L * pairs), 1e-6);
  kcpu_rope_angles_bwd(dth, dang, coo, L, nd, pairs), kc_rope_angles_bwd(gdth, gdang, gcoo, L, nd, pairs);
  report("rope_angles", "dtheta acc", "60x3 -> 9", rel_err(gdth, dth, nd * pairs), 1e-5);

  float *x = host(n), *y = host(n), *dy = host(n), *dx = host(n), *da = host(L * pairs);
  fill(x, n, 83, -1, 1), fill(dy, n, 84, -1, 1), fill(da, L * pairs, 85, -1, 1);
  float *gx = dev(x, n), *gy = dev_zero(n), *gdy = dev(dy, n), *gdx = dev_zero(n), *gda = dev(da, L * pairs);
  const char *shape = "3x60x18";
  kcpu_rope_fwd(y, x, ang, B, L, C), kc_rope_fwd(gy, gx, gang, B, L, C);
  report("rope", "fwd", shape, rel_err(gy, y, n), 1e-6);
  float *gin = dev_copy_of(x, n);
  kc_rope_fwd(gin, gin, gang, B, L, C);
  report("rope", "fwd y==x", shape, rel_err(gin, y, n), 1e-6);
  kc_free(gin);
  kcpu_rope_bwd(dx, da, dy, y, ang, B, L, C), kc_rope_bwd(gdx, gda, gdy, gy, gang, B, L, C);
  report("rope", "dx", shape, rel_err(gdx, dx, n), 1e-6);
  report("rope", "dangles acc", shape, rel_err(gda, da, L * pairs), 1e-5);
  kcpu_rope_bwd(dx, da, dy, y, ang, B, L, C); /* in place on the GPU: dx == dy; dangles accumulates again */
  gin = dev_copy_of(dy, n);
  kc_rope_bwd(gin, gda, gin, gy, gang, B, L, C);
  report("rope", "dx==dy", shape, rel_err(gin, dx, n), 1e-6);
  report("rope", "dangles acc 2", shape, rel_err(gda, da, L * pairs), 1e-5);
  kc_free(gin);

  free(coo), free(theta), free(ang), free(dang), free(dth), free(x), free(y), free(dy), free(dx), free(da);
  kc_free(gcoo), kc_free(gth), kc_free(gang), kc_free(gdang), kc_free(gdth), kc_free(gx), kc_free(gy);
  kc_free(gdy), kc_free(gdx), kc_free(gda);
}

static void check_qkv_mae(void) {
  int64_t rows = 37, C = 24, n = rows * C;
  float *qkv = host(3 * n), *q = host(n), *k = host(n), *v = host(n), *d = host(3 * n);
  fill(qkv, 3 * n, 90, -1, 1);
  float *gqkv = dev(qkv, 3 * n), *gq = dev_zero(n), *gk = dev_zero(n), *gv = dev_zero(n),
        *gd = dev_zero(3 * n);
  kcpu_qkv_split_fwd(q, k, v, qkv, rows, C), kc_qkv_split_fwd(gq, gk, gv, gqkv, rows, C);
  report("qkv_split", "q", "37x3x24", rel_err(gq, q, n), 0);
  report("qkv_split", "k", "37x3x24", rel_err(gk, k, n), 0);
  report("qkv_split", "v", "37x3x24", rel_err(gv, v, n), 0);
  fill(q, n, 91, -1, 1), fill(k, n, 92, -1, 1), fill(v, n, 93, -1, 1);
  kc_upload(gq, q, n * sizeof(float)), kc_upload(gk, k, n * sizeof(float)),
      kc_upload(gv, v, n * sizeof(float));
  kcpu_qkv_split_bwd(d, q, k, v, rows, C), kc_qkv_split_bwd(gd, gq, gk, gv, rows, C);
  report("qkv_split", "bwd", "37x3x24", rel_err(gd, d, 3 * n), 0);
  free(qkv), free(q), free(k), free(v), free(d);
  kc_free(gqkv), kc_free(gq), kc_free(gk), kc_free(gv), kc_free(gd);

  int64_t m = 100003;
  float *p = host(m), *t = host(m), *dp = host(m);
  fill(p, m, 94, -1, 1), fill(t, m, 95, -1, 1);
  for (int64_t i = 0; i < m; i += 17) t[i] = p[i]; /* ties: a zero gradient */
  float *gp = dev(p, m), *gt = dev(t, m), *gdp = dev_zero(m);
  double cpu = kcpu_mae_fwd(p, t, m), gpu = kc_mae_fwd(gp, gt, m);
  report("mae", "fwd", "100003", fabs(gpu - cpu) / cpu, 1e-10);
  kcpu_mae_bwd(dp, p, t, m, 0.7), kc_mae_bwd(gdp, gp, gt, m, 0.7);
  report("mae", "bwd", "100003", rel_err(gdp, dp, m), 0);
  cpu = kcpu_mae_fwd(p, t, 5), gpu = kc_mae_fwd(gp, gt, 5);
  report("mae", "fwd", "5", fabs(gpu - cpu) / cpu, 1e-10);
  free(p), free(t), free(dp);
  kc_free(gp), kc_free(gt), kc_free(gdp);
}

/* The figures: one line each, for the note. */
static void bench(void) {
  double peak = kc_bf16_gemm_tflops(8192, 10);
  printf("\nbench: bf16 GEMM peak (cuBLAS, 8192^3)               %8.1f TFLOP/s\n", peak);
  /* The engine keeps activations in fp32: its bf16 GEMMs read fp32 operands (FAST_16BF).
   * Beside the same products from bf16 operands, at vit_large's FFN and attention shapes. */
  static const int64_t shapes[][3] = {{40960, 4096, 1024}, {40960, 1024, 4096}, {40960, 3072, 1024}};
  for (int i = 0; i < 3; i++) {
    double f32 = kc_gemm_storage_tflops(shapes[i][0], shapes[i][1], shapes[i][2], false, 10);
    double b16 = kc_gemm_storage_tflops(shapes[i][0], shapes[i][1], shapes[i][2], true, 10);
    printf(
        "bench: GEMM %lldx%lldx%lld bf16 products, fp32 operands %6.1f TFLOP/s, bf16 operands %6.1f "
        "(fp32/bf16 %.2f)\n",
        (long long)shapes[i][0], (long long)shapes[i][1], (long long)shapes[i][2], f32, b16, f32 / b16);
  }
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
  /* vit_large attention: batch 32, 1280 tokens, 8 heads of 128, the fp32 kernels
   * (check_attention_tc times the tensor-core ones beside them). */
  kc_set_precision(KC_FP32);
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

/* Nearest upsampling and its adjoint (kernels/dcae.h), over 1 to 3 spatial
 * dims with unit and non-unit factors, and the channel RMS norm of the latent
 * saturation, forward and backward. The same arithmetic in the same order as
 * the CPU (copies; sums of the copies in increasing output order; channel
 * sums in double with the products unfused): exact, tolerance 0 for
 * upsampling and 1e-6 for the RMS norm (room for a double sqrt/division that
 * differs in the last bit). */
static void check_dcae(void) {
  struct {
    int dims;
    int64_t in[3];
    int factor[3];
  } up[] = {{1, {7}, {3}}, {2, {5, 6}, {2, 2}}, {2, {3, 4}, {1, 3}}, {3, {3, 4, 5}, {2, 1, 2}}};
  for (size_t k = 0; k < sizeof up / sizeof *up; k++) {
    int64_t rows = 6, vin = 1, f = 1;
    for (int d = 0; d < up[k].dims; d++) vin *= up[k].in[d], f *= up[k].factor[d];
    int64_t nin = rows * vin, nout = nin * f;
    char shape[48];
    snprintf(shape, sizeof shape, "%dd case %zu, 6 rows", up[k].dims, k);
    float *x = host(nin), *dy = host(nout), *y = host(nout), *dx = host(nin);
    fill(x, nin, 90 + (unsigned)k, -1, 1), fill(dy, nout, 95 + (unsigned)k, -1, 1);
    float *gx = dev(x, nin), *gdy = dev(dy, nout), *gy = dev_zero(nout), *gdx = dev_zero(nin);
    kcpu_upsample_nearest_fwd(y, x, rows, up[k].dims, up[k].in, up[k].factor);
    kc_upsample_nearest_fwd(gy, gx, rows, up[k].dims, up[k].in, up[k].factor);
    report("upsample_nearest", "fwd", shape, rel_err(gy, y, nout), 0);
    kcpu_upsample_nearest_bwd(dx, dy, rows, up[k].dims, up[k].in, up[k].factor);
    kc_upsample_nearest_bwd(gdx, gdy, rows, up[k].dims, up[k].in, up[k].factor);
    report("upsample_nearest", "bwd", shape, rel_err(gdx, dx, nin), 0);
    free(x), free(dy), free(y), free(dx);
    kc_free(gx), kc_free(gdy), kc_free(gy), kc_free(gdx);
  }

  int64_t rs[][3] = {{3, 4, 37}, {2, 16, 1000}, {1, 1, 5}};
  for (int k = 0; k < 3; k++) {
    int64_t Bt = rs[k][0], C = rs[k][1], P = rs[k][2], n = Bt * C * P;
    char shape[48];
    snprintf(shape, sizeof shape, "%lldx%lldx%lld", (long long)Bt, (long long)C, (long long)P);
    float *x = host(n), *dy = host(n), *y = host(n), *dx = host(n);
    fill(x, n, 100 + (unsigned)k, -3, 3), fill(dy, n, 105 + (unsigned)k, -1, 1);
    float *gx = dev(x, n), *gdy = dev(dy, n), *gy = dev_zero(n), *gdx = dev_zero(n);
    kcpu_rmsnorm_channels_fwd(y, x, Bt, C, P);
    kc_rmsnorm_channels_fwd(gy, gx, Bt, C, P);
    report("rmsnorm_channels", "fwd", shape, rel_err(gy, y, n), 1e-6);
    kcpu_rmsnorm_channels_bwd(dx, dy, x, y, Bt, C, P);
    kc_rmsnorm_channels_bwd(gdx, gdy, gx, gy, Bt, C, P);
    report("rmsnorm_channels", "bwd", shape, rel_err(gdx, dx, n), 1e-6);
    free(x), free(dy), free(y), free(dx);
    kc_free(gx), kc_free(gdy), kc_free(gy), kc_free(gdx);
  }
}

int main(int argc, char **argv) {
  if (!parity_begin("check_kernels")) return 0;
  check_linear(KC_FP32, "fp32", 1e-5);
  check_linear(KC_TF32, "tf32", 5e-3);
  check_linear(KC_BF16, "bf16", 3e-2);
  check_bias_grad_at_scale();
  check_pointwise();
  for (int layout = 0; layout < 2; layout++)
    for (int vs = 0; vs < 2; vs++) check_modulation(layout ? K_TOKENS : K_CHANNEL_FIRST, vs);
  check_norms();
  check_edges();
  check_attention(2, 45, 3, 16, false);
  check_attention(2, 45, 3, 16, true);
  check_attention(1, 70, 2, 80, false);
  check_attention(1, 70, 2, 80, true);
  check_attention(1, 40, 2, 48, true);
  check_attention(1, 40, 2, 128, true); /* vit_large's head: tiles past 48 KiB of shared memory */
  check_attention(2, 33, 1, 256, false);
  check_attention(1, 5, 2, 7, true);
  check_loss_optim_rng();
  check_vector();
  check_window_mask();
  check_layout();
  check_dropout_scale();
  check_sine();
  check_rope();
  check_qkv_mae();
  check_dcae();
  printf("\ngpu kernels: %d passed, %d failed\n", checks - failures, failures);
  if (argc > 1 && strcmp(argv[1], "--bench") == 0) bench();
  return failures ? 1 : 0;
}
