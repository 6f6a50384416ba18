/* EDM noise schedules and preconditioning (lola/diffusion.py:
 * LogLinearSchedule, LogLogitSchedule, ElucidatedDenoiser). Both schedules
 * have α_t = 1 and
 *
 *   log_linear   σ_t = exp((1 − t)·log σ_min + t·log σ_max)
 *   log_logit    σ_t = exp(scale·logit((t_max − t_min)·t + t_min) + shift),
 *                t_min = σ_min/(1 + σ_min), t_max = σ_max/(1 + σ_max)
 *
 * and the preconditioning of Karras et al. (2022) as the reference writes it:
 *   c_in = 1/sqrt(α² + σ²), c_out = σ/sqrt(α² + σ²), c_skip = α/(α² + σ²),
 *   c_noise = 10·log(σ/α), var = σ²/(α² + σ²). */
#ifndef LOLA_SCHEDULE_H
#define LOLA_SCHEDULE_H

typedef enum { SCHEDULE_LOG_LINEAR, SCHEDULE_LOG_LOGIT } schedule_kind;

typedef struct {
  schedule_kind kind;
  double sigma_min, sigma_max; /* reference defaults 1e-3, 1e3 */
  double scale, shift;         /* log_logit only; defaults 1, 0 */
} noise_schedule;

/* Parse "log_linear" / "log_logit"; -1 when unknown. */
int schedule_kind_from_name(const char *name);
/* The reference's defaults for `kind`. */
noise_schedule schedule_default(schedule_kind kind);

void schedule_eval(const noise_schedule *s, double t, double *alpha, double *sigma);

typedef struct {
  double alpha, sigma, c_in, c_out, c_skip, c_noise, var;
} edm_coefficients;

edm_coefficients edm_precondition(const noise_schedule *s, double t);

#endif
