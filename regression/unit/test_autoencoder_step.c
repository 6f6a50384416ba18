/* The autoencoder: latent saturations against their formulas and finite
 * differences, and the whole training pass (encode, saturate, noisy decode,
 * weighted loss) against a double-precision reference of the loss. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/autoencoder.h"
#include "dcae_ref.h"
#include "gradcheck.h"
#include "harness.h"

/* AutoEncoder.saturate in double. */
static void dref_saturate(double *y, const double *x, int64_t B, int64_t C, int64_t P, ae_saturation s) {
  for (int64_t b = 0; b < B; b++)
    for (int64_t p = 0; p < P; p++) {
      double ms = 0;
      for (int64_t c = 0; c < C; c++) ms += x[(b * C + c) * P + p] * x[(b * C + c) * P + p] / (double)C;
      for (int64_t c = 0; c < C; c++) {
        int64_t i = (b * C + c) * P + p;
        double v = x[i];
        switch (s) {
          case AE_SAT_NONE:
            y[i] = v;
            break;
          case AE_SAT_SOFTCLIP:
            y[i] = v / (1 + fabs(v) / 5);
            break;
          case AE_SAT_SOFTCLIP2:
            y[i] = v / sqrt(1 + (v / 5) * (v / 5));
            break;
          case AE_SAT_TANH:
            y[i] = 5 * tanh(v / 5);
            break;
          case AE_SAT_ARCSINH:
            y[i] = asinh(v);
            break;
          case AE_SAT_RMSNORM:
            y[i] = v / sqrt(ms + 1e-5);
            break;
        }
      }
    }
}

typedef struct {
  ae_saturation s;
  const float *dy;
  double *y;
} sat_ctx;

static double sat_objective(const double *x, void *vctx) {
  sat_ctx *c = vctx;
  dref_saturate(c->y, x, 2, 3, 4, c->s);
  double acc = 0;
  for (int i = 0; i < 24; i++) acc += c->dy[i] * c->y[i];
  return acc;
}

TEST(autoencoder_saturations_match_formulas_and_gradients) {
  const char *names[] = {"none", "softclip", "softclip2", "tanh", "arcsinh", "rmsnorm"};
  float x[24], dy[24], y[24], dx[24];
  double xd[24], yd[24], g[24];
  fill_uniform(x, 24, 9);
  fill_uniform(dy, 24, 10);
  for (int i = 0; i < 24; i++) x[i] *= 12.0f; /* reach the saturating range */
  for (int k = 0; k < 6; k++) {
    ae_saturation s = (ae_saturation)ae_saturation_from_name(names[k]);
    CHECK((int)s == k);
    ae_saturate_fwd(y, x, 2, 3, 4, s);
    ae_saturate_bwd(dx, dy, x, y, 2, 3, 4, s);
    for (int i = 0; i < 24; i++) xd[i] = x[i];
    dref_saturate(yd, xd, 2, 3, 4, s);
    sat_ctx ctx = {s, dy, (double[24]){0}};
    fd_gradient(sat_objective, xd, 24, &ctx, 1e-6, g);
    CHECK(max_scaled_error(y, yd, 24, 1e-6, 1e-5) <= 1.0);
    CHECK(max_scaled_error(dx, g, 24, 1e-6, 1e-4) <= 1.0);
  }
  CHECK(ae_saturation_from_name("clip") == -1);
  /* softclip2 bounds the latents by 5 */
  float big = 1e4f, out;
  ae_saturate_fwd(&out, &big, 1, 1, 1, AE_SAT_SOFTCLIP2);
  CHECK(out < 5.0f && out > 4.99f);
}

/* ---- the whole training pass ---- */

typedef struct {
  autoencoder *ae;
  const ae_loss_config *loss;
  dcae_pass *p;
  int64_t batch;
  dcae_grid grid;
  bool noisy;
} step_ctx;

static double dref_loss(const ae_loss_config *c, const double *x, const double *y, int64_t B, int64_t C,
                        int64_t S, const double *z, int64_t D) {
  double total = 0;
  for (int t = 0; t < c->count; t++) {
    double l = 0;
    if (c->kind[t] == AE_LOSS_MSE || c->kind[t] == AE_LOSS_MAE) {
      for (int64_t i = 0; i < B * C * S; i++)
        l += c->kind[t] == AE_LOSS_MSE ? (x[i] - y[i]) * (x[i] - y[i]) : fabs(x[i] - y[i]);
      l /= (double)(B * C * S);
    } else if (c->kind[t] == AE_LOSS_VRMSE) {
      for (int64_t r = 0; r < B * C; r++) {
        double mean = 0, var = 0, se = 0;
        for (int64_t s = 0; s < S; s++) mean += x[r * S + s] / (double)S;
        for (int64_t s = 0; s < S; s++) {
          var += (x[r * S + s] - mean) * (x[r * S + s] - mean) / (double)(S - 1);
          se += (x[r * S + s] - y[r * S + s]) * (x[r * S + s] - y[r * S + s]) / (double)S;
        }
        l += sqrt(se / (var + 1e-2)) / (double)(B * C);
      }
    } else {
      int pairs = 0;
      for (int64_t i = 0; i < B; i++)
        for (int64_t j = i + 1; j < B; j++, pairs++) {
          double dot = 0, ni = 0, nj = 0;
          for (int64_t k = 0; k < D; k++) {
            dot += z[i * D + k] * z[j * D + k];
            ni += z[i * D + k] * z[i * D + k];
            nj += z[j * D + k] * z[j * D + k];
          }
          l += dot / sqrt(ni * nj);
        }
      l /= pairs;
    }
    total += c->weight[t] * l;
  }
  return total;
}

/* y[0] = the loss of the double reference at parameters pv. */
static void step_ref(double *out, const double *x, const double *pv, void *vctx) {
  step_ctx *c = vctx;
  autoencoder *ae = c->ae;
  dcae_grid lat, pix;
  int64_t B = c->batch, C = ae->cfg.encoder.in_channels, S = dcae_grid_volume(&c->grid);
  double *zr = malloc(sizeof(double) * 4096), *z = malloc(sizeof(double) * 4096),
         *y = malloc(sizeof(double) * 4096);
  int64_t L = dref_dcae(zr, x, &ae->encoder, &ae->params, pv, c->p, B, &c->grid, &lat);
  int64_t D = L * dcae_grid_volume(&lat);
  dref_saturate(z, zr, B, L, dcae_grid_volume(&lat), ae->cfg.saturation);
  memcpy(zr, z, sizeof(double) * (size_t)(B * D));
  if (c->noisy) { /* the documented draws: (seed, RNG_NOISE, step, first_sample + b) */
    float *eps = malloc(sizeof(float) * (size_t)D);
    for (int64_t b = 0; b < B; b++) {
      rng_normal(eps, D, (rng_key){c->p->seed, RNG_NOISE, c->p->step}, c->p->first_sample + (uint64_t)b, 0);
      for (int64_t k = 0; k < D; k++) zr[b * D + k] += ae->cfg.latent_noise * eps[k];
    }
    free(eps);
  }
  dref_dcae(y, zr, &ae->decoder, &ae->params, pv, c->p, B, &lat, &pix);
  out[0] = dref_loss(c->loss, x, y, B, C, S, z, D);
  free(zr);
  free(z);
  free(y);
}

static void check_step(const ae_loss_config *loss, ae_saturation sat, bool noisy, bool train) {
  dcae_config shared = dcae_config_default(2, 0, 0);
  shared.levels = 2;
  shared.hid_channels[0] = 4;
  shared.hid_channels[1] = 6;
  shared.hid_blocks[0] = shared.hid_blocks[1] = 1;
  shared.dropout = 0.2f;
  autoencoder_config cfg = autoencoder_config_symmetric(&shared, 2, 3, sat, 0.1);
  autoencoder ae;
  autoencoder_create(&ae, &cfg);
  dref_fill_params(&ae.params, 0.4, 21);
  int64_t B = 3;
  dcae_grid grid = {2, {4, 6, 1}};
  int64_t n = B * 2 * 24;
  arena act, scratch;
  arena_init(&act, autoencoder_activation_bytes(&ae, B, &grid, train), "act");
  arena_init(&scratch, autoencoder_scratch_bytes(&ae, B, &grid), "scratch");
  dcae_pass p = {.act = &act, .scratch = &scratch, .train = train, .seed = 17, .step = 2, .first_sample = 4};
  float *x = malloc(sizeof(float) * (size_t)n);
  fill_uniform(x, (size_t)n, 8);
  double values[AE_LOSS_MAX_TERMS];
  double dloss = 0.5; /* e.g. 1/accumulation: the gradients scale, the returned loss does not */
  double l = autoencoder_loss_step(&ae, loss, &p, x, B, &grid, noisy, dloss, values);
  CHECK(act.used <= act.capacity && scratch.used == 0 && scratch.high_water <= scratch.capacity);
  double recombined = 0;
  for (int t = 0; t < loss->count; t++) recombined += loss->weight[t] * values[t];
  CHECK_NEAR(l, recombined, 1e-12);
  for (int64_t i = 0; i < ae.params.total; i++) ae.params.grads[i] /= (float)dloss;

  step_ctx ctx = {&ae, loss, &p, B, grid, noisy};
  float lf = (float)l, one = 1.0f;
  dref_report rep = dref_gradcheck(step_ref, &ctx, x, n, &lf, 1, &one, NULL, &ae.params, 3);
  CHECK(rep.y_err <= 1.0);
  CHECK(rep.param_err <= 1.0);
  if (getenv("DCAE_VERBOSE") || rep.y_err > 1 || rep.param_err > 1)
    fprintf(stderr, "  errors: loss %.3g, dparams %.3g\n", rep.y_err, rep.param_err);
  free(x);
  arena_free(&act);
  arena_free(&scratch);
  autoencoder_free(&ae);
}

TEST(autoencoder_step_mse_vrmse_similarity_noisy_gradcheck) {
  ae_loss_config loss = {3, {AE_LOSS_MSE, AE_LOSS_VRMSE, AE_LOSS_SIMILARITY}, {1.0, 0.5, 0.1}};
  check_step(&loss, AE_SAT_SOFTCLIP2, true, true);
}

TEST(autoencoder_step_mae_rmsnorm_eval_gradcheck) {
  ae_loss_config loss = {1, {AE_LOSS_MAE}, {2.0}};
  check_step(&loss, AE_SAT_RMSNORM, false, false);
}

TEST(autoencoder_loss_names) {
  CHECK(ae_loss_kind_from_name("mse") == AE_LOSS_MSE && ae_loss_kind_from_name("mae") == AE_LOSS_MAE);
  CHECK(ae_loss_kind_from_name("vrmse") == AE_LOSS_VRMSE);
  CHECK(ae_loss_kind_from_name("similarity") == AE_LOSS_SIMILARITY && ae_loss_kind_from_name("l2") == -1);
}

/* A training pass allocates nothing after the arenas are sized, and gives the
 * same loss and gradients, bit for bit, on 1 and 2 threads and when repeated. */
TEST(autoencoder_step_repeatable_across_threads_without_allocation) {
  dcae_config shared = dcae_config_default(2, 0, 0);
  shared.levels = 2;
  shared.hid_channels[0] = 8;
  shared.hid_channels[1] = 16;
  shared.hid_blocks[0] = shared.hid_blocks[1] = 1;
  shared.dropout = 0.1f;
  autoencoder_config cfg = autoencoder_config_symmetric(&shared, 3, 4, AE_SAT_SOFTCLIP2, 0.05);
  autoencoder ae;
  autoencoder_create(&ae, &cfg);
  autoencoder_init(&ae, 3);
  int64_t B = 4;
  dcae_grid grid = {2, {32, 32, 1}};
  int threads_before = omp_get_max_threads();
  omp_set_num_threads(2);
  arena act, scratch;
  arena_init(&act, autoencoder_activation_bytes(&ae, B, &grid, true), "act");
  arena_init(&scratch, autoencoder_scratch_bytes(&ae, B, &grid), "scratch");
  int64_t n = B * 3 * 32 * 32;
  float *x = malloc(sizeof(float) * (size_t)n), *first = malloc(sizeof(float) * (size_t)ae.params.total);
  fill_uniform(x, (size_t)n, 5);
  ae_loss_config loss = {2, {AE_LOSS_MSE, AE_LOSS_SIMILARITY}, {1.0, 0.1}};
  double losses[3];
  uint64_t heap = 0;
  for (int run = 0; run < 3; run++) {
    omp_set_num_threads(run == 1 ? 1 : 2);
    params_zero_grad(&ae.params);
    arena_reset(&act);
    dcae_pass p = {.act = &act, .scratch = &scratch, .train = true, .seed = 9, .step = 4, .first_sample = 12};
    losses[run] = autoencoder_loss_step(&ae, &loss, &p, x, B, &grid, true, 1.0, NULL);
    if (run == 0) {
      memcpy(first, ae.params.grads, sizeof(float) * (size_t)ae.params.total);
      heap = arena_heap_allocations();
    } else {
      CHECK(memcmp(first, ae.params.grads, sizeof(float) * (size_t)ae.params.total) == 0);
      CHECK(losses[run] == losses[0]);
    }
  }
  CHECK(arena_heap_allocations() == heap);
  omp_set_num_threads(threads_before);
  free(x);
  free(first);
  arena_free(&act);
  arena_free(&scratch);
  autoencoder_free(&ae);
}
