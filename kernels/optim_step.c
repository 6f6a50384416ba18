/* The guarded AdamW step (kernels/optim.h), on whatever backend the kernels run,
 * through the device-side guard: only the norm and the counts come back. */
#include "backend.h"
#include "optim.h"
#include "vector.h"

/* One state per backend, made at its first step and kept: a step allocates
 * nothing (a device allocation and free per step would also wait for the GPU). */
static k_step_state *step_state(void) {
  static k_step_state *per_backend[K_BACKEND_EMULATED + 1];
  k_step_state **s = &per_backend[k_backend()];
  if (!*s) *s = k_device_alloc(sizeof **s, "optimiser step state");
  return *s;
}

double k_adamw_safe_step(const adamw_config *cfg, adamw_state *st, double lr_factor, float *p, float *g,
                         float *m, float *v, int64_t n) {
  k_step_state host = {.steps = (double)st->steps, .skipped = (double)st->skipped};
  k_step_state *s = step_state();
  k_upload(s, &host, sizeof host);
  k_step_guard(g, n, s);
  k_adamw_guarded(p, g, m, v, n, s, cfg->lr * lr_factor, cfg->beta1, cfg->beta2, cfg->eps, cfg->weight_decay,
                  cfg->grad_clip);
  k_fill(g, 0.0f, n); /* zero_grad */
  k_download(&host, s, sizeof host);
  st->steps = (int64_t)host.steps;
  st->skipped = (int64_t)host.skipped;
  return host.norm;
}
