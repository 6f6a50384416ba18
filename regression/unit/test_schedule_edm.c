/* EDM schedules and preconditioning (src/schedule.h) against values worked
 * out by hand from lola/diffusion.py. */
#include <math.h>

#include "../../src/schedule.h"
#include "harness.h"

TEST(schedule_log_linear_endpoints_and_midpoint) {
  noise_schedule s = schedule_default(SCHEDULE_LOG_LINEAR);
  double a, sigma;
  schedule_eval(&s, 0.0, &a, &sigma);
  CHECK(a == 1.0);
  CHECK_REL(sigma, 1e-3, 1e-12);
  schedule_eval(&s, 1.0, &a, &sigma);
  CHECK_REL(sigma, 1e3, 1e-12);
  schedule_eval(&s, 0.5, &a, &sigma); /* geometric mean of 1e-3 and 1e3 */
  CHECK_REL(sigma, 1.0, 1e-12);
  schedule_eval(&s, 0.25, &a, &sigma);
  CHECK_REL(sigma, pow(10, -1.5), 1e-12);
}

TEST(schedule_log_logit_endpoints_scale_shift) {
  noise_schedule s = schedule_default(SCHEDULE_LOG_LOGIT);
  double a, sigma;
  /* logit(σ/(1+σ)) = log σ, so the endpoints are σ_min and σ_max */
  schedule_eval(&s, 0.0, &a, &sigma);
  CHECK_REL(sigma, 1e-3, 1e-9);
  schedule_eval(&s, 1.0, &a, &sigma);
  CHECK_REL(sigma, 1e3, 1e-9);
  schedule_eval(&s, 0.5, &a, &sigma); /* t_min + t_max = 1: the midpoint is logit(1/2) = 0 */
  CHECK_REL(sigma, 1.0, 1e-12);
  s.scale = 2.0;
  s.shift = 1.0;
  schedule_eval(&s, 0.0, &a, &sigma);
  CHECK_REL(sigma, exp(1.0) * 1e-6, 1e-9);
  CHECK(schedule_kind_from_name("log_logit") == SCHEDULE_LOG_LOGIT);
  CHECK(schedule_kind_from_name("log_linear") == SCHEDULE_LOG_LINEAR);
  CHECK(schedule_kind_from_name("cosine") == -1);
}

TEST(schedule_edm_coefficients) {
  noise_schedule s = schedule_default(SCHEDULE_LOG_LINEAR);
  edm_coefficients c = edm_precondition(&s, 0.5); /* σ = 1 */
  CHECK_REL(c.c_in, 1 / sqrt(2.0), 1e-12);
  CHECK_REL(c.c_out, 1 / sqrt(2.0), 1e-12);
  CHECK_REL(c.c_skip, 0.5, 1e-12);
  CHECK_NEAR(c.c_noise, 0.0, 1e-12);
  CHECK_REL(c.var, 0.5, 1e-12);
  c = edm_precondition(&s, 1.0); /* σ = 1e3 */
  CHECK_REL(c.c_noise, 10 * log(1e3), 1e-12);
  CHECK_REL(c.c_skip, 1 / (1 + 1e6), 1e-12);
  CHECK_REL(c.c_out, 1e3 / sqrt(1 + 1e6), 1e-12);
  /* c_skip² · var_x + c_out² = 1 at unit data variance... here: c_in² (1 + σ²) = 1 */
  CHECK_REL(c.c_in * c.c_in * (1 + 1e6), 1.0, 1e-12);
}
