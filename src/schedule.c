/* EDM noise schedules and preconditioning coefficients. */
#include "schedule.h"

#include <math.h>
#include <string.h>

int schedule_kind_from_name(const char *name) {
  if (!strcmp(name, "log_linear")) return SCHEDULE_LOG_LINEAR;
  if (!strcmp(name, "log_logit")) return SCHEDULE_LOG_LOGIT;
  return -1;
}

noise_schedule schedule_default(schedule_kind kind) {
  return (noise_schedule){.kind = kind, .sigma_min = 1e-3, .sigma_max = 1e3, .scale = 1.0, .shift = 0.0};
}

void schedule_eval(const noise_schedule *s, double t, double *alpha, double *sigma) {
  *alpha = 1.0;
  if (s->kind == SCHEDULE_LOG_LINEAR) {
    *sigma = exp(log(s->sigma_min) * (1 - t) + log(s->sigma_max) * t);
  } else {
    double t_min = s->sigma_min / (1 + s->sigma_min), t_max = s->sigma_max / (1 + s->sigma_max);
    double p = t * (t_max - t_min) + t_min;
    *sigma = exp(s->scale * log(p / (1 - p)) + s->shift);
  }
}

edm_coefficients edm_precondition(const noise_schedule *s, double t) {
  edm_coefficients c;
  schedule_eval(s, t, &c.alpha, &c.sigma);
  double a2s2 = c.alpha * c.alpha + c.sigma * c.sigma;
  c.c_in = 1 / sqrt(a2s2);
  c.c_out = c.sigma / sqrt(a2s2);
  c.c_skip = c.alpha / a2s2;
  c.c_noise = 10 * log(c.sigma / c.alpha);
  c.var = c.sigma * c.sigma / a2s2;
  return c;
}
