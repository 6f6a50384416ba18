/* AdamW, learning-rate schedules and the guarded gradient step of the
 * reference (lola/optim.py: get_optimizer, safe_gd_step).
 *
 * The step runs over flat arrays (the parameter registry of src/tensor.h keeps
 * parameters, gradients and moments contiguous), after the gradients have been
 * averaged across ranks, so every rank takes the same step. */
#ifndef LOLA_K_OPTIM_H
#define LOLA_K_OPTIM_H

#include <stdbool.h>
#include <stdint.h>

typedef enum { LR_NONE, LR_LINEAR, LR_COSINE, LR_EXPONENTIAL } lr_schedule_kind;

/* Parse "none", "linear", "cosine", "exponential"; -1 when unknown. */
int lr_schedule_from_name(const char *name);

/* The factor of torch's LambdaLR in get_optimizer after `t` scheduler steps
 * (the reference steps its scheduler once per epoch), out of `epochs`:
 *   none 1, linear max(0, 1 - t/epochs), cosine (1 + cos(π t/epochs))/2,
 *   exponential exp(ln(1e-3) t/epochs);
 * times min(1, (t + 1)/(warmup + 1)) when warmup >= 0 (warmup < 0: none). */
double lr_factor(lr_schedule_kind kind, int64_t t, int64_t epochs, int64_t warmup);

typedef struct {
  double lr;           /* base learning rate; the step uses lr * lr_factor */
  double beta1, beta2; /* reference default (0.9, 0.99) */
  double eps;          /* torch's default 1e-8 */
  double weight_decay; /* decoupled: p -= lr * wd * p before the Adam update */
  double grad_clip;    /* global L2 norm bound; <= 0: no clipping */
} adamw_config;

typedef struct {
  int64_t steps;   /* updates applied: the bias-correction step count, as torch's state["step"] */
  int64_t skipped; /* steps skipped because the gradient norm was not finite */
} adamw_state;

/* Euclidean norm of g[0..n), summed in double in a thread-count-independent order. */
double k_global_norm(const float *g, int64_t n);

/* One torch.optim.AdamW update of p with gradient g and moments m, v, at
 * bias-correction step `step` (1 for the first update) and learning rate lr. */
void k_adamw_update(float *p, const float *g, float *m, float *v, int64_t n, double lr, double beta1,
                    double beta2, double eps, double weight_decay, int64_t step);

/* safe_gd_step: norm = ||g||; when grad_clip > 0, g *= min(1, clip/(norm+1e-6))
 * (torch's clip_grad_norm_); if norm is finite, apply AdamW at lr·factor and
 * count the step, otherwise leave p, m, v untouched and count a skip. The
 * gradients are zeroed either way (zero_grad). Returns the unclipped norm. */
double k_adamw_safe_step(const adamw_config *cfg, adamw_state *st, double lr_factor, float *p, float *g,
                         float *m, float *v, int64_t n);

#endif
