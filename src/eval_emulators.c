#include "eval_emulators.h"

#include <stdlib.h>
#include <string.h>

#include "../kernels/backend.h"
#include "../kernels/sampler.h"
#include "error.h"

static int64_t window_floats(const eval_emulator *e) { return eval_state_floats(e->m) * e->m->window; }

/* obs (B, observed, C·P), a host array, into y (B, C, L, P) with zeros after,
 * and the mask: uploaded into the staging buffer, then placed by a kernel. */
static void place_observations(eval_emulator *e, const float *obs, int observed) {
  const eval_model *m = e->m;
  const int64_t C = m->Cz, P = m->Pz, L = m->window;
  const int64_t nobs = (int64_t)e->batch * observed * C * P;
  if (nobs > 0) k_upload(e->stage, obs, sizeof(float) * (size_t)nobs);
  k_window_place(e->y, e->mask, nobs > 0 ? e->stage : NULL, e->batch, C, L, P, observed);
  if (m->label_dim && e->label)
    for (int b = 0; b < e->batch; b++)
      k_upload(e->labels + b * m->label_dim, e->label, sizeof(float) * (size_t)m->label_dim);
}

/* x (B, C, L, P) on the device to out (B, L, C·P) on the host, through the staging buffer. */
static void to_state_major(const eval_emulator *e, const float *x, float *out) {
  const int64_t C = e->m->Cz, P = e->m->Pz, L = e->m->window;
  k_window_to_state_major(e->stage, x, e->batch, C, L, P);
  k_download(out, e->stage, sizeof(float) * (size_t)(e->batch * window_floats(e)));
}

static void emulate_surrogate(void *user, const float *obs, int observed, float *out, int64_t start) {
  (void)start;
  eval_emulator *e = user;
  eval_model *m = e->m;
  place_observations(e, obs, observed);
  arena_reset(&e->act);
  nn_mode mode = nn_mode_eval();
  surrogate_forward(&m->sur, &m->params, &m->buffers, &e->act, e->x, e->y, e->mask,
                    m->label_dim ? e->labels : NULL, e->batch, e->shape, &mode);
  to_state_major(e, e->x, out);
}

static void denoiser_mean(void *user, const float *x_t, double t, float *mean, int count) {
  eval_emulator *e = user;
  eval_model *m = e->m;
  for (int b = 0; b < count; b++) e->t[b] = (float)t;
  arena_reset(&e->act);
  nn_mode mode = nn_mode_eval();
  denoiser_masked_forward(&m->den, &m->params, &m->buffers, &e->act, mean, NULL, x_t, e->t,
                          m->label_dim ? e->labels : NULL, e->y, e->mask, count, e->shape, &mode);
}

static void denoiser_schedule(void *user, double t, double *alpha, double *sigma) {
  eval_emulator *e = user;
  schedule_eval(&e->m->den.cfg.schedule, t, alpha, sigma);
}

static void emulate_diffusion(void *user, const float *obs, int observed, float *out, int64_t start) {
  eval_emulator *e = user;
  place_observations(e, obs, observed);
  gaussian_denoiser d = {.mean = denoiser_mean, .schedule = denoiser_schedule, .user = e};
  const int64_t W = window_floats(e);
  sampler_init(&e->sampler, &d, e->x, e->batch, W, e->seed, (uint32_t)start, e->ids);
  sampler_run(&e->sampler, &d, e->x, e->batch, W, e->work, e->seed, (uint32_t)start, e->ids);
  to_state_major(e, e->x, out);
}

void eval_emulator_init(eval_emulator *e, eval_model *m, int max_batch, const sampler_config *sampler) {
  memset(e, 0, sizeof *e);
  if (m->method == EVAL_AUTOENCODER) lola_die(LOLA_EXIT_RUNTIME, "eval: the autoencoder is not an emulator");
  e->m = m;
  e->max_batch = max_batch;
  if (sampler) e->sampler = *sampler;
  e->shape[0] = m->window;
  for (int k = 0; k < m->zgrid.dims; k++) e->shape[1 + k] = m->zgrid.ext[k];
  const size_t n = (size_t)max_batch * (size_t)window_floats(e);
  e->y = k_device_alloc(sizeof(float) * n, "eval observations");
  e->mask = k_device_alloc(sizeof(float) * n, "eval context mask");
  e->x = k_device_alloc(sizeof(float) * n, "eval window");
  e->stage = k_device_alloc(sizeof(float) * n, "eval staging window");
  e->labels = k_device_alloc(sizeof(float) * (size_t)max_batch * (size_t)(m->label_dim + 1), "eval labels");
  e->t = lola_malloc(sizeof(float) * (size_t)max_batch, "eval diffusion times"); /* host: the denoiser's t */
  e->var = NULL;                                                                 /* not needed */
  size_t act;
  if (m->method == EVAL_SURROGATE) {
    act = surrogate_activation_bytes(&m->sur, max_batch, e->shape);
  } else {
    /* + the masked forward's clamped input (one window per sample) */
    act = denoiser_activation_bytes(&m->den, max_batch, e->shape) + sizeof(float) * n + 64;
    e->work = k_device_alloc(
        sizeof(float) * (size_t)sampler_workspace_floats(&e->sampler, max_batch, window_floats(e)),
        "eval sampler workspace");
  }
  arena_init_device(&e->act, act + (1u << 20), "eval emulator activations");
}

void eval_emulator_free(eval_emulator *e) {
  k_device_free(e->y);
  k_device_free(e->mask);
  k_device_free(e->x);
  k_device_free(e->stage);
  k_device_free(e->labels);
  free(e->t);
  k_device_free(e->work);
  arena_free(&e->act);
  memset(e, 0, sizeof *e);
}

emulator eval_emulator_callback(eval_emulator *e) {
  emulator em = {.emulate = e->m->method == EVAL_SURROGATE ? emulate_surrogate : emulate_diffusion,
                 .user = e};
  return em;
}
