#include "diffusion_sampler.h"

#include <math.h>
#include <string.h>

#include "../kernels/rng.h"
#include "../kernels/sampler.h"
#include "../kernels/vector.h"
#include "error.h"

int sampler_from_name(const char *name) {
  static const char *const names[] = {"ddpm", "ddim", "euler", "heun", "ab", "eab", "pc"};
  for (int i = 0; i < 7; i++)
    if (strcmp(name, names[i]) == 0) return i;
  return -1;
}

sampler_config sampler_defaults(sampler_algorithm algorithm, int steps) {
  sampler_config c = {.algorithm = algorithm,
                      .steps = steps,
                      .start = 1.0,
                      .stop = 0.0,
                      .eta = 0.0,
                      .order = 3,
                      .corrections = 1,
                      .delta = 0.01};
  return c;
}

int64_t sampler_workspace_floats(const sampler_config *c, int count, int64_t per) {
  int64_t n = (int64_t)count * per;
  int history = c->algorithm == SAMPLER_AB || c->algorithm == SAMPLER_EAB ? c->order : 1;
  return n * (int64_t)(history + 3); /* mean, noise or z_s, a spare, and the z history */
}

static double timestep(const sampler_config *c, int i) {
  return c->start + (c->stop - c->start) * (double)i / (double)c->steps; /* torch.linspace */
}

/* Standard normals for every sample, keyed by (window, draw), into eps on the device. */
static void draw_noise(float *eps, int count, int64_t per, uint64_t seed, uint32_t window, uint32_t draw,
                       const uint64_t *ids) {
  rng_key key = {.seed = seed, .purpose = RNG_SAMPLER, .step = (window << 16) | (draw & 0xFFFFu)};
  for (int c = 0; c < count; c++) k_rng_normal(eps + (int64_t)c * per, per, key, ids[c], 0);
}

void sampler_init(const sampler_config *c, const gaussian_denoiser *d, float *x, int count, int64_t per,
                  uint64_t seed, uint32_t window, const uint64_t *ids) {
  double alpha, sigma;
  d->schedule(d->user, c->start, &alpha, &sigma);
  draw_noise(x, count, per, seed, window, 0xFFFFu, ids);
  float scale = (float)sqrt(alpha * alpha + sigma * sigma);
  k_scal(x, scale, (int64_t)count * per);
}

/* Solve the n×n system V c = b in place (Gaussian elimination, partial pivoting). */
static void solve(double *V, double *b, int n) {
  for (int col = 0; col < n; col++) {
    int p = col;
    for (int r = col + 1; r < n; r++)
      if (fabs(V[r * n + col]) > fabs(V[p * n + col])) p = r;
    for (int k = 0; k < n; k++) {
      double tmp = V[col * n + k];
      V[col * n + k] = V[p * n + k];
      V[p * n + k] = tmp;
    }
    double tb = b[col];
    b[col] = b[p];
    b[p] = tb;
    for (int r = col + 1; r < n; r++) {
      double f = V[r * n + col] / V[col * n + col];
      for (int k = col; k < n; k++) V[r * n + k] -= f * V[col * n + k];
      b[r] -= f * b[col];
    }
  }
  for (int r = n - 1; r >= 0; r--) {
    for (int k = r + 1; k < n; k++) b[r] -= V[r * n + k] * b[k];
    b[r] /= V[r * n + r];
  }
}

void adams_bashforth_coefficients(const double *t, int m, int n, bool exponential, double *coef) {
  if (n > m) n = m;
  double V[16 * 16];
  /* V[k][j] = t_{m-n+j}^k: the Lagrange basis through the n previous times. */
  for (int k = 0; k < n; k++)
    for (int j = 0; j < n; j++) V[k * n + j] = pow(t[m - n + j], k);
  for (int k = 0; k < n; k++) {
    if (!exponential) { /* ∫ u^k du from t_{m-1} to t_m */
      coef[k] = (pow(t[m], k + 1) - pow(t[m - 1], k + 1)) / (k + 1);
      continue;
    }
    /* ∫ e^u u^k du = (-1)^k k! e^u Σ_{j<=k} (-u)^j / j! */
    double fact = 1, sum_hi = 0, sum_lo = 0, term_fact = 1;
    for (int j = 0; j <= k; j++) {
      if (j > 0) term_fact *= j;
      sum_hi += pow(-t[m], j) / term_fact;
      sum_lo += pow(-t[m - 1], j) / term_fact;
    }
    for (int j = 2; j <= k; j++) fact *= j;
    coef[k] = (k % 2 ? -1.0 : 1.0) * fact * (exp(t[m]) * sum_hi - exp(t[m - 1]) * sum_lo);
  }
  solve(V, coef, n);
}

static void run_multistep(const sampler_config *c, const gaussian_denoiser *d, float *x, int count, int64_t n,
                          float *work) {
  bool exponential = c->algorithm == SAMPLER_EAB;
  float *mean = work, *history = work + n; /* ring of `order` z's */
  double rho[4096];
  if (c->steps + 1 > 4096) lola_die(LOLA_EXIT_DECK, "sampler: at most 4095 steps");
  for (int i = 0; i <= c->steps; i++) {
    double a, s;
    d->schedule(d->user, timestep(c, i), &a, &s);
    rho[i] = exponential ? log(s) - log(a) : s / a;
  }
  for (int i = 0; i < c->steps; i++) {
    double t = timestep(c, i), at, st, as, ss;
    d->schedule(d->user, t, &at, &st);
    d->schedule(d->user, timestep(c, i + 1), &as, &ss);
    d->mean(d->user, x, t, mean, count);
    k_sampler_velocity(history + (int64_t)(i % c->order) * n, x, mean, n, at, st);
    int m = i + 1, k = m < c->order ? m : c->order;
    double coef[16];
    adams_bashforth_coefficients(rho, m, k, exponential, coef);
    /* z of step m-k+j is in slot (m-k+j) % order; coefficients follow time order. */
    k_sampler_ab(x, history, coef, k, m - k, c->order, n, at, as);
  }
}

void sampler_run(const sampler_config *c, const gaussian_denoiser *d, float *x, int count, int64_t per,
                 float *work, uint64_t seed, uint32_t window, const uint64_t *ids) {
  int64_t n = (int64_t)count * per;
  if (c->algorithm == SAMPLER_AB || c->algorithm == SAMPLER_EAB) {
    if (c->order < 1 || c->order > 16) lola_die(LOLA_EXIT_DECK, "sampler: order must be in [1, 16]");
    run_multistep(c, d, x, count, n, work);
    return;
  }
  float *mean = work, *aux = work + n, *zt = work + 2 * n;
  uint32_t draw = 0;
  for (int i = 0; i < c->steps; i++) {
    double t = timestep(c, i), s = timestep(c, i + 1), at, st, as, ss;
    d->schedule(d->user, t, &at, &st);
    d->schedule(d->user, s, &as, &ss);
    double tau = 1 - pow(at / as * ss / st, 2);
    switch (c->algorithm) {
      case SAMPLER_DDPM:
      case SAMPLER_DDIM: {
        if (c->algorithm == SAMPLER_DDIM) tau = fmin(fmax(c->eta * tau, 0), 1);
        draw_noise(aux, count, per, seed, window, draw++, ids);
        d->mean(d->user, x, t, mean, count);
        k_sampler_ddim(x, mean, aux, n, at, st, as, ss, tau);
        break;
      }
      case SAMPLER_EULER:
      case SAMPLER_HEUN: {
        d->mean(d->user, x, t, mean, count);
        k_sampler_velocity(zt, x, mean, n, at, st);
        double h = as * (ss / as - st / at);
        k_sampler_euler(aux, x, zt, n, at, as, h);
        if (c->algorithm == SAMPLER_HEUN) {
          d->mean(d->user, aux, s, mean, count);
          k_sampler_heun(aux, x, zt, mean, n, at, as, ss, h);
        }
        k_copy(x, aux, n);
        break;
      }
      case SAMPLER_PC: {
        for (int k = 0; k < c->corrections; k++) {
          d->mean(d->user, x, t, mean, count);
          draw_noise(aux, count, per, seed, window, draw++, ids);
          double amp = sqrt(2 * c->delta) * st;
          k_sampler_pc_correct(x, mean, aux, n, at, c->delta, amp);
        }
        d->mean(d->user, x, t, mean, count);
        k_sampler_ddim(x, mean, NULL, n, at, st, as, ss, 0.0);
        break;
      }
      default:
        lola_die(LOLA_EXIT_DECK, "sampler: unknown algorithm %d", (int)c->algorithm);
    }
  }
}
