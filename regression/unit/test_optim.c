/* AdamW, schedules and the guarded step, against an independent double
 * implementation of torch.optim.AdamW + clip_grad_norm_ and hand values. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/kernels.h"
#include "gradcheck.h"
#include "harness.h"

TEST(lr_schedules_follow_get_optimizer) {
  CHECK_NEAR(lr_factor(LR_NONE, 7, 10, -1), 1.0, 0);
  CHECK_NEAR(lr_factor(LR_LINEAR, 3, 10, -1), 0.7, 1e-15);
  CHECK_NEAR(lr_factor(LR_LINEAR, 12, 10, -1), 0.0, 0); /* max(0, .) past the end */
  CHECK_NEAR(lr_factor(LR_COSINE, 5, 10, -1), 0.5, 1e-15);
  CHECK_NEAR(lr_factor(LR_COSINE, 10, 10, -1), 0.0, 1e-15);
  CHECK_NEAR(lr_factor(LR_EXPONENTIAL, 10, 10, -1), 1e-3, 1e-15);
  CHECK_NEAR(lr_factor(LR_EXPONENTIAL, 5, 10, -1), sqrt(1e-3), 1e-15);
  /* Warm-up: min(1, (t+1)/(warmup+1)) times the schedule. */
  CHECK_NEAR(lr_factor(LR_NONE, 0, 10, 4), 0.2, 1e-15);
  CHECK_NEAR(lr_factor(LR_COSINE, 2, 10, 4), 0.6 * (1 + cos(M_PI * 0.2)) / 2, 1e-15);
  CHECK_NEAR(lr_factor(LR_LINEAR, 4, 10, 4), 0.6, 1e-15);
  CHECK_NEAR(lr_factor(LR_NONE, 0, 10, 0), 1.0, 0);
  CHECK(lr_schedule_from_name("cosine") == LR_COSINE);
  CHECK(lr_schedule_from_name("step") == -1);
}

TEST(global_norm_is_exact_and_thread_independent) {
  float g[2] = {3, 4};
  CHECK_NEAR(k_global_norm(g, 2), 5.0, 0);
  enum { N = 300001 };
  float *x = malloc(N * sizeof *x);
  fill_uniform(x, N, 4);
  int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  double one = k_global_norm(x, N);
  omp_set_num_threads(2);
  double two = k_global_norm(x, N);
  omp_set_num_threads(threads);
  CHECK(one == two);
  double want = 0.0;
  for (int i = 0; i < N; i++) want += (double)x[i] * x[i];
  CHECK_REL(one, sqrt(want), 1e-12);
  free(x);
}

TEST(adamw_first_step_is_a_signed_step) {
  /* After one step m̂ = g and v̂ = g², so p ← p(1 - lr·wd) - lr·g/(|g| + eps). */
  float p[3] = {1.0f, -2.0f, 0.5f}, g[3] = {0.3f, -4.0f, 1e-3f}, m[3] = {0}, v[3] = {0};
  k_adamw_update(p, g, m, v, 3, 0.1, 0.9, 0.99, 1e-8, 0.01, 1);
  CHECK_NEAR(p[0], 1.0 * (1 - 1e-3) - 0.1, 1e-6);
  CHECK_NEAR(p[1], -2.0 * (1 - 1e-3) + 0.1, 1e-6);
  CHECK_NEAR(p[2], 0.5 * (1 - 1e-3) - 0.1 * 1e-3 / (1e-3 + 1e-8), 1e-6);
  CHECK_NEAR(m[1], 0.1 * -4.0, 1e-6);
  CHECK_NEAR(v[1], 0.01 * 16.0, 1e-6);
}

/* torch.optim.AdamW after clip_grad_norm_, in double. */
static void reference_step(double *p, double *g, double *m, double *v, int n, const adamw_config *c,
                           double lr, int step) {
  double norm = 0.0;
  for (int i = 0; i < n; i++) norm += g[i] * g[i];
  norm = sqrt(norm);
  double coef = c->grad_clip > 0 ? fmin(1.0, c->grad_clip / (norm + 1e-6)) : 1.0;
  for (int i = 0; i < n; i++) {
    double gi = g[i] * coef;
    p[i] *= 1.0 - lr * c->weight_decay;
    m[i] = c->beta1 * m[i] + (1 - c->beta1) * gi;
    v[i] = c->beta2 * v[i] + (1 - c->beta2) * gi * gi;
    double mhat = m[i] / (1 - pow(c->beta1, step)), vhat = v[i] / (1 - pow(c->beta2, step));
    p[i] -= lr * mhat / (sqrt(vhat) + c->eps);
  }
}

TEST(adamw_safe_step_matches_torch_over_several_steps) {
  enum { N = 41, STEPS = 6 };
  adamw_config cfg = {
      .lr = 3e-3, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8, .weight_decay = 0.05, .grad_clip = 1.0};
  adamw_state st = {0};
  float p[N], g[N], m[N] = {0}, v[N] = {0};
  double pd[N], gd[N], md[N] = {0}, vd[N] = {0};
  fill_uniform(p, N, 1);
  for (int i = 0; i < N; i++) pd[i] = p[i];
  for (int s = 1; s <= STEPS; s++) {
    fill_uniform(g, N, 100 + (unsigned)s);
    double scale = s % 2 ? 0.05 : 3.0; /* alternate steps below and above the clipping bound */
    for (int i = 0; i < N; i++) g[i] = (float)(g[i] * scale), gd[i] = g[i];
    double factor = lr_factor(LR_COSINE, s - 1, STEPS, 2);
    double norm = k_adamw_safe_step(&cfg, &st, factor, p, g, m, v, N);
    double want_norm = 0.0;
    for (int i = 0; i < N; i++) want_norm += gd[i] * gd[i];
    CHECK_REL(norm, sqrt(want_norm), 1e-6); /* the unclipped norm */
    reference_step(pd, gd, md, vd, N, &cfg, cfg.lr * factor, s);
    bool zeroed = true;
    for (int i = 0; i < N; i++) zeroed &= g[i] == 0.0f;
    CHECK(zeroed);
  }
  CHECK(st.steps == STEPS && st.skipped == 0);
  double worst = 0.0;
  for (int i = 0; i < N; i++) worst = fmax(worst, fabs(p[i] - pd[i]));
  CHECK(worst < 1e-6);
}

TEST(adamw_skips_non_finite_gradients) {
  adamw_config cfg = {
      .lr = 1e-2, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8, .weight_decay = 0.1, .grad_clip = 0};
  adamw_state st = {.steps = 3, .skipped = 0};
  float p[4] = {1, 2, 3, 4}, m[4] = {1, 1, 1, 1}, v[4] = {2, 2, 2, 2};
  const float bad[2] = {NAN, INFINITY};
  for (int k = 0; k < 2; k++) {
    float g[4] = {0.1f, bad[k], 0.2f, 0.3f};
    double norm = k_adamw_safe_step(&cfg, &st, 1.0, p, g, m, v, 4);
    CHECK(!isfinite(norm));
    CHECK(p[0] == 1 && p[3] == 4 && m[1] == 1 && v[2] == 2); /* untouched */
    CHECK(g[1] == 0.0f && g[0] == 0.0f);                     /* zero_grad all the same */
  }
  CHECK(st.steps == 3 && st.skipped == 2);
  float g[4] = {0.1f, 0.1f, 0.1f, 0.1f};
  k_adamw_safe_step(&cfg, &st, 1.0, p, g, m, v, 4);
  CHECK(st.steps == 4 && p[0] != 1.0f);
}

/* The device-side guard and update, as the training loop calls them (state
 * kept across steps, the update split over two spans), equal the host-driven
 * sequence bit for bit: norm, clip by g *= coef, k_adamw_update at the
 * counted step; a non-finite step changes nothing but the skip count. */
TEST(adamw_guarded_equals_the_host_driven_step) {
  enum { N = 1000, SPLIT = 371, STEPS = 6 };
  const double lr = 3e-3, b1 = 0.9, b2 = 0.99, eps = 1e-8, wd = 0.05, clip = 0.5;
  float *p = malloc(sizeof(float) * N), *m = calloc(N, sizeof(float)), *v = calloc(N, sizeof(float));
  float *q = malloc(sizeof(float) * N), *mq = calloc(N, sizeof(float)), *vq = calloc(N, sizeof(float));
  float *g = malloc(sizeof(float) * N), *h = malloc(sizeof(float) * N);
  fill_uniform(p, N, 11);
  memcpy(q, p, sizeof(float) * N);
  k_step_state s = {0};
  int64_t steps = 0, skipped = 0;
  double norm_sum = 0;
  bool same = true;
  for (int t = 0; t < STEPS; t++) {
    fill_uniform(g, N, 100 + (unsigned)t);
    for (int i = 0; i < N; i++) g[i] *= 0.1f * (float)(t + 1);
    if (t == 2) g[5] = NAN;
    memcpy(h, g, sizeof(float) * N);
    /* the host-driven reference */
    double norm = k_global_norm(h, N);
    if (isfinite(norm)) {
      double coef = clip / (norm + 1e-6);
      if (coef < 1.0) k_scal(h, (float)coef, N);
      k_adamw_update(q, h, mq, vq, N, lr, b1, b2, eps, wd, ++steps);
      norm_sum += norm;
    } else {
      skipped++;
    }
    /* the guarded kernels */
    k_step_guard(g, N, &s);
    k_adamw_guarded(p, g, m, v, SPLIT, &s, lr, b1, b2, eps, wd, clip);
    k_adamw_guarded(p + SPLIT, g + SPLIT, m + SPLIT, v + SPLIT, N - SPLIT, &s, lr, b1, b2, eps, wd, clip);
    same &= memcmp(p, q, sizeof(float) * N) == 0 && memcmp(m, mq, sizeof(float) * N) == 0 &&
            memcmp(v, vq, sizeof(float) * N) == 0;
    CHECK(isfinite(norm) ? s.norm == norm : !isfinite(s.norm));
  }
  CHECK(same);
  CHECK(s.steps == (double)steps && s.skipped == (double)skipped && steps == STEPS - 1);
  CHECK(s.norm_sum == norm_sum);
  free(p), free(m), free(v), free(q), free(mq), free(vq), free(g), free(h);
}
