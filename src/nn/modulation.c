/* AdaLN-Zero coefficients: a small network of the modulation vector, or one
 * learned (4, C) parameter. */
#include "modulation.h"

#include <string.h>

#include "../../kernels/vector.h"

#include "act.h"

void modulation_declare(modulation *m, param_registry *r, const char *prefix, int64_t channels,
                        int64_t features) {
  m->channels = channels;
  m->features = features;
  m->param = -1;
  if (features > 0)
    mlp_declare(&m->net, r, prefix, features, features, 4 * channels);
  else
    m->param = params_add(r, prefix, 2, (int64_t[]){4, channels});
}

void modulation_init(const modulation *m, param_registry *r, rng_key key) {
  if (m->features > 0) {
    mlp_init(&m->net, r, key);
    param_scale(r, m->net.fc2.weight, 1e-2f); /* ada_zero[-2].weight.data.mul_(1e-2) */
  } else {
    param_fill_normal(r, m->param, key, 1e-2f); /* randn(4, C) · 1e-2 */
  }
}

size_t modulation_activation_bytes(const modulation *m, int64_t batch) {
  if (m->features == 0) return 0;
  return 2 * act_bytes(batch * 4 * m->channels) + mlp_activation_bytes(&m->net, batch);
}

void modulation_forward(modulation *m, const param_registry *r, arena *act, const float *mod, int64_t batch) {
  m->batch = batch;
  if (m->features == 0) {
    m->vstride = 0;
    m->out = m->dout = NULL;
    return;
  }
  m->vstride = 4 * m->channels;
  m->out = arena_floats(act, batch * 4 * m->channels);
  m->dout = arena_floats(act, batch * 4 * m->channels);
  k_fill(m->dout, 0.0f, batch * 4 * m->channels);
  mlp_forward(&m->net, r, act, m->out, mod, batch);
}

const float *modulation_vec(const modulation *m, const param_registry *r, int n) {
  const float *base = m->features > 0 ? m->out : params_value(r, m->param);
  return base + n * m->channels;
}

float *modulation_grad(const modulation *m, param_registry *r, int n) {
  float *base = m->features > 0 ? m->dout : params_grad(r, m->param);
  return base + n * m->channels;
}

void modulation_backward(modulation *m, param_registry *r, arena *act, float *dmod) {
  if (m->features == 0) return;
  mlp_backward(&m->net, r, act, dmod, m->dout);
}
