/* Benchmark of the core kernels (linear layers and the pointwise ops around
 * them) at the shapes of the latent ViT: 320-token sequences of 256 channels,
 * batch 8, FFN width 4·256. For 1 and 2 threads it reports the time, the
 * achieved GFLOP/s, the fraction of this machine's OpenBLAS sgemm peak
 * (measured here, on the same threads) and the ratio to the same PyTorch op
 * timed in the same run by bench_kernels_core_torch.py (when PyTorch is
 * installed: set LOLA_PYTHON to an interpreter that has it).
 *
 * The machine's load average is printed with each table: on a shared machine
 * the figures are only as good as the cores that were free.
 *
 *   build/<b>/bench/bench_kernels_core [threads ...]       (default: 1 2) */
#define _DEFAULT_SOURCE
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../kernels/kernels.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef void (*bench_fn)(void *ctx);

/* Best time of repeated runs (after a warm-up) over at least `budget` seconds:
 * the best, not the mean, because the machine may be shared. */
static double time_best(bench_fn fn, void *ctx, double budget) {
  fn(ctx);
  double best = 1e30, start = now();
  int runs = 0;
  while (runs < 3 || now() - start < budget) {
    double t0 = now();
    fn(ctx);
    double t = now() - t0;
    if (t < best) best = t;
    runs++;
  }
  return best;
}

static float *randoms(int64_t n, uint32_t purpose) {
  float *x = malloc((size_t)n * sizeof *x);
  rng_normal(x, n, (rng_key){.seed = 1, .purpose = purpose}, 0, 0);
  return x;
}

/* ---- the sgemm peak ---- */

typedef struct {
  int n;
  float *a, *b, *c;
} gemm_ctx;

static void run_gemm(void *p) {
  gemm_ctx *g = p;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->n, g->n, g->n, 1.0f, g->a, g->n, g->b, g->n, 0.0f,
              g->c, g->n);
}

static double sgemm_peak(void) {
  gemm_ctx g = {.n = 1536};
  int64_t n2 = (int64_t)g.n * g.n;
  g.a = randoms(n2, 1), g.b = randoms(n2, 2), g.c = randoms(n2, 3);
  double t = time_best(run_gemm, &g, 1.5);
  free(g.a), free(g.b), free(g.c);
  return 2.0 * g.n * (double)n2 / t * 1e-9;
}

/* ---- the kernels ---- */

typedef struct {
  int64_t rows, in, out;
  float *x, *w, *b, *y, *dy, *dx, *dw, *db;
} linear_ctx;

static void run_linear_fwd(void *p) {
  linear_ctx *l = p;
  k_linear_fwd(l->y, l->x, l->w, l->b, l->rows, l->in, l->out);
}

static void run_linear_bwd(void *p) {
  linear_ctx *l = p;
  k_linear_bwd(l->dx, l->dw, l->db, l->dy, l->x, l->w, l->rows, l->in, l->out);
}

typedef struct {
  int64_t B, N, C;
  float *x, *y, *dy, *dx, *v, *dv, *r;
} pointwise_ctx;

static void run_silu_fwd(void *p) {
  pointwise_ctx *c = p;
  k_silu_fwd(c->y, c->x, c->B * c->N * c->C);
}
static void run_silu_bwd(void *p) {
  pointwise_ctx *c = p;
  k_silu_bwd(c->dx, c->dy, c->x, c->B * c->N * c->C);
}
static void run_modulate_fwd(void *p) {
  pointwise_ctx *c = p;
  k_modulate_fwd(c->y, c->x, c->v, c->v + c->C, 2 * c->C, c->B, c->C, c->N, K_TOKENS);
}
static void run_modulate_bwd(void *p) {
  pointwise_ctx *c = p;
  k_modulate_bwd(c->dx, c->dv, c->dv + c->C, c->dy, c->x, c->v, 2 * c->C, c->B, c->C, c->N, K_TOKENS);
}
static void run_mix_fwd(void *p) {
  pointwise_ctx *c = p;
  k_residual_mix_fwd(c->y, c->x, c->r, c->v, 2 * c->C, c->B, c->C, c->N, K_TOKENS);
}
static void run_mix_bwd(void *p) {
  pointwise_ctx *c = p;
  k_residual_mix_bwd(c->dx, c->y, c->dv, c->dy, c->x, c->r, c->v, 2 * c->C, c->B, c->C, c->N, K_TOKENS);
}

/* ---- PyTorch, same ops, same threads ---- */

enum { MAX_TORCH = 32 };
static struct {
  char name[64];
  double seconds;
} torch_times[MAX_TORCH];
static int torch_count;
static char torch_note[256] = "not run";

static void run_torch(int threads) {
  torch_count = 0;
  const char *python = getenv("LOLA_PYTHON") ? getenv("LOLA_PYTHON") : "python3";
  const char *script = getenv("LOLA_BENCH_TORCH") ? getenv("LOLA_BENCH_TORCH")
                                                  : "regression/bench/bench_kernels_core_torch.py";
  char cmd[1024];
  /* The BLAS under PyTorch may not follow torch.set_num_threads: pin it too. */
  snprintf(cmd, sizeof cmd,
           "OMP_NUM_THREADS=%d OPENBLAS_NUM_THREADS=%d MKL_NUM_THREADS=%d %s %s --threads %d 2>&1", threads,
           threads, threads, python, script, threads);
  FILE *p = popen(cmd, "r");
  if (!p) return;
  char line[512];
  while (fgets(line, sizeof line, p)) {
    char name[64];
    double seconds;
    if (sscanf(line, "time %63s %lf", name, &seconds) == 2 && torch_count < MAX_TORCH) {
      snprintf(torch_times[torch_count].name, sizeof torch_times[0].name, "%s", name);
      torch_times[torch_count++].seconds = seconds;
    } else if (strncmp(line, "skipped", 7) == 0 || strncmp(line, "torch", 5) == 0) {
      line[strcspn(line, "\n")] = '\0';
      snprintf(torch_note, sizeof torch_note, "%.200s", line);
    }
  }
  pclose(p);
}

static double torch_time(const char *name) {
  for (int i = 0; i < torch_count; i++)
    if (strcmp(torch_times[i].name, name) == 0) return torch_times[i].seconds;
  return 0.0;
}

static void report(const char *name, const char *shape, double seconds, double flops, double bytes,
                   double peak) {
  double gflops = flops / seconds * 1e-9, torch = torch_time(name);
  char frac[16] = "-", ratio[16] = "-";
  if (flops > 0) snprintf(frac, sizeof frac, "%.2f", gflops / peak);
  if (torch > 0) snprintf(ratio, sizeof ratio, "%.2f", seconds / torch);
  printf("  %-20s %-22s %9.3f %9.1f %9.1f %8s %10.3f %8s\n", name, shape, seconds * 1e3, gflops,
         bytes / seconds * 1e-9, frac, torch * 1e3, ratio);
}

int main(int argc, char **argv) {
  int thread_counts[16] = {1, 2}, counts = 2;
  if (argc > 1) {
    counts = argc - 1 < 16 ? argc - 1 : 16;
    for (int i = 0; i < counts; i++) thread_counts[i] = atoi(argv[i + 1]) > 0 ? atoi(argv[i + 1]) : 1;
  }
  const int64_t B = 8, N = 320, C = 256, F = 4 * 256, rows = B * N;
  printf(
      "bench_kernels_core: linear and pointwise kernels at the latent ViT's shapes (B=%lld, N=%lld, "
      "C=%lld)\n",
      (long long)B, (long long)N, (long long)C);
  for (int t = 0; t < counts; t++) {
    int threads = thread_counts[t];
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    double peak = sgemm_peak();
    run_torch(threads);
    double load[1] = {0};
    getloadavg(load, 1);
    printf("\nthreads %d: sgemm peak %.1f GFLOP/s (1536^3); load average %.1f on %d cores; PyTorch: %s\n",
           threads, peak, load[0], omp_get_num_procs(), torch_count ? "timed" : torch_note);
    printf("  %-20s %-22s %9s %9s %9s %8s %10s %8s\n", "op", "shape", "ms", "GFLOP/s", "GB/s", "of_peak",
           "torch_ms", "ratio");
    const int64_t shapes[3][2] = {{C, C}, {C, F}, {F, C}};
    for (int s = 0; s < 3; s++) {
      linear_ctx l = {.rows = rows, .in = shapes[s][0], .out = shapes[s][1]};
      l.x = randoms(rows * l.in, 1), l.w = randoms(l.in * l.out, 2), l.b = randoms(l.out, 3);
      l.y = randoms(rows * l.out, 4), l.dy = randoms(rows * l.out, 5), l.dx = randoms(rows * l.in, 6);
      l.dw = calloc((size_t)(l.in * l.out), sizeof *l.dw), l.db = calloc((size_t)l.out, sizeof *l.db);
      char name[64], shape[64];
      double flops = 2.0 * (double)rows * (double)l.in * (double)l.out;
      snprintf(shape, sizeof shape, "%lldx%lld->%lld", (long long)rows, (long long)l.in, (long long)l.out);
      snprintf(name, sizeof name, "linear_%lld_%lld_fwd", (long long)l.in, (long long)l.out);
      report(name, shape, time_best(run_linear_fwd, &l, 0.5), flops, 4.0 * (double)(rows * (l.in + l.out)),
             peak);
      snprintf(name, sizeof name, "linear_%lld_%lld_bwd", (long long)l.in, (long long)l.out);
      report(name, shape, time_best(run_linear_bwd, &l, 0.5), 2.0 * flops + (double)(rows * l.out),
             4.0 * (double)(rows * (2 * l.in + l.out)), peak);
      free(l.x), free(l.w), free(l.b), free(l.y), free(l.dy), free(l.dx), free(l.dw), free(l.db);
    }
    pointwise_ctx c = {.B = B, .N = N, .C = C};
    int64_t n = B * N * C;
    c.x = randoms(n, 1), c.y = randoms(n, 2), c.dy = randoms(n, 3), c.dx = randoms(n, 4), c.r = randoms(n, 5);
    c.v = randoms(2 * B * C, 6), c.dv = calloc((size_t)(2 * B * C), sizeof *c.dv);
    char shape[64];
    snprintf(shape, sizeof shape, "%lldx%lldx%lld", (long long)B, (long long)N, (long long)C);
    double bytes = 4.0 * (double)n;
    report("silu_fwd", shape, time_best(run_silu_fwd, &c, 0.3), 0, 2 * bytes, peak);
    report("silu_bwd", shape, time_best(run_silu_bwd, &c, 0.3), 0, 3 * bytes, peak);
    report("modulate_fwd", shape, time_best(run_modulate_fwd, &c, 0.3), 0, 2 * bytes, peak);
    report("modulate_bwd", shape, time_best(run_modulate_bwd, &c, 0.3), 0, 3 * bytes, peak);
    report("residual_mix_fwd", shape, time_best(run_mix_fwd, &c, 0.3), 0, 3 * bytes, peak);
    report("residual_mix_bwd", shape, time_best(run_mix_bwd, &c, 0.3), 0, 5 * bytes, peak);
    free(c.x), free(c.y), free(c.dy), free(c.dx), free(c.r), free(c.v), free(c.dv);
  }
  printf(
      "\nms: best of repeated runs; of_peak: GFLOP/s over the sgemm peak on the same threads;\n"
      "ratio: our time over PyTorch's (below 1: faster than PyTorch).\n");
  return 0;
}
