/* The guarded AdamW step (kernels/optim.h), on whatever backend the kernels run:
 * only the norm comes back to the host. */
#include <math.h>

#include "optim.h"
#include "vector.h"

double k_adamw_safe_step(const adamw_config *cfg, adamw_state *st, double lr_factor, float *p, float *g,
                         float *m, float *v, int64_t n) {
  double norm = k_global_norm(g, n);
  if (isfinite(norm)) {
    if (cfg->grad_clip > 0.0) {
      double coef = cfg->grad_clip / (norm + 1e-6); /* torch's clip_grad_norm_ */
      if (coef < 1.0) k_scal(g, (float)coef, n);
    }
    st->steps++;
    k_adamw_update(p, g, m, v, n, cfg->lr * lr_factor, cfg->beta1, cfg->beta2, cfg->eps, cfg->weight_decay,
                   st->steps);
  } else {
    st->skipped++;
  }
  k_fill(g, 0.0f, n); /* zero_grad */
  return norm;
}
