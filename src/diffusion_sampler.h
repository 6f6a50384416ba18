/* Reverse-diffusion samplers, as azula 0.3.1 (azula/sample.py): from t = start
 * to t = stop in `steps` equal time steps, over a Gaussian denoiser that gives
 * the posterior mean E[X | x_t] and a schedule (alpha_t, sigma_t).
 *
 *   ddpm, ddim (eta)   x_s = a_s m + s_s sqrt(1 - tau) (x_t - a_t m)/s_t + s_s sqrt(tau) eps,
 *                      tau = 1 - (a_t s_s / (a_s s_t))^2 (times eta, clipped, for ddim)
 *   euler, heun        explicit 1st / 2nd order steps of the probability-flow ODE
 *                      in rho = sigma/alpha, z = (x_t - a_t m)/s_t
 *   ab (order n)       Adams-Bashforth multistep in rho (Lagrange coefficients)
 *   eab (order n)      exponential Adams-Bashforth in log rho (DPM-Solver family)
 *   pc                 Langevin corrections (delta) then a DDIM(eta = 0) predictor
 *
 * Every random number is keyed by (seed, RNG_SAMPLER, window · 2^16 + draw,
 * sample id): a member's trajectory does not depend on how members are batched
 * or spread over ranks.
 *
 * Device discipline: x, work and the denoiser's x_t and mean are arrays of the
 * active kernel backend (kernels/backend.h; device memory on a GPU), touched
 * only through kernels (kernels/sampler.h, vector.h, rng.h); the schedule, the
 * coefficients and `ids` stay on the host. */
#ifndef LOLA_DIFFUSION_SAMPLER_H
#define LOLA_DIFFUSION_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
  /* mean[c·per + i] = E[X | x_t] for the `count` samples of x_t, at time t
   * (x_t and mean: device arrays). */
  void (*mean)(void *user, const float *x_t, double t, float *mean, int count);
  void (*schedule)(void *user, double t, double *alpha, double *sigma);
  void *user;
} gaussian_denoiser;

typedef enum {
  SAMPLER_DDPM,
  SAMPLER_DDIM,
  SAMPLER_EULER,
  SAMPLER_HEUN,
  SAMPLER_AB,
  SAMPLER_EAB,
  SAMPLER_PC
} sampler_algorithm;

typedef struct {
  sampler_algorithm algorithm;
  int steps;          /* T >= 1 */
  double start, stop; /* 1 and 0 in the reference */
  double eta;         /* ddim */
  int order;          /* ab, eab (azula's default 3) */
  int corrections;    /* pc (default 1) */
  double delta;       /* pc (default 0.01) */
} sampler_config;

/* "ddpm", "ddim", "euler", "heun", "ab", "eab", "pc"; -1 when unknown. */
int sampler_from_name(const char *name);
/* A config with the reference's defaults for `algorithm` and `steps`. */
sampler_config sampler_defaults(sampler_algorithm algorithm, int steps);

/* Floats of workspace sampler_run needs for count × per values. */
int64_t sampler_workspace_floats(const sampler_config *c, int count, int64_t per);

/* x_T ~ N(0, alpha_T² + sigma_T²) (azula's init with mean 0 and variance 1). */
void sampler_init(const sampler_config *c, const gaussian_denoiser *d, float *x, int count, int64_t per,
                  uint64_t seed, uint32_t window, const uint64_t *ids);

/* Run the reverse process in place on x (count × per). */
void sampler_run(const sampler_config *c, const gaussian_denoiser *d, float *x, int count, int64_t per,
                 float *work, uint64_t seed, uint32_t window, const uint64_t *ids);

/* The n coefficients of the (exponential when `exponential`) Adams-Bashforth
 * step from t[m-1] to t[m] using z at t[m-n .. m-1] (azula's adams_bashforth and
 * exponential_adams_bashforth). n <= m <= 16. */
void adams_bashforth_coefficients(const double *t, int m, int n, bool exponential, double *coef);

#endif
