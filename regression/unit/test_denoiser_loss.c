/* The denoiser loss (src/denoiser_loss.h): time priors' moments, the noising
 * and masking of x_t recomputed independently, independence of the batch
 * split (rank count), and the parameter gradients against finite
 * differences of the loss. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/denoiser_loss.h"
#include "gradcheck.h"
#include "harness.h"

TEST(denoiser_loss_time_priors) {
  const struct {
    time_prior p;
    double mean;
  } cases[] = {
      {{TIME_PRIOR_UNIFORM, 0.0, 1.0}, 0.5},
      {{TIME_PRIOR_UNIFORM, 0.2, 0.6}, 0.4},
      {{TIME_PRIOR_BETA, 1.0, 0.5}, 2.0 / 3.0},        /* a / (a + b) */
      {{TIME_PRIOR_KUMARASWAMY, 1.0, 0.5}, 2.0 / 3.0}, /* b·B(1 + 1/a, b) = 0.5·B(2, 0.5) */
  };
  rng_key key = {.seed = 42, .purpose = RNG_DIFFUSION_TIME};
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    double sum = 0, lo = 1, hi = 0;
    int n = 4000;
    for (int i = 0; i < n; i++) {
      rng_stream s = rng_stream_at(key, (uint64_t)i);
      double t = time_prior_sample(&cases[k].p, &s);
      sum += t;
      lo = fmin(lo, t), hi = fmax(hi, t);
    }
    CHECK_NEAR(sum / n, cases[k].mean, 0.02);
    CHECK(lo >= 0 && hi <= 1);
  }
  CHECK(time_prior_from_name("kumaraswamy") == TIME_PRIOR_KUMARASWAMY);
  CHECK(time_prior_from_name("triangle") == -1);
}

enum { B = 4, C = 2, S = 6, P = C * S };
static const int64_t shape[2] = {2, 3};

typedef struct {
  param_registry params, buffers;
  denoiser d;
  arena act;
} fixture;

static void fixture_init(fixture *f, bool masked) {
  denoiser_config cfg = {.channels = C,
                         .emb_features = 4,
                         .masked = masked,
                         .schedule = schedule_default(SCHEDULE_LOG_LOGIT),
                         .arch = {.hid_channels = 8,
                                  .hid_blocks = 1,
                                  .ffn_factor = 2,
                                  .attention_heads = 2,
                                  .spatial = 2,
                                  .patch = {1, 1},
                                  .qk_norm = true,
                                  .rope = true}};
  params_init(&f->params, 64);
  params_init(&f->buffers, 4);
  denoiser_declare(&f->d, &f->params, &f->buffers, &cfg);
  params_finalize(&f->params);
  params_finalize(&f->buffers);
  denoiser_init(&f->d, &f->params, &f->buffers, (rng_key){.seed = 1, .purpose = RNG_INIT});
  fill_uniform(f->params.values, (size_t)f->params.total, 77); /* O(1) weights, padding included (harmless) */
  arena_init(&f->act, denoiser_loss_activation_bytes(&f->d, B, shape), "test denoiser loss");
}

static void fixture_free(fixture *f) {
  arena_free(&f->act);
  denoiser_free(&f->d);
  params_free(&f->params);
  params_free(&f->buffers);
}

static const rng_key tkey = {.seed = 5, .purpose = RNG_DIFFUSION_TIME, .step = 3};
static const rng_key zkey = {.seed = 5, .purpose = RNG_NOISE, .step = 3};

TEST(denoiser_loss_value_and_batch_split) {
  fixture f;
  fixture_init(&f, true);
  float x[B * P], mask[B * P];
  fill_uniform(x, B * P, 1);
  for (int i = 0; i < B * P; i++) mask[i] = (i / P) % 2 == 0 && (i % S) < 3 ? 1.0f : 0.0f;
  nn_mode mode = nn_mode_eval();
  denoiser_loss L = {.prior = {TIME_PRIOR_BETA, 1.0, 0.5}};
  double loss = denoiser_loss_forward(&L, &f.d, &f.params, &f.buffers, &f.act, x, mask, NULL, B, shape, tkey,
                                      zkey, 10, &mode);
  /* recompute x_t from the generators and the schedule, and the loss from the denoiser's mean */
  float t[B], xt[B * P], mean[B * P], var[B];
  for (int b = 0; b < B; b++) {
    rng_stream s = rng_stream_at(tkey, 10 + (uint64_t)b);
    t[b] = (float)rng_next_beta(&s, 1.0, 0.5);
    CHECK(t[b] == L.host[b]); /* the times, on the host */
    double sigma = exp(log(t[b] * (1e3 / 1001.0 - 1e-3 / 1.001) + 1e-3 / 1.001) -
                       log(1 - (t[b] * (1e3 / 1001.0 - 1e-3 / 1.001) + 1e-3 / 1.001)));
    rng_normal(xt + b * P, P, zkey, 10 + (uint64_t)b, 0);
    for (int i = b * P; i < (b + 1) * P; i++)
      xt[i] = mask[i] != 0 ? (float)(sqrt(1 + sigma * sigma) * x[i]) : (float)(x[i] + sigma * xt[i]);
  }
  for (int i = 0; i < B * P; i++) CHECK_NEAR(L.x_t[i], xt[i], 1e-5 * (1 + fabs(xt[i])));
  arena_reset(&f.act);
  denoiser_forward(&f.d, &f.params, &f.buffers, &f.act, mean, var, xt, t, NULL, mask, B, shape, &mode);
  double want = 0;
  for (int i = 0; i < B * P; i++) want += (mean[i] - x[i]) * (double)(mean[i] - x[i]) / var[i / P];
  CHECK_REL(loss, want / (B * P), 1e-5);
  /* two half batches with their global sample indices give the same loss */
  arena_reset(&f.act);
  double l0 = denoiser_loss_forward(&L, &f.d, &f.params, &f.buffers, &f.act, x, mask, NULL, 2, shape, tkey,
                                    zkey, 10, &mode);
  arena_reset(&f.act);
  double l1 = denoiser_loss_forward(&L, &f.d, &f.params, &f.buffers, &f.act, x + 2 * P, mask + 2 * P, NULL, 2,
                                    shape, tkey, zkey, 12, &mode);
  CHECK_REL((l0 + l1) / 2, loss, 1e-5);
  denoiser_loss_free(&L);
  fixture_free(&f);
}

TEST(denoiser_loss_parameter_gradients) {
  fixture f;
  fixture_init(&f, false);
  float x[B * P];
  fill_uniform(x, B * P, 2);
  nn_mode mode = nn_mode_eval();
  denoiser_loss L = {.prior = {TIME_PRIOR_UNIFORM, 0.2, 0.6}};
  params_zero_grad(&f.params);
  denoiser_loss_forward(&L, &f.d, &f.params, &f.buffers, &f.act, x, NULL, NULL, B, shape, tkey, zkey, 0,
                        &mode);
  denoiser_loss_backward(&L, &f.d, &f.params, &f.act, 1.0);
  /* central differences of the float loss (summed in double) on a spread of parameters */
  int checked = 0;
  for (int i = 0; i < f.params.count; i += 3) {
    const param_entry *e = &f.params.entries[i];
    int64_t j = e->offset + e->numel / 2;
    float saved = f.params.values[j];
    double h = 1e-2, lp, lm;
    f.params.values[j] = saved + (float)h;
    arena_reset(&f.act);
    lp = denoiser_loss_forward(&L, &f.d, &f.params, &f.buffers, &f.act, x, NULL, NULL, B, shape, tkey, zkey,
                               0, &mode);
    f.params.values[j] = saved - (float)h;
    arena_reset(&f.act);
    lm = denoiser_loss_forward(&L, &f.d, &f.params, &f.buffers, &f.act, x, NULL, NULL, B, shape, tkey, zkey,
                               0, &mode);
    f.params.values[j] = saved;
    double fd = (lp - lm) / (2 * h);
    if (!CHECK_NEAR(f.params.grads[j], fd, 2e-3 + 2e-2 * fabs(fd))) fprintf(stderr, "  %s\n", e->name);
    checked++;
  }
  CHECK(checked >= 5);
  denoiser_loss_free(&L);
  fixture_free(&f);
}
