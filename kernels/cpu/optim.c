/* AdamW (Loshchilov & Hutter, 2019) as torch.optim.AdamW, with the
 * reference's schedules and safe_gd_step. */
#include "../optim.h"
#include "kernels_cpu.h"

#include <math.h>
#include <string.h>

enum { CHUNKS = 64, PAR_MIN = 32768 };

int lr_schedule_from_name(const char *name) {
  static const char *const names[] = {"none", "linear", "cosine", "exponential"};
  for (int i = 0; i < 4; i++)
    if (strcmp(name, names[i]) == 0) return i;
  return -1;
}

double lr_factor(lr_schedule_kind kind, int64_t t, int64_t epochs, int64_t warmup) {
  double f = 1.0, x = (double)t / (double)(epochs > 0 ? epochs : 1);
  switch (kind) {
    case LR_NONE:
      f = 1.0;
      break;
    case LR_LINEAR:
      f = fmax(0.0, 1.0 - x);
      break;
    case LR_COSINE:
      f = (1.0 + cos(M_PI * x)) / 2.0;
      break;
    case LR_EXPONENTIAL:
      f = exp(log(1e-3) * x);
      break;
  }
  if (warmup >= 0) f *= fmin(1.0, (double)(t + 1) / (double)(warmup + 1));
  return f;
}

static double sum_squares(const float *g, int64_t n) {
  double part[CHUNKS];
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int k = 0; k < CHUNKS; k++) {
    double s = 0.0;
    for (int64_t i = n * k / CHUNKS; i < n * (k + 1) / CHUNKS; i++) s += (double)g[i] * g[i];
    part[k] = s;
  }
  double total = 0.0;
  for (int k = 0; k < CHUNKS; k++) total += part[k];
  return total;
}

double kcpu_global_norm(const float *g, int64_t n) { return sqrt(sum_squares(g, n)); }

/* torch's single-tensor AdamW: p *= 1 - lr·wd; m = β1 m + (1-β1) g;
 * v = β2 v + (1-β2) g²; p -= lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + eps),
 * with g = gscale·grad (gscale 1: the gradient as it is). */
static void adamw_span(float *p, const float *g, float *m, float *v, int64_t n, double lr, double beta1,
                       double beta2, double eps, double weight_decay, double step, float gscale) {
  float decay = (float)(1.0 - lr * weight_decay);
  float b1 = (float)beta1, b2 = (float)beta2;
  float step_size = (float)(lr / (1.0 - pow(beta1, step)));
  float bc2_sqrt = (float)sqrt(1.0 - pow(beta2, step));
  float e = (float)eps;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t i = 0; i < n; i++) {
    float gi = g[i] * gscale;
    float mi = b1 * m[i] + (1.0f - b1) * gi;
    float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * decay - step_size * mi / (sqrtf(vi) / bc2_sqrt + e);
  }
}

void kcpu_adamw_update(float *p, const float *g, float *m, float *v, int64_t n, double lr, double beta1,
                       double beta2, double eps, double weight_decay, int64_t step) {
  adamw_span(p, g, m, v, n, lr, beta1, beta2, eps, weight_decay, (double)step, 1.0f);
}

void kcpu_step_guard(const float *g, int64_t n, k_step_state *s) {
  kcpu_step_guard_sum(g, n, s);
  kcpu_step_guard_finish(s);
}

void kcpu_step_guard_sum(const float *g, int64_t n, k_step_state *s) { s->norm = sum_squares(g, n); }

void kcpu_step_guard_finish(k_step_state *s) {
  s->norm = sqrt(s->norm);
  if (isfinite(s->norm)) {
    s->norm_sum += s->norm;
    s->steps += 1;
  } else {
    s->skipped += 1;
  }
}

void kcpu_adamw_guarded(float *p, const float *g, float *m, float *v, int64_t n, const k_step_state *s,
                        double lr, double beta1, double beta2, double eps, double weight_decay,
                        double grad_clip) {
  if (!isfinite(s->norm)) return;
  float gscale = 1.0f;
  if (grad_clip > 0) {
    double coef = grad_clip / (s->norm + 1e-6); /* torch's clip_grad_norm_ */
    if (coef < 1.0) gscale = (float)coef;
  }
  adamw_span(p, g, m, v, n, lr, beta1, beta2, eps, weight_decay, s->steps, gscale);
}
