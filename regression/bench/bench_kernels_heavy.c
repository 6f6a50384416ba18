/* Speed of the heavy CPU kernels at the shapes the models use.
 *
 *   build/bench/bench_kernels_heavy [threads ...]        (default: 1 2)
 *
 * For each thread count (OpenMP and OpenBLAS both set to it) it measures this
 * machine's OpenBLAS sgemm peak (2048³), then times the forward and the
 * backward of: 3x3 convolutions (batch 8, zero padding, plus one circular)
 * from 5 to 256 channels at 64² down to 8², attention on 320 tokens of 256
 * channels in 4 heads (batch 8), and the normalisations. One CSV line each:
 *
 *   op,shape,threads,pass,ms,gflops,peak_fraction
 *
 * gflops counts the multiply-adds of the op (2 per MAC; attention's backward
 * is 5 products, 2.5x its forward; convolution's backward is dx + dw, twice its
 * forward); for the memory-bound norms it is GB/s of the arrays read and
 * written, and peak_fraction is empty. regression/bench/heavy_kernels_torch.py
 * times the same ops in PyTorch and regression/bench/compare_heavy.sh joins
 * the two into one table with the ratio. Times are the best of 5 repeats of a
 * batch of calls lasting at least 0.2 s. */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../kernels/attention.h"
#include "../../kernels/conv.h"
#include "../../kernels/norm.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float *buffer(int64_t n, unsigned seed) {
  float *p = aligned_alloc(64, (size_t)((n * 4 + 63) / 64 * 64 + 64));
  unsigned s = seed * 2654435761u + 1;
  for (int64_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    p[i] = (float)((s >> 8) * (1.0 / 16777216.0) * 2.0 - 1.0);
  }
  return p;
}

typedef void (*bench_fn)(void *ctx);

/* Seconds per call: best of 5 repeats of enough calls to last 0.2 s. */
static double time_call(bench_fn f, void *ctx) {
  f(ctx); /* warm-up */
  double t0 = now();
  f(ctx);
  double one = now() - t0;
  int reps = one > 0.2 ? 1 : (int)(0.2 / (one > 1e-6 ? one : 1e-6)) + 1;
  double best = 1e30;
  for (int r = 0; r < 5; r++) {
    t0 = now();
    for (int i = 0; i < reps; i++) f(ctx);
    double t = (now() - t0) / reps;
    if (t < best) best = t;
  }
  return best;
}

static double peak_gflops;

static void report(const char *op, const char *shape, int threads, const char *pass, double seconds,
                   double work, int is_bytes) {
  double rate = work / seconds * 1e-9;
  if (is_bytes)
    printf("%s,%s,%d,%s,%.4f,%.2f,\n", op, shape, threads, pass, seconds * 1e3, rate);
  else
    printf("%s,%s,%d,%s,%.4f,%.2f,%.3f\n", op, shape, threads, pass, seconds * 1e3, rate, rate / peak_gflops);
  fflush(stdout);
}

/* ---- sgemm peak ---- */

typedef struct {
  float *a, *b, *c;
  int n;
} gemm_ctx;

static void gemm_call(void *v) {
  gemm_ctx *g = v;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->n, g->n, g->n, 1.0f, g->a, g->n, g->b, g->n, 0.0f,
              g->c, g->n);
}

static double measure_peak(void) {
  gemm_ctx g = {buffer(2048 * 2048, 1), buffer(2048 * 2048, 2), buffer(2048 * 2048, 3), 2048};
  double t = time_call(gemm_call, &g);
  free(g.a), free(g.b), free(g.c);
  return 2.0 * 2048.0 * 2048.0 * 2048.0 / t * 1e-9;
}

/* ---- convolution ---- */

typedef struct {
  k_conv_shape s;
  float *x, *w, *b, *y, *dy, *dx, *dw, *db, *work;
} conv_ctx;

static void conv_fwd_call(void *v) {
  conv_ctx *c = v;
  k_conv_fwd(c->y, c->x, c->w, c->b, &c->s, c->work);
}

static void conv_bwd_call(void *v) {
  conv_ctx *c = v;
  k_conv_bwd(c->dx, c->dw, c->db, c->dy, c->x, c->w, &c->s, c->work);
}

static void bench_conv(int threads, int64_t cin, int64_t cout, int64_t size, bool circular) {
  int64_t in[2] = {size, size}, out[K_CONV_MAX_DIMS];
  conv_ctx c = {.s = k_conv_same(8, cin, cout, 2, in, 3, circular)};
  int64_t nx = 8 * cin * size * size, ny = 8 * cout * k_conv_out_shape(&c.s, out),
          nw = k_conv_weight_numel(&c.s);
  int64_t nwork = k_conv_fwd_workspace_floats(&c.s);
  if (k_conv_bwd_workspace_floats(&c.s) > nwork) nwork = k_conv_bwd_workspace_floats(&c.s);
  c.x = buffer(nx, 4), c.w = buffer(nw, 5), c.b = buffer(cout, 6), c.y = buffer(ny, 7), c.dy = buffer(ny, 8);
  c.dx = buffer(nx, 9), c.dw = buffer(nw, 10), c.db = buffer(cout, 11), c.work = buffer(nwork, 12);
  char shape[96];
  snprintf(shape, sizeof shape, "8x%lld->%lld@%lldx%lld%s", (long long)cin, (long long)cout, (long long)size,
           (long long)size, circular ? "circ" : "");
  double flops = 2.0 * (double)ny * (double)(cin * 9);
  report("conv3x3", shape, threads, "fwd", time_call(conv_fwd_call, &c), flops, 0);
  report("conv3x3", shape, threads, "bwd", time_call(conv_bwd_call, &c), 2 * flops, 0);
  free(c.x), free(c.w), free(c.b), free(c.y), free(c.dy), free(c.dx), free(c.dw), free(c.db), free(c.work);
}

/* ---- attention ---- */

typedef struct {
  int64_t b, l, h, d;
  float *q, *k, *v, *y, *lse, *dy, *dq, *dk, *dv, *work;
} att_ctx;

static void att_fwd_call(void *v) {
  att_ctx *a = v;
  k_attention_fwd(a->y, a->lse, a->q, a->k, a->v, NULL, a->b, a->l, a->h, a->d, a->work);
}

static void att_bwd_call(void *v) {
  att_ctx *a = v;
  k_attention_bwd(a->dq, a->dk, a->dv, a->dy, a->q, a->k, a->v, a->y, a->lse, NULL, a->b, a->l, a->h, a->d,
                  a->work);
}

static void bench_attention(int threads, int64_t b, int64_t l, int64_t channels, int64_t heads) {
  att_ctx a = {.b = b, .l = l, .h = heads, .d = channels / heads};
  int64_t n = b * l * channels;
  a.q = buffer(n, 13), a.k = buffer(n, 14), a.v = buffer(n, 15), a.y = buffer(n, 16), a.dy = buffer(n, 17);
  a.dq = buffer(n, 18), a.dk = buffer(n, 19), a.dv = buffer(n, 20), a.lse = buffer(b * heads * l, 21);
  a.work = buffer(k_attention_workspace_floats(l, a.d), 22);
  att_fwd_call(&a);
  char shape[96];
  snprintf(shape, sizeof shape, "%lldx%lldx%lld/h%lld", (long long)b, (long long)l, (long long)channels,
           (long long)heads);
  double flops = 4.0 * (double)(b * heads) * (double)(l * l) * (double)a.d;
  report("attention", shape, threads, "fwd", time_call(att_fwd_call, &a), flops, 0);
  report("attention", shape, threads, "bwd", time_call(att_bwd_call, &a), 2.5 * flops, 0);
  free(a.q), free(a.k), free(a.v), free(a.y), free(a.dy), free(a.dq), free(a.dk), free(a.dv), free(a.lse);
  free(a.work);
}

/* ---- norms ---- */

typedef enum { N_LN_CHANNELS, N_LN, N_RMS, N_GROUP } norm_kind;

typedef struct {
  norm_kind kind;
  int64_t b, c, p; /* channel-first (b, c, p) or rows = b, dim = c */
  float *x, *y, *rstd, *dy, *dx;
} norm_ctx;

static void norm_fwd_call(void *v) {
  norm_ctx *n = v;
  switch (n->kind) {
    case N_LN_CHANNELS:
      k_layernorm_channels_fwd(n->y, n->rstd, n->x, n->b, n->c, n->p);
      break;
    case N_LN:
      k_layernorm_fwd(n->y, n->rstd, n->x, n->b, n->c);
      break;
    case N_RMS:
      k_rmsnorm_fwd(n->y, n->rstd, n->x, n->b, n->c);
      break;
    case N_GROUP:
      k_groupnorm_fwd(n->y, n->rstd, n->x, n->b, n->c, 16, n->p);
      break;
  }
}

static void norm_bwd_call(void *v) {
  norm_ctx *n = v;
  switch (n->kind) {
    case N_LN_CHANNELS:
      k_layernorm_channels_bwd(n->dx, n->dy, n->y, n->rstd, n->b, n->c, n->p);
      break;
    case N_LN:
      k_layernorm_bwd(n->dx, n->dy, n->y, n->rstd, n->b, n->c);
      break;
    case N_RMS:
      k_rmsnorm_bwd(n->dx, n->dy, n->y, n->rstd, n->b, n->c);
      break;
    case N_GROUP:
      k_groupnorm_bwd(n->dx, n->dy, n->y, n->rstd, n->b, n->c, 16, n->p);
      break;
  }
}

static void bench_norm(int threads, norm_kind kind, const char *op, int64_t b, int64_t c, int64_t p) {
  norm_ctx n = {.kind = kind, .b = b, .c = c, .p = p};
  int64_t count = b * c * p;
  n.x = buffer(count, 23), n.y = buffer(count, 24), n.dy = buffer(count, 25), n.dx = buffer(count, 26);
  n.rstd = buffer(count, 27);
  char shape[96];
  if (p > 1)
    snprintf(shape, sizeof shape, "%lldx%lldx%lld", (long long)b, (long long)c, (long long)p);
  else
    snprintf(shape, sizeof shape, "%lldx%lld", (long long)b, (long long)c);
  report(op, shape, threads, "fwd", time_call(norm_fwd_call, &n), 8.0 * count, 1);  /* read x, write y */
  report(op, shape, threads, "bwd", time_call(norm_bwd_call, &n), 12.0 * count, 1); /* read dy, y; write dx */
  free(n.x), free(n.y), free(n.dy), free(n.dx), free(n.rstd);
}

int main(int argc, char **argv) {
  int counts[8] = {1, 2}, ncounts = 2;
  if (argc > 1) {
    ncounts = 0;
    for (int i = 1; i < argc && ncounts < 8; i++) counts[ncounts++] = atoi(argv[i]);
  }
  printf("op,shape,threads,pass,ms,gflops,peak_fraction\n");
  for (int t = 0; t < ncounts; t++) {
    int threads = counts[t];
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    peak_gflops = measure_peak();
    printf("sgemm_peak,2048^3,%d,fwd,,%.2f,1.000\n", threads, peak_gflops);
    bench_conv(threads, 5, 32, 64, false);
    bench_conv(threads, 32, 32, 64, false);
    bench_conv(threads, 32, 32, 64, true);
    bench_conv(threads, 64, 64, 32, false);
    bench_conv(threads, 128, 128, 16, false);
    bench_conv(threads, 256, 256, 8, false);
    bench_attention(threads, 8, 320, 256, 4);
    bench_norm(threads, N_LN_CHANNELS, "layernorm_channels", 8, 64, 32 * 32);
    bench_norm(threads, N_LN_CHANNELS, "layernorm_channels", 8, 256, 8 * 8);
    bench_norm(threads, N_LN, "layernorm", 8 * 320, 256, 1);
    bench_norm(threads, N_RMS, "rmsnorm", 8 * 320 * 4, 64, 1);
    bench_norm(threads, N_GROUP, "groupnorm", 8, 64, 32 * 32);
  }
  return 0;
}
