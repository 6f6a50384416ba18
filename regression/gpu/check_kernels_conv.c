/* The CUDA kernels of the DCAE autoencoder path (convolution, group and channel
 * layer norms, batched matrix products, VRMSE and similarity losses) against
 * their CPU twins on random odd-sized inputs, forward and backward, with a
 * tolerance stated per kernel and precision; then, with --bench, convolution
 * forward+backward times at the DCAE's large sizes. Exit status 1 on any
 * mismatch. The CPU twins run through k_<op> on the default (cpu) backend. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/cuda/cuda_device.h"
#include "../../kernels/cuda/kernels_cuda.h"
#include "../../kernels/cuda/timing.h"
#include "../../kernels/kernels.h"
#include "parity.h"

static const char *const PREC_NAME[] = {"fp32", "tf32", "bf16"};
static const double PREC_TOL[] = {1e-5, 5e-3, 3e-2};

static float *dev_fill(size_t n, unsigned seed, float lo, float hi) {
  float *h = host(n);
  fill(h, n, seed, lo, hi);
  float *d = dev(h, n);
  free(h);
  return d;
}

static const char *const ENGINE_NAME[] = {"auto", "cudnn", "im2col"};
static kc_conv_engine engine = KC_CONV_AUTO; /* the engine check_conv runs under */

/* Bitwise equality of two device arrays of n floats. */
static bool same_bits(const float *a, const float *b, size_t n) {
  float *ha = host(n), *hb = host(n);
  kc_download(ha, a, n * sizeof(float));
  kc_download(hb, b, n * sizeof(float));
  bool same = memcmp(ha, hb, n * sizeof(float)) == 0;
  free(ha), free(hb);
  return same;
}

/* One convolution, forward and backward, GPU in precision p against the CPU.
 * dw and db start from random values on both sides (they accumulate); the
 * GPU's dx starts from garbage (it is overwritten). The GPU pass runs twice
 * from the same start: the second must give the same bits (deterministic
 * algorithms only). Labels name the path that ran (cuDNN or im2col). */
static void check_conv_shape(const k_conv_shape *s, bool bias, kc_precision p, const char *shape) {
  int64_t out[K_CONV_MAX_DIMS];
  int64_t vout = k_conv_out_shape(s, out), vin = 1;
  for (int d = 0; d < s->dims; d++) vin *= s->in[d];
  size_t nx = (size_t)(s->batch * s->cin * vin), ny = (size_t)(s->batch * s->cout * vout);
  size_t nw = (size_t)k_conv_weight_numel(s), nb = (size_t)s->cout;
  float *x = host(nx), *w = host(nw), *b = host(nb), *dy = host(ny);
  fill(x, nx, 21, -1, 1), fill(w, nw, 22, -1, 1), fill(b, nb, 23, -1, 1), fill(dy, ny, 24, -1, 1);
  float *y = host(ny), *dx = host(nx), *dw = host(nw), *db = host(nb);
  fill(dw, nw, 25, -1, 1), fill(db, nb, 26, -1, 1);
  float *gx = dev(x, nx), *gw = dev(w, nw), *gb = dev(b, nb), *gdy = dev(dy, ny);
  float *gy = dev_fill(ny, 27, -9, 9), *gdx = dev_fill(nx, 28, -9, 9), *gdw = dev(dw, nw), *gdb = dev(db, nb);
  /* The rerun's accumulators start where the first run's do: uploaded before the CPU adds to dw and db. */
  float *gdw2 = dev(dw, nw), *gdb2 = dev(db, nb);

  int64_t cw = k_conv_fwd_workspace_floats(s), cwb = k_conv_bwd_workspace_floats(s);
  float *work = host((size_t)(cw > cwb ? cw : cwb));
  k_conv_fwd(y, x, w, bias ? b : NULL, s, work);
  k_conv_bwd(dx, dw, bias ? db : NULL, dy, x, w, s, work);
  free(work);

  kc_set_conv_engine(engine);
  kc_set_precision(p); /* before sizing: cuDNN's bf16 copies live in the workspace */
  char label[96];
  snprintf(label, sizeof label, "%s [%s]", shape, kc_conv_uses_cudnn(s) ? "cudnn" : "im2col");
  int64_t gwf = kc_conv_fwd_workspace_floats(s), gwb = kc_conv_bwd_workspace_floats(s);
  float *gwork = dev_zero((size_t)(gwf > gwb ? gwf : gwb));
  float *gy2 = dev_zero(ny), *gdx2 = dev_zero(nx);
  kc_conv_fwd(gy, gx, gw, bias ? gb : NULL, s, gwork);
  kc_conv_bwd(gdx, gdw, bias ? gdb : NULL, gdy, gx, gw, s, gwork);
  kc_conv_fwd(gy2, gx, gw, bias ? gb : NULL, s, gwork);
  kc_conv_bwd(gdx2, gdw2, bias ? gdb2 : NULL, gdy, gx, gw, s, gwork);
  kc_set_precision(KC_FP32);
  kc_set_conv_engine(KC_CONV_AUTO);
  bool repeat = same_bits(gy, gy2, ny) && same_bits(gdx, gdx2, nx) && same_bits(gdw, gdw2, nw) &&
                (!bias || same_bits(gdb, gdb2, nb));
  report("conv", "rerun bits", label, repeat ? 0.0 : 1.0, 0.0);
  kc_free(gy2), kc_free(gdx2), kc_free(gdw2), kc_free(gdb2);

  char what[32];
  double tol = PREC_TOL[p];
  snprintf(what, sizeof what, "fwd %s", PREC_NAME[p]);
  report("conv", what, label, rel_err(gy, y, ny), tol);
  snprintf(what, sizeof what, "dx %s", PREC_NAME[p]);
  report("conv", what, label, rel_err(gdx, dx, nx), tol);
  /* dw sums batch·positions products in fp32 on both sides (OpenBLAS and
   * cuBLAS, in different orders): an accumulation error growing as u·sqrt(K),
   * about 1e-5 at K = 10^5 (the two-chunk case); below 10^4 terms the stated
   * tolerance holds. */
  double dw_tol = fmax(tol, 1e-7 * sqrt((double)(s->batch * vout)));
  snprintf(what, sizeof what, "dw %s", PREC_NAME[p]);
  report("conv", what, label, rel_err(gdw, dw, nw), dw_tol);
  if (bias) report("conv", "db", label, rel_err(gdb, db, nb), 1e-6);
  free(x), free(w), free(b), free(dy), free(y), free(dx), free(dw), free(db);
  kc_free(gx), kc_free(gw), kc_free(gb), kc_free(gdy), kc_free(gy), kc_free(gdx), kc_free(gdw), kc_free(gdb);
  kc_free(gwork);
}

/* 1D/2D/3D, kernel 1/3/5, stride 1/2, zero/circular padding (k/2), with and
 * without bias (alternating), in precision p; then the CPU's special paths
 * (Winograd and the adjoint input gradient from 16 channels) and a batch that
 * spans two chunks of the GPU's workspace. */
static void check_conv(kc_precision p, kc_conv_engine e) {
  engine = e;
  static const int64_t ext[3][3] = {{37, 0, 0}, {13, 11, 0}, {7, 9, 5}};
  static const int ks[3] = {1, 3, 5};
  int item = 0;
  for (int dims = 1; dims <= 3; dims++)
    for (int ki = 0; ki < 3; ki++)
      for (int stride = 1; stride <= 2; stride++)
        for (int circ = 0; circ < 2; circ++) {
          int k = ks[ki];
          k_conv_shape s = k_conv_same(3, 5, 7, dims, ext[dims - 1], k, circ);
          for (int d = 0; d < dims; d++) s.stride[d] = stride;
          bool bias = (item++ % 2) == 0;
          char label[48];
          snprintf(label, sizeof label, "%dd k%d s%d %s%s 3x5->7", dims, k, stride, circ ? "circ" : "zero",
                   bias ? " +b" : "");
          check_conv_shape(&s, bias, p, label);
        }
  /* Uneven kernel/stride/pad per dim. */
  {
    k_conv_shape s = {.batch = 2,
                      .cin = 3,
                      .cout = 4,
                      .dims = 2,
                      .in = {10, 9},
                      .kernel = {3, 2},
                      .stride = {2, 1},
                      .pad = {0, 1}};
    check_conv_shape(&s, true, p, "2d k3x2 s2x1 p0x1 2x3->4");
    s.circular = true;
    check_conv_shape(&s, false, p, "2d k3x2 s2x1 p0x1 circ");
  }
  /* Pointwise (the column matrix is x itself) with more channels. */
  {
    int64_t in[2] = {15, 17};
    k_conv_shape s = k_conv_same(3, 19, 21, 2, in, 1, false);
    check_conv_shape(&s, true, p, "2d k1 pointwise 19->21");
  }
  /* The CPU's Winograd forward and adjoint input gradient (>= 16 channels). */
  for (int circ = 0; circ < 2; circ++) {
    int64_t in[2] = {19, 13};
    k_conv_shape s = k_conv_same(2, 17, 19, 2, in, 3, circ);
    check_conv_shape(&s, true, p, circ ? "2d k3 circ 17->19 wino" : "2d k3 zero 17->19 wino");
    int64_t in3[3] = {5, 7, 6};
    k_conv_shape s3 = k_conv_same(2, 17, 9, 3, in3, 3, circ);
    check_conv_shape(&s3, false, p, circ ? "3d k3 circ 17->9 adj" : "3d k3 zero 17->9 adj");
  }
  /* Two chunks of the GPU workspace (7 samples of 576x16383 columns each). */
  if (p == KC_FP32) {
    int64_t in[2] = {127, 129};
    k_conv_shape s = k_conv_same(9, 64, 8, 2, in, 3, false);
    check_conv_shape(&s, true, p, "2d k3 9x64->8 127x129");
  }
}

static void check_norms(void) {
  static const int64_t gcase[][4] = {{3, 12, 4, 37}, {2, 12, 1, 29}, {3, 12, 12, 31}, {1, 64, 32, 101}};
  for (int c = 0; c < 4; c++) {
    int64_t B = gcase[c][0], C = gcase[c][1], G = gcase[c][2], P = gcase[c][3], n = B * C * P;
    float *x = host(n), *dy = host(n), *y = host(n), *dx = host(n), *rs = host(B * G);
    fill(x, n, 31, -3, 5), fill(dy, n, 32, -1, 1);
    float *gx = dev(x, n), *gdy = dev(dy, n), *gy = dev_fill(n, 33, -9, 9), *gdx = dev_fill(n, 34, -9, 9),
          *grs = dev_zero(B * G);
    k_groupnorm_fwd(y, rs, x, B, C, G, P);
    k_groupnorm_bwd(dx, dy, y, rs, B, C, G, P);
    kc_groupnorm_fwd(gy, grs, gx, B, C, G, P);
    kc_groupnorm_bwd(gdx, gdy, gy, grs, B, C, G, P);
    char shape[48];
    snprintf(shape, sizeof shape, "%lldx%lldx%lld G%lld", (long long)B, (long long)C, (long long)P,
             (long long)G);
    report("groupnorm", "fwd", shape, rel_err(gy, y, n), 1e-5);
    report("groupnorm", "rstd", shape, rel_err(grs, rs, B * G), 1e-5);
    report("groupnorm", "bwd", shape, rel_err(gdx, dx, n), 1e-5);
    free(x), free(dy), free(y), free(dx), free(rs);
    kc_free(gx), kc_free(gdy), kc_free(gy), kc_free(gdx), kc_free(grs);
  }
  /* the last two: the DCAE's 8² level (32 lanes a pair) and more than 1024 positions (8 lanes) */
  static const int64_t lcase[][3] = {{3, 13, 101}, {2, 5, 37}, {2, 64, 33}, {8, 1024, 64}, {2, 24, 4500}};
  for (int c = 0; c < 5; c++) {
    int64_t B = lcase[c][0], C = lcase[c][1], P = lcase[c][2], n = B * C * P;
    float *x = host(n), *dy = host(n), *y = host(n), *dx = host(n), *rs = host(B * P);
    fill(x, n, 35, -3, 5), fill(dy, n, 36, -1, 1);
    float *gx = dev(x, n), *gdy = dev(dy, n), *gy = dev_fill(n, 37, -9, 9), *gdx = dev_fill(n, 38, -9, 9),
          *grs = dev_zero(B * P);
    k_layernorm_channels_fwd(y, rs, x, B, C, P);
    k_layernorm_channels_bwd(dx, dy, y, rs, B, C, P);
    kc_layernorm_channels_fwd(gy, grs, gx, B, C, P);
    kc_layernorm_channels_bwd(gdx, gdy, gy, grs, B, C, P);
    char shape[48];
    snprintf(shape, sizeof shape, "%lldx%lldx%lld", (long long)B, (long long)C, (long long)P);
    report("layernorm_channels", "fwd", shape, rel_err(gy, y, n), 1e-5);
    report("layernorm_channels", "rstd", shape, rel_err(grs, rs, B * P), 1e-5);
    report("layernorm_channels", "bwd", shape, rel_err(gdx, dx, n), 1e-5);
    free(x), free(dy), free(y), free(dx), free(rs);
    kc_free(gx), kc_free(gdy), kc_free(gy), kc_free(gdx), kc_free(grs);
  }
}

static void check_bmm(kc_precision p) {
  const int64_t batch = 3, m = 7, n = 9, k = 11;
  const size_t na = batch * m * k, nb = batch * k * n, nc = batch * m * n;
  float *a = host(na), *b = host(nb), *dc = host(nc), *c = host(nc), *da = host(na), *db = host(nb);
  fill(a, na, 41, -1, 1), fill(b, nb, 42, -1, 1), fill(dc, nc, 43, -1, 1);
  float *ga = dev(a, na), *gb = dev(b, nb), *gdc = dev(dc, nc);
  float *gc = dev_fill(nc, 44, -9, 9), *gda = dev_fill(na, 45, -9, 9), *gdb = dev_fill(nb, 46, -9, 9);
  for (int t = 0; t < 4; t++) {
    bool ta = t & 1, tb = t & 2;
    k_bmm_fwd(c, a, b, batch, m, n, k, ta, tb);
    k_bmm_bwd(da, db, dc, a, b, batch, m, n, k, ta, tb);
    kc_set_precision(p);
    kc_bmm_fwd(gc, ga, gb, batch, m, n, k, ta, tb);
    kc_bmm_bwd(gda, gdb, gdc, ga, gb, batch, m, n, k, ta, tb);
    kc_set_precision(KC_FP32);
    char what[32], shape[48];
    snprintf(shape, sizeof shape, "3x7x9x11 ta%d tb%d", ta, tb);
    snprintf(what, sizeof what, "fwd %s", PREC_NAME[p]);
    report("bmm", what, shape, rel_err(gc, c, nc), PREC_TOL[p]);
    snprintf(what, sizeof what, "da %s", PREC_NAME[p]);
    report("bmm", what, shape, rel_err(gda, da, na), PREC_TOL[p]);
    snprintf(what, sizeof what, "db %s", PREC_NAME[p]);
    report("bmm", what, shape, rel_err(gdb, db, nb), PREC_TOL[p]);
  }
  free(a), free(b), free(dc), free(c), free(da), free(db);
  kc_free(ga), kc_free(gb), kc_free(gdc), kc_free(gc), kc_free(gda), kc_free(gdb);
}

static void check_losses(void) {
  {
    int64_t B = 3, C = 5, S = 1031, n = B * C * S;
    float *p = host(n), *t = host(n), *d = host(n);
    fill(p, n, 51, -1, 1), fill(t, n, 52, -2, 2);
    for (int64_t i = 0; i < S; i++) p[4 * S + i] = t[4 * S + i]; /* a row with zero error: gradient 0 */
    float *gp = dev(p, n), *gt = dev(t, n), *gd = dev_fill(n, 53, -9, 9);
    double cpu = k_vrmse_fwd(p, t, B, C, S), gpu = kc_vrmse_fwd(gp, gt, B, C, S);
    report("vrmse", "fwd", "3x5x1031", fabs(gpu - cpu) / fabs(cpu), 1e-6);
    k_vrmse_bwd(d, p, t, B, C, S, 0.7);
    kc_vrmse_bwd(gd, gp, gt, B, C, S, 0.7);
    report("vrmse", "bwd", "3x5x1031", rel_err(gd, d, n), 1e-6);
    free(p), free(t), free(d);
    kc_free(gp), kc_free(gt), kc_free(gd);
  }
  static const int64_t scase[][2] = {{6, 257}, {2, 1000}, {9, 4097}};
  for (int c = 0; c < 3; c++) {
    int64_t B = scase[c][0], D = scase[c][1], n = B * D;
    float *z = host(n), *d = host(n);
    fill(z, n, 54 + c, -1, 1.5f);
    float *gz = dev(z, n), *gd = dev_fill(n, 57, -9, 9);
    double cpu = k_similarity_fwd(z, B, D), gpu = kc_similarity_fwd(gz, B, D);
    char shape[48];
    snprintf(shape, sizeof shape, "%lldx%lld", (long long)B, (long long)D);
    report("similarity", "fwd", shape, fabs(gpu - cpu) / fabs(cpu), 1e-6);
    k_similarity_bwd(d, z, B, D, 1.3);
    kc_similarity_bwd(gd, gz, B, D, 1.3);
    report("similarity", "bwd", shape, rel_err(gd, d, n), 1e-6);
    free(z), free(d);
    kc_free(gz), kc_free(gd);
  }
}

/* Convolution forward + backward (dx, dw, db) at one DCAE size, in precision p, under engine e. */
static void bench_conv(int64_t batch, int64_t ch, int64_t hw, kc_precision p, kc_conv_engine e) {
  int64_t in[2] = {hw, hw};
  k_conv_shape s = k_conv_same(batch, ch, ch, 2, in, 3, false);
  size_t nx = (size_t)(batch * ch * hw * hw), nw = (size_t)k_conv_weight_numel(&s);
  kc_set_conv_engine(e);
  kc_set_precision(p);
  const bool cudnn = kc_conv_uses_cudnn(&s);
  int64_t wf = kc_conv_fwd_workspace_floats(&s), wb = kc_conv_bwd_workspace_floats(&s);
  float *x = dev_fill(nx, 61, -1, 1), *w = dev_fill(nw, 62, -0.05f, 0.05f), *b = dev_zero(ch),
        *y = dev_zero(nx);
  float *dx = dev_zero(nx), *dw = dev_zero(nw), *db = dev_zero(ch),
        *work = dev_zero((size_t)(wf > wb ? wf : wb));
  const int reps = 5;
  double fwd_ms = 0, bwd_ms = 0;
  for (int r = 0; r <= reps; r++) { /* the first round warms up */
    kc_timer_start();
    kc_conv_fwd(y, x, w, b, &s, work);
    double f = kc_timer_stop_ms();
    kc_timer_start();
    kc_conv_bwd(dx, dw, db, y, x, w, &s, work);
    double g = kc_timer_stop_ms();
    if (r > 0) fwd_ms += f / reps, bwd_ms += g / reps;
  }
  kc_set_precision(KC_FP32);
  kc_set_conv_engine(KC_CONV_AUTO);
  double flops = 2.0 * (double)batch * ch * (double)(ch * 9) * (double)(hw * hw);
  printf(
      "bench: conv3x3 %lldx%lld@%lldx%lld %s %-6s  fwd %8.3f ms %6.1f TFLOP/s  bwd %8.3f ms %6.1f TFLOP/s  "
      "fwd+bwd %8.3f ms %6.1f TFLOP/s\n",
      (long long)batch, (long long)ch, (long long)hw, (long long)hw, PREC_NAME[p], cudnn ? "cudnn" : "im2col",
      fwd_ms, flops / fwd_ms / 1e9, bwd_ms, 2 * flops / bwd_ms / 1e9, fwd_ms + bwd_ms,
      3 * flops / (fwd_ms + bwd_ms) / 1e9);
  kc_free(x), kc_free(w), kc_free(b), kc_free(y), kc_free(dx), kc_free(dw), kc_free(db), kc_free(work);
}

static void bench(void) {
  double peak = kc_bf16_gemm_tflops(8192, 10);
  printf("\nbench: bf16 GEMM peak (cuBLAS, 8192^3) %8.1f TFLOP/s\n", peak);
  /* bf16 (cuDNN with bf16 copies of the operands and results), tf32 (cuDNN on the
   * fp32 arrays themselves) and fp32, each beside im2col */
  static const kc_precision order[] = {KC_BF16, KC_TF32, KC_FP32};
  for (int p = 0; p < 3; p++)
    for (int e = 0; e < 2; e++) {
      kc_precision prec = order[p];
      kc_conv_engine eng = e ? KC_CONV_IM2COL : KC_CONV_AUTO;
      bench_conv(8, 64, 256, prec, eng);
      bench_conv(8, 128, 128, prec, eng);
      bench_conv(8, 512, 32, prec, eng);
    }
}

int main(int argc, char **argv) {
  if (!parity_begin("check_kernels_conv")) return 0;
  printf("convolutions: %s\n", kc_cudnn_status());
  /* Both paths: auto (cuDNN where it takes the shape, as runs use it) and im2col. */
  for (int e = KC_CONV_AUTO; e <= KC_CONV_IM2COL; e += KC_CONV_IM2COL - KC_CONV_AUTO)
    for (int p = 0; p < 3; p++) {
      if (e == KC_CONV_AUTO && !kc_cudnn_loads()) {
        printf("conv: cuDNN path skipped: %s\n", kc_cudnn_status());
        break;
      }
      printf("conv: engine %s, %s\n", ENGINE_NAME[e], PREC_NAME[p]);
      check_conv((kc_precision)p, (kc_conv_engine)e);
    }
  check_norms();
  for (int p = 0; p < 3; p++) check_bmm((kc_precision)p);
  check_losses();
  printf("\ngpu kernels (conv family): %d passed, %d failed\n", checks - failures, failures);
  if (argc > 1 && strcmp(argv[1], "--bench") == 0) bench();
  return failures ? 1 : 0;
}
