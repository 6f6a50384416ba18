/* Bulk draws and sequential streams over the Philox generator of kernels/rng.h. */
#include "../rng.h"
#include "kernels_cpu.h"

#include <math.h>

void rng_uniform(float *out, int64_t n, rng_key key, uint64_t sample, int64_t first) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; i++) {
    int64_t e = first + i;
    philox4x32_ctr w = rng_block(key, sample, (uint32_t)(e >> 2));
    out[i] = rng_word_to_uniform(w.v[e & 3]);
  }
}

void rng_normal(float *out, int64_t n, rng_key key, uint64_t sample, int64_t first) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; i++) {
    int64_t e = first + i, pair = e >> 1; /* elements 2j and 2j+1 share one Box-Muller pair */
    philox4x32_ctr w = rng_block(key, sample, (uint32_t)(pair >> 1));
    int lane = (int)(pair & 1) * 2;
    double u1 = rng_word_to_uniform(w.v[lane]), u2 = rng_word_to_uniform(w.v[lane + 1]);
    double r = sqrt(-2.0 * log(u1)), angle = 2.0 * M_PI * u2;
    out[i] = (float)(r * ((e & 1) ? sin(angle) : cos(angle)));
  }
}

rng_stream rng_stream_at(rng_key key, uint64_t sample) {
  rng_stream s = {.key = key, .sample = sample, .block = 0, .lane = 4};
  return s;
}

uint32_t rng_next_word(rng_stream *s) {
  if (s->lane == 4) {
    s->words = rng_block(s->key, s->sample, s->block++);
    s->lane = 0;
  }
  return s->words.v[s->lane++];
}

double rng_next_uniform(rng_stream *s) {
  uint64_t hi = rng_next_word(s) >> 5, lo = rng_next_word(s) >> 6; /* 27 + 26 = 53 bits */
  return ((double)((hi << 26) | lo) + 0.5) * 0x1p-53;
}

double rng_next_normal(rng_stream *s) {
  double u1 = rng_next_uniform(s), u2 = rng_next_uniform(s);
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Marsaglia & Tsang (2000), "A simple method for generating gamma variables";
 * shape < 1 through Gamma(shape + 1) * U^(1/shape). */
double rng_next_gamma(rng_stream *s, double shape) {
  if (shape < 1.0) {
    double g = rng_next_gamma(s, shape + 1.0);
    return g * pow(rng_next_uniform(s), 1.0 / shape);
  }
  double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = rng_next_normal(s);
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    double u = rng_next_uniform(s);
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) return d * v;
  }
}

double rng_next_beta(rng_stream *s, double a, double b) {
  double x = rng_next_gamma(s, a), y = rng_next_gamma(s, b);
  return x / (x + y);
}

/* Kumaraswamy(a, b): CDF 1 - (1 - x^a)^b, inverted. */
double rng_next_kumaraswamy(rng_stream *s, double a, double b) {
  double u = rng_next_uniform(s);
  return pow(1.0 - pow(1.0 - u, 1.0 / b), 1.0 / a);
}

/* Knuth's product of uniforms for small means; Hörmann's PTRS (transformed
 * rejection with squeeze, 1993) above, as numpy and PyTorch do. */
int64_t rng_next_poisson(rng_stream *s, double lambda) {
  if (lambda <= 0.0) return 0;
  if (lambda < 12.0) {
    double limit = exp(-lambda), product = rng_next_uniform(s);
    int64_t k = 0;
    while (product > limit) {
      product *= rng_next_uniform(s);
      k++;
    }
    return k;
  }
  double slam = sqrt(lambda), loglam = log(lambda);
  double b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
  double invalpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2.0);
  for (;;) {
    double u = rng_next_uniform(s) - 0.5, v = rng_next_uniform(s);
    double us = 0.5 - fabs(u);
    double k = floor((2.0 * a / us + b) * u + lambda + 0.43);
    if (us >= 0.07 && v <= vr) return (int64_t)k;
    if (k < 0.0 || (us < 0.013 && v > us)) continue;
    if (log(v) + log(invalpha) - log(a / (us * us) + b) <= -lambda + k * loglam - lgamma(k + 1.0))
      return (int64_t)k;
  }
}

void kcpu_rng_uniform(float *out, int64_t n, rng_key key, uint64_t sample, int64_t first) {
  rng_uniform(out, n, key, sample, first);
}

void kcpu_rng_normal(float *out, int64_t n, rng_key key, uint64_t sample, int64_t first) {
  rng_normal(out, n, key, sample, first);
}
