/* Losses. Reductions run over a fixed number of contiguous chunks, each summed
 * in double by one thread, then added in chunk order: the same bits on any
 * thread count. */
#include "../loss.h"
#include "kernels_cpu.h"

#include <math.h>

#include "../../src/error.h"

enum { CHUNKS = 64, PAR_MIN = 32768 };

static inline int64_t chunk_begin(int64_t n, int k) { return n * k / CHUNKS; }

double kcpu_mse_fwd(const float *pred, const float *target, int64_t n) {
  double part[CHUNKS];
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int k = 0; k < CHUNKS; k++) {
    double s = 0.0;
    for (int64_t i = chunk_begin(n, k); i < chunk_begin(n, k + 1); i++) {
      double d = (double)pred[i] - target[i];
      s += d * d;
    }
    part[k] = s;
  }
  double total = 0.0;
  for (int k = 0; k < CHUNKS; k++) total += part[k];
  return total / (double)n;
}

void kcpu_mse_bwd(float *dpred, const float *pred, const float *target, int64_t n, double dloss) {
  float a = (float)(2.0 * dloss / (double)n);
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t i = 0; i < n; i++) dpred[i] = a * (pred[i] - target[i]);
}

double kcpu_mae_fwd(const float *pred, const float *target, int64_t n) {
  double part[CHUNKS];
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int k = 0; k < CHUNKS; k++) {
    double s = 0.0;
    for (int64_t i = chunk_begin(n, k); i < chunk_begin(n, k + 1); i++)
      s += fabs((double)pred[i] - target[i]);
    part[k] = s;
  }
  double total = 0.0;
  for (int k = 0; k < CHUNKS; k++) total += part[k];
  return total / (double)n;
}

void kcpu_mae_bwd(float *dpred, const float *pred, const float *target, int64_t n, double dloss) {
  float a = (float)(dloss / (double)n);
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t i = 0; i < n; i++) {
    float d = pred[i] - target[i];
    dpred[i] = d > 0.0f ? a : d < 0.0f ? -a : 0.0f;
  }
}

/* Mean squared error and target variance (unbiased) of one (b, c) row, in double. */
static void row_error_and_variance(const float *p, const float *t, int64_t S, double *mse, double *var) {
  double mean = 0.0, err = 0.0;
  for (int64_t s = 0; s < S; s++) {
    mean += t[s];
    double d = (double)t[s] - p[s];
    err += d * d;
  }
  mean /= (double)S;
  double ss = 0.0;
  for (int64_t s = 0; s < S; s++) ss += ((double)t[s] - mean) * ((double)t[s] - mean);
  *mse = err / (double)S;
  *var = ss / (double)(S - 1);
}

static void require_spatial(int64_t S) {
  if (S < K_VRMSE_MIN_SPATIAL)
    lola_die(LOLA_EXIT_RUNTIME, "VRMSE needs at least %d positions per channel (got %lld)",
             K_VRMSE_MIN_SPATIAL, (long long)S);
}

double kcpu_vrmse_fwd(const float *pred, const float *target, int64_t B, int64_t C, int64_t S) {
  require_spatial(S);
  double total = 0.0;
  /* One term per (b, c) row, added in row order. */
  for (int64_t r0 = 0; r0 < B * C; r0 += CHUNKS) {
    double term[CHUNKS];
    int64_t rows = B * C - r0 < CHUNKS ? B * C - r0 : CHUNKS;
#pragma omp parallel for schedule(static) if (rows * S > PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
      double mse, var;
      row_error_and_variance(pred + (r0 + r) * S, target + (r0 + r) * S, S, &mse, &var);
      term[r] = sqrt(mse / (var + 1e-2));
    }
    for (int64_t r = 0; r < rows; r++) total += term[r];
  }
  return total / (double)(B * C);
}

/* d/dy_s sqrt(m / v) = (y_s - x_s) / (S · v · sqrt(m / v)), m = mean (x - y)². */
void kcpu_vrmse_bwd(float *dpred, const float *pred, const float *target, int64_t B, int64_t C, int64_t S,
                    double dloss) {
  require_spatial(S);
#pragma omp parallel for schedule(static) if (B * C * S > PAR_MIN)
  for (int64_t r = 0; r < B * C; r++) {
    const float *p = pred + r * S, *t = target + r * S;
    double mse, var;
    row_error_and_variance(p, t, S, &mse, &var);
    double v = var + 1e-2, root = sqrt(mse / v);
    double a = root > 0.0 ? dloss / ((double)(B * C) * (double)S * v * root) : 0.0;
    for (int64_t s = 0; s < S; s++) dpred[r * S + s] = (float)(a * ((double)p[s] - t[s]));
  }
}

static double clamped_norm(const float *z, int64_t D) {
  double s = 0.0;
  for (int64_t d = 0; d < D; d++) s += (double)z[d] * z[d];
  return fmax(sqrt(s), 1e-8);
}

static void require_pairs(int64_t B) {
  if (B < 2)
    lola_die(LOLA_EXIT_RUNTIME, "the similarity loss needs at least 2 samples per batch (got %lld)",
             (long long)B);
}

double kcpu_similarity_fwd(const float *z, int64_t B, int64_t D) {
  require_pairs(B);
  double total = 0.0;
  for (int64_t i = 0; i < B; i++) {
    double ni = clamped_norm(z + i * D, D), row = 0.0;
    for (int64_t j = i + 1; j < B; j++) {
      double dot = 0.0;
      for (int64_t d = 0; d < D; d++) dot += (double)z[i * D + d] * z[j * D + d];
      row += dot / (ni * clamped_norm(z + j * D, D));
    }
    total += row;
  }
  return total / (double)(B * (B - 1) / 2);
}

/* With u_i = z_i / n_i and L = (1/P) Σ_{i<j} u_i·u_j:
 *   g_i = ∂L/∂u_i = (Σ_j u_j - u_i) / P,   ∂L/∂z_i = (g_i - u_i (u_i·g_i)) / n_i
 * (for a clamped norm the projection term vanishes: u_i = z_i / 1e-8 is linear).
 * dz holds u, then g, then the result: no scratch beyond the output. */
void kcpu_similarity_bwd(float *dz, const float *z, int64_t B, int64_t D, double dloss) {
  require_pairs(B);
  double scale = dloss / (double)(B * (B - 1) / 2);
  for (int64_t i = 0; i < B; i++) {
    double ni = clamped_norm(z + i * D, D);
    for (int64_t d = 0; d < D; d++) dz[i * D + d] = (float)(z[i * D + d] / ni);
  }
#pragma omp parallel for schedule(static) if (B * D > PAR_MIN)
  for (int64_t d = 0; d < D; d++) {
    double sum = 0.0;
    for (int64_t j = 0; j < B; j++) sum += dz[j * D + d];
    for (int64_t j = 0; j < B; j++) dz[j * D + d] = (float)(scale * (sum - dz[j * D + d]));
  }
#pragma omp parallel for schedule(static) if (B * D > PAR_MIN)
  for (int64_t i = 0; i < B; i++) {
    const float *zi = z + i * D;
    float *gi = dz + i * D;
    double s2 = 0.0;
    for (int64_t d = 0; d < D; d++) s2 += (double)zi[d] * zi[d];
    double n = sqrt(s2);
    if (n <= 1e-8) {
      for (int64_t d = 0; d < D; d++) gi[d] = (float)(gi[d] / 1e-8);
      continue;
    }
    double ug = 0.0;
    for (int64_t d = 0; d < D; d++) ug += zi[d] / n * gi[d];
    for (int64_t d = 0; d < D; d++) gi[d] = (float)((gi[d] - zi[d] / n * ug) / n);
  }
}
