/* A single-precision exponential over four lanes at once (libm's expf is a
 * scalar call that stops the pointwise loops from vectorising), written with
 * GCC/Clang vector extensions so it is portable SSE/NEON code.
 *
 * Cody-Waite reduction x = n·ln2 + r with |r| <= ln2/2, Cephes' degree-6
 * polynomial for e^r, and 2^n assembled in the exponent bits (as two factors,
 * so that neither leaves the normal range). Relative error below 2e-7 where
 * e^x is a normal float; inputs are clamped to [-104, 88.8] first, so e^x
 * underflows through the subnormals to 0 below and overflows to +inf above;
 * NaN stays NaN. Private to kernels/cpu. */
#ifndef LOLA_K_FAST_EXP_H
#define LOLA_K_FAST_EXP_H

#include <stdint.h>
#include <string.h>

typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));
typedef uint32_t v4u __attribute__((vector_size(16)));

/* mask ? a : b, lane by lane (mask lanes are all ones or all zeros). */
static inline v4f v4_select(v4i mask, v4f a, v4f b) { return (v4f)((mask & (v4i)a) | (~mask & (v4i)b)); }

static inline v4f v4_expf(v4f x) {
  const v4f lo = {-104.0f, -104.0f, -104.0f, -104.0f}; /* n = -150: e^x rounds to 0 */
  const v4f hi = {88.8f, 88.8f, 88.8f, 88.8f};         /* n = 128: e^x = inf */
  x = v4_select(x < lo, lo, x);
  x = v4_select(x > hi, hi, x);
  /* n = round(x / ln2) by adding and removing 1.5·2^23. */
  v4f n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  v4f r = x - n * 0.693359375f; /* ln2 in two parts: n·C1 is exact */
  r = r + n * 2.12194440e-4f;
  v4f p = r * 1.9875691500e-4f + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  v4i e = __builtin_convertvector(n, v4i), e1 = e >> 1, e2 = e - e1;
  /* Shifted as unsigned: a NaN lane converts to INT_MIN, and its result is NaN anyway (p is NaN). */
  return p * (v4f)((v4u)(e1 + 127) << 23) * (v4f)((v4u)(e2 + 127) << 23);
}

static inline v4f v4_load(const float *p) {
  v4f v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline void v4_store(float *p, v4f v) { memcpy(p, &v, sizeof v); }

/* The last n % 4 floats, padded with zeros, and back. */
static inline v4f v4_load_tail(const float *p, int64_t count) {
  v4f v = {0, 0, 0, 0};
  memcpy(&v, p, (size_t)count * sizeof(float));
  return v;
}

static inline void v4_store_tail(float *p, v4f v, int64_t count) {
  memcpy(p, &v, (size_t)count * sizeof(float));
}

#endif
