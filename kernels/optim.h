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

/* The guarded step's state, in the kernels' memory, so that a training step
 * needs no host synchronisation (the non-finite check is done where the norm
 * is): the last step's gradient norm, the sum of the finite norms since the
 * caller last cleared it (for the metrics), the updates applied (AdamW's
 * bias-correction step count) and the steps skipped. Counts are exact in a
 * double up to 2^53. Read it with k_download when a value is needed. */
typedef struct {
  double norm, norm_sum, steps, skipped;
} k_step_state;

/* The guard of safe_gd_step: s->norm = ||g||, summed as k_global_norm; when
 * finite, s->norm_sum += norm and s->steps += 1, otherwise s->skipped += 1. */
void k_step_guard(const float *g, int64_t n, k_step_state *s);
/* The guard in two halves, for a gradient split over ranks (ZeRO-1): first
 * s->norm = Σ g² over this rank's part (summed as k_global_norm), then, once
 * the caller has summed s->norm over the ranks, s->norm = sqrt(s->norm) and
 * the counters as k_step_guard. */
void k_step_guard_sum(const float *g, int64_t n, k_step_state *s);
void k_step_guard_finish(k_step_state *s);

/* The AdamW update of the step s guards: nothing when s->norm is not finite;
 * otherwise k_adamw_update at step s->steps of the clipped gradient
 * g·min(1, grad_clip/(norm + 1e-6)) (torch's clip_grad_norm_; no clipping
 * when grad_clip <= 0). g is left as it is. */
void k_adamw_guarded(float *p, const float *g, float *m, float *v, int64_t n, const k_step_state *s,
                     double lr, double beta1, double beta2, double eps, double weight_decay,
                     double grad_clip);

/* safe_gd_step: norm = ||g||; when grad_clip > 0, g *= min(1, clip/(norm+1e-6))
 * (torch's clip_grad_norm_); if norm is finite, apply AdamW at lr·factor and
 * count the step, otherwise leave p, m, v untouched and count a skip. The
 * gradients are zeroed either way (zero_grad). Returns the unclipped norm,
 * which it waits for: the training loop calls the two kernels above instead. */
double k_adamw_safe_step(const adamw_config *cfg, adamw_state *st, double lr_factor, float *p, float *g,
                         float *m, float *v, int64_t n);

#endif
