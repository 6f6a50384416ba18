/* The element-wise updates of the reverse-diffusion samplers
 * (src/diffusion_sampler.c) and the window layouts of the evaluation
 * emulators (src/eval_emulators.c), so that a rollout keeps its arrays on the
 * device.
 *
 * The updates compute in double from float storage, each with the exact
 * expression (operands and order) written below, then round once to float;
 * the CUDA twins evaluate the same expressions without contraction, so the
 * backends agree. Schedule values (alpha, sigma), step sizes and coefficients
 * are host scalars; `coef` is a HOST array of k doubles. n counts the floats
 * of every array (count × per). In-place where said. */
#ifndef LOLA_K_SAMPLER_H
#define LOLA_K_SAMPLER_H

#include <stdint.h>

enum { K_SAMPLER_MAX_ORDER = 16 };

/* DDPM / DDIM step, in place on x; eps may be NULL (no noise term):
 *   keep = ss·sqrt(1 − tau)/st, noise = ss·sqrt(tau),
 *   x[i] = (float)(as·mean[i] + keep·(x[i] − at·mean[i]) + (eps ? noise·eps[i] : 0.0)). */
void k_sampler_ddim(float *x, const float *mean, const float *eps, int64_t n, double at, double st, double as,
                    double ss, double tau);
/* z[i] = (float)((x[i] − a·mean[i]) / s); z may not alias x or mean. */
void k_sampler_velocity(float *z, const float *x, const float *mean, int64_t n, double a, double s);
/* Euler predictor: y[i] = (float)((as / at)·x[i] + h·z[i]); no aliasing. */
void k_sampler_euler(float *y, const float *x, const float *z, int64_t n, double at, double as, double h);
/* Heun corrector, in place on y (which holds the Euler prediction):
 *   zs = (y[i] − as·mean[i]) / ss   (in double, not rounded),
 *   y[i] = (float)((as / at)·x[i] + h·(zt[i] + zs) / 2). */
void k_sampler_heun(float *y, const float *x, const float *zt, const float *mean, int64_t n, double at,
                    double as, double ss, double h);
/* Langevin correction of pc, in place on x:
 *   x[i] = (float)(x[i] + delta·(at·mean[i] − x[i]) + amp·eps[i]). */
void k_sampler_pc_correct(float *x, const float *mean, const float *eps, int64_t n, double at, double delta,
                          double amp);
/* Adams-Bashforth update over a ring of `order` z's (history is order × n),
 * in place on x, with k <= order <= K_SAMPLER_MAX_ORDER coefficients:
 *   integral = Σ_{j = 0..k−1, in order} coef[j]·history[((first + j) % order)·n + i],
 *   x[i] = (float)((as / at)·x[i] + as·integral). */
void k_sampler_ab(float *x, const float *history, const double *coef, int k, int first, int order, int64_t n,
                  double at, double as);

/* The emulators' windows (B, C, L, P), channel-first with time as the first
 * token axis, against the rollout's state-major (B, L, C·P):
 * y[b, c, l, p] = obs[b, l, c, p] and mask = 1 for l < observed, both 0 after
 * (obs is (B, observed, C, P); NULL when observed = 0). */
void k_window_place(float *y, float *mask, const float *obs, int64_t batch, int64_t C, int64_t L, int64_t P,
                    int64_t observed);
/* out[b, l, c, p] = x[b, c, l, p]; no aliasing. */
void k_window_to_state_major(float *out, const float *x, int64_t batch, int64_t C, int64_t L, int64_t P);

#endif
