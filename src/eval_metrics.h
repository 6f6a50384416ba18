/* The scores of one field at one lead time, as the reference's experiments/eval.py:
 * u is the target field (the truth, or the autoencoder's reconstruction for the
 * "relative" rows) and v the ensemble's members.
 *
 *   m1, m2        mean(u), mean(u²)
 *   spread        sqrt((n+1)/(n-1) · mean((v - v̄)²)) (Fortin et al. 2014); NaN for n = 1
 *   rmse, nrmse   sqrt(mse), sqrt(mse / (mean(u²) + 1e-6)), mse = mean((u - v̄)²)
 *   vrmse         sqrt(mse / (var(u) + 1e-6)), var unbiased
 *   invariant     1 - Σ v̄ / Σ u
 *   spectral[8]   for four log-spaced frequency bands (from the lowest frequency
 *                 to 1/2 cycle per pixel, the last band everything above 1/2):
 *                 RMSE of 1 - (P_v + 1e-6)/(P_u + 1e-6) and of
 *                 1 - (C_uv + 1e-6)/sqrt(P_u P_v + 1e-12), power P averaged over
 *                 members, C the members' mean cross-correlation; band order
 *                 (power, cross) per band. */
#ifndef LOLA_EVAL_METRICS_H
#define LOLA_EVAL_METRICS_H

#include <stdint.h>

#include "spectrum.h"

enum { EVAL_SPECTRAL = 8 };

typedef struct {
  double m1, m2, spread, rmse, nrmse, vrmse, invariant;
  double spectral[EVAL_SPECTRAL];
} field_scores;

/* u (points), v (members × points); the plan fixes the spatial shape. `work`
 * holds 3·points + 4·bins doubles (eval_scores_workspace). */
int64_t eval_scores_workspace(const spectrum_plan *p, int64_t points);
void eval_field_scores(spectrum_plan *plan, const float *u, const float *v, int members, int64_t points,
                       double *work, field_scores *out);

#endif
