/* Activations, dropout and latent saturations. */
#include <math.h>
#include <string.h>

#include "../elementwise.h"
#include "kernels_cpu.h"
#include "fast_exp.h"

enum { PAR_MIN = 32768 }; /* below this many elements a parallel region costs more than it saves */

/* σ(x) over four lanes. */
static inline v4f v4_sigmoid(v4f x) { return 1.0f / (1.0f + v4_expf(-x)); }

void kcpu_silu_fwd(float *y, const float *x, int64_t n) {
  int64_t full = n / 4 * 4;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t i = 0; i < full; i += 4) {
    v4f v = v4_load(x + i);
    v4_store(y + i, v * v4_sigmoid(v));
  }
  if (full < n) {
    v4f v = v4_load_tail(x + full, n - full);
    v4_store_tail(y + full, v * v4_sigmoid(v), n - full);
  }
}

/* d/dx x·σ(x) = σ(x)·(1 + x·(1 - σ(x))). */
static inline v4f v4_silu_grad(v4f g, v4f v) {
  v4f s = v4_sigmoid(v);
  return g * s * (1.0f + v * (1.0f - s));
}

void kcpu_silu_bwd(float *dx, const float *dy, const float *x, int64_t n) {
  int64_t full = n / 4 * 4;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t i = 0; i < full; i += 4) v4_store(dx + i, v4_silu_grad(v4_load(dy + i), v4_load(x + i)));
  if (full < n)
    v4_store_tail(dx + full,
                  v4_silu_grad(v4_load_tail(dy + full, n - full), v4_load_tail(x + full, n - full)),
                  n - full);
}

/* Multiply src by the dropout mask (kept / (1-p), dropped 0) into dst. */
static void apply_dropout(float *dst, const float *src, int64_t batch, int64_t per_sample, float p,
                          rng_key key, uint64_t first_sample) {
  int64_t total = batch * per_sample;
  if (p <= 0.0f) {
    if (dst != src) memmove(dst, src, (size_t)total * sizeof *dst);
    return;
  }
  if (p >= 1.0f) {
    memset(dst, 0, (size_t)total * sizeof *dst);
    return;
  }
  float keep_scale = 1.0f / (1.0f - p);
  int64_t blocks = (per_sample + 3) / 4; /* one Philox block serves four elements */
#pragma omp parallel for schedule(static) if (total > PAR_MIN)
  for (int64_t bb = 0; bb < batch * blocks; bb++) {
    int64_t b = bb / blocks, blk = bb % blocks;
    philox4x32_ctr w = rng_block(key, first_sample + (uint64_t)b, (uint32_t)blk);
    for (int lane = 0; lane < 4; lane++) {
      int64_t e = blk * 4 + lane;
      if (e >= per_sample) break;
      int64_t i = b * per_sample + e;
      dst[i] = rng_word_to_uniform(w.v[lane]) >= p ? src[i] * keep_scale : 0.0f;
    }
  }
}

void kcpu_dropout_fwd(float *y, const float *x, int64_t batch, int64_t per_sample, float p, rng_key key,
                      uint64_t first_sample) {
  apply_dropout(y, x, batch, per_sample, p, key, first_sample);
}

void kcpu_dropout_bwd(float *dx, const float *dy, int64_t batch, int64_t per_sample, float p, rng_key key,
                      uint64_t first_sample) {
  apply_dropout(dx, dy, batch, per_sample, p, key, first_sample);
}

int k_saturation_from_name(const char *name) {
  static const char *const names[] = {"none", "softclip", "softclip2", "tanh", "arcsinh"};
  for (int i = 0; i < (int)(sizeof names / sizeof *names); i++)
    if (strcmp(name, names[i]) == 0) return i;
  return -1;
}

void kcpu_saturate_fwd(float *y, const float *x, int64_t n, k_saturation kind) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t i = 0; i < n; i++) {
    float v = x[i];
    switch (kind) {
      case K_SAT_NONE:
        y[i] = v;
        break;
      case K_SAT_SOFTCLIP:
        y[i] = v / (1.0f + fabsf(v) / 5.0f);
        break;
      case K_SAT_SOFTCLIP2:
        y[i] = v / sqrtf(1.0f + (v / 5.0f) * (v / 5.0f));
        break;
      case K_SAT_TANH:
        y[i] = 5.0f * tanhf(v / 5.0f);
        break;
      case K_SAT_ARCSINH:
        y[i] = asinhf(v);
        break;
    }
  }
}

void kcpu_saturate_bwd(float *dx, const float *dy, const float *x, int64_t n, k_saturation kind) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t i = 0; i < n; i++) {
    float v = x[i], d = 1.0f;
    switch (kind) {
      case K_SAT_NONE:
        break;
      case K_SAT_SOFTCLIP:
        d = 1.0f / ((1.0f + fabsf(v) / 5.0f) * (1.0f + fabsf(v) / 5.0f));
        break;
      case K_SAT_SOFTCLIP2: {
        float q = 1.0f / sqrtf(1.0f + (v / 5.0f) * (v / 5.0f));
        d = q * q * q;
        break;
      }
      case K_SAT_TANH: {
        float t = tanhf(v / 5.0f);
        d = 1.0f - t * t;
        break;
      }
      case K_SAT_ARCSINH:
        d = 1.0f / sqrtf(1.0f + v * v);
        break;
    }
    dx[i] = dy[i] * d;
  }
}
