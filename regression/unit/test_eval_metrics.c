/* Evaluation scores against hand-computed values, and isotropic spectra of
 * pure sine waves. */
#include <math.h>
#include <stdlib.h>

#include "../../src/eval_metrics.h"
#include "../../src/spectrum.h"
#include "harness.h"

TEST(spectrum_of_a_sine_wave_sits_in_its_shell) {
  /* u = sin(2π·4j/32) on 32×32: two Fourier peaks at |k| = 4/32 with |X|²/N = 256
   * each. 22 shells of width sqrt(1/2)/22; |k| = 0.125 falls in shell 4, which
   * holds the 20 frequencies with 9.52 < 32²|k|² <= 16.93 (r² = 10, 13, 16). */
  int64_t shape[2] = {32, 32};
  spectrum_plan *p = spectrum_plan_create(2, shape);
  CHECK(spectrum_bins(p) == 22);
  float u[32 * 32];
  for (int i = 0; i < 32; i++)
    for (int j = 0; j < 32; j++) u[i * 32 + j] = (float)sin(2 * M_PI * 4 * j / 32.0);
  double power[22], cross[22];
  spectrum_power(p, u, power);
  CHECK_REL(power[3], 512.0 / 20.0, 1e-5);
  for (int b = 0; b < 22; b++)
    if (b != 3) CHECK(fabs(power[b]) < 1e-6);
  CHECK_REL(spectrum_frequencies(p)[3], 4 * sqrt(0.5) / 22, 1e-12);
  spectrum_cross(p, u, u, cross);
  for (int b = 0; b < 22; b++) CHECK_NEAR(cross[b], power[b], 1e-6);
  /* A sine along the other axis at 8 cycles lands in the shell of |k| = 0.25. */
  for (int i = 0; i < 32; i++)
    for (int j = 0; j < 32; j++) u[i * 32 + j] = (float)sin(2 * M_PI * 8 * i / 32.0);
  spectrum_power(p, u, power);
  int peak = 0;
  for (int b = 0; b < 22; b++)
    if (power[b] > power[peak]) peak = b;
  const double *k = spectrum_frequencies(p);
  CHECK(k[peak] >= 0.25 && (peak == 0 || k[peak - 1] < 0.25));
  spectrum_plan_free(p);
}

TEST(eval_scores_match_hand_computed_values) {
  int64_t shape[2] = {2, 2};
  spectrum_plan *p = spectrum_plan_create(2, shape);
  float u[4] = {1, 2, 3, 4}, v[8] = {1, 2, 3, 4, 3, 2, 3, 4};
  double *work = malloc(sizeof(double) * (size_t)eval_scores_workspace(p, 4));
  field_scores s;
  eval_field_scores(p, u, v, 2, 4, work, &s);
  CHECK_NEAR(s.m1, 2.5, 1e-12);
  CHECK_NEAR(s.m2, 7.5, 1e-12);
  CHECK_NEAR(s.rmse, 0.5, 1e-12);
  CHECK_NEAR(s.nrmse, sqrt(0.25 / (7.5 + 1e-6)), 1e-12);
  CHECK_NEAR(s.vrmse, sqrt(0.25 / (5.0 / 3.0 + 1e-6)), 1e-12);
  CHECK_NEAR(s.spread, sqrt(0.75), 1e-12);
  CHECK_NEAR(s.invariant, -0.1, 1e-12);
  /* A perfect single-member forecast: zero errors, spectra equal, spread undefined. */
  eval_field_scores(p, u, u, 1, 4, work, &s);
  CHECK(isnan(s.spread));
  CHECK(s.rmse == 0 && s.invariant == 0);
  for (int i = 0; i < EVAL_SPECTRAL; i++) CHECK(isnan(s.spectral[i]) || fabs(s.spectral[i]) < 1e-6);
  free(work);
  spectrum_plan_free(p);
}

TEST(eval_spectral_errors_see_a_missing_band) {
  /* Truth: two sines (4 and 12 cycles); forecast: only the low one. The power
   * error is ~1 in the band holding 12 cycles and ~0 in the band holding 4. */
  int64_t shape[2] = {64, 64}, n = 64 * 64;
  spectrum_plan *p = spectrum_plan_create(2, shape);
  float *u = malloc(sizeof(float) * (size_t)n), *v = malloc(sizeof(float) * (size_t)n);
  for (int i = 0; i < 64; i++)
    for (int j = 0; j < 64; j++) {
      v[i * 64 + j] = (float)sin(2 * M_PI * 4 * j / 64.0);
      u[i * 64 + j] = v[i * 64 + j] + (float)sin(2 * M_PI * 12 * j / 64.0);
    }
  double *work = malloc(sizeof(double) * (size_t)eval_scores_workspace(p, n));
  field_scores s;
  eval_field_scores(p, u, v, 1, n, work, &s);
  /* Bands from k_0 = 0.5·sqrt2/45 ≈ 0.0157 to 0.5: edges ≈ 0.0157, 0.0498, 0.158, 0.5.
   * 4/64 = 0.0625 is in band 1, 12/64 = 0.1875 in band 2. */
  double band1 = s.spectral[2], band2 = s.spectral[4];
  CHECK(band2 > 0.1);  /* the missing sine's shell counts as error 1 among its band's shells */
  CHECK(band1 < 1e-3); /* the sine the forecast has is right */
  free(u), free(v), free(work);
  spectrum_plan_free(p);
}
