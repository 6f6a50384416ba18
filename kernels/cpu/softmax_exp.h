/* Exponentials and maxima over rows of attention scores, 16 lanes at a time in
 * GCC vector extensions; the compiler lowers them to AVX-512, AVX2 or SSE
 * according to the target of the (target-cloned) calling function, which is
 * why this is not kernels/cpu/fast_exp.h's 4-lane version. Cody-Waite
 * reduction x = n·ln2 + r, the Cephes degree-6 polynomial for e^r, then 2^n
 * in the exponent bits: relative error about 2e-7 on [-87.3, 88.7]; below
 * -87.3 (and for -inf, a masked score) the result is exactly 0. Vectors never
 * cross a function boundary (macros and pointer interfaces), so no vector
 * calling convention is involved. Private to kernels/cpu. */
#ifndef LOLA_K_SOFTMAX_EXP_H
#define LOLA_K_SOFTMAX_EXP_H

#include <math.h>
#include <stdint.h>
#include <string.h>

enum { SOFTMAX_LANES = 16 };
typedef float f32x16 __attribute__((vector_size(64)));
typedef int32_t i32x16 __attribute__((vector_size(64)));

#define F32X16_SPLAT(v) ((f32x16){0} + (v))
/* Lanes of a where the mask is set, of b elsewhere. */
#define F32X16_SELECT(mask, a, b) ((f32x16)(((i32x16)(a) & (mask)) | ((i32x16)(b) & ~(mask))))

/* v ← exp(v), lane by lane. */
#define SOFTMAX_EXP16(v)                                                                    \
  do {                                                                                      \
    i32x16 under_ = (v) < -87.3f;                                                           \
    f32x16 x_ = F32X16_SELECT((v) > 88.7f, F32X16_SPLAT(88.7f), (v));                       \
    x_ = F32X16_SELECT(under_, F32X16_SPLAT(-87.3f), x_);                                   \
    /* n = round(x / ln2), by truncating a positive number */                               \
    i32x16 ni_ = __builtin_convertvector(x_ * 1.44269504088896341f + 128.5f, i32x16) - 128; \
    f32x16 n_ = __builtin_convertvector(ni_, f32x16);                                       \
    f32x16 r_ = x_ - n_ * 0.693359375f + n_ * 2.12194440e-4f;                               \
    f32x16 p_ = F32X16_SPLAT(1.9875691500e-4f);                                             \
    p_ = p_ * r_ + 1.3981999507e-3f;                                                        \
    p_ = p_ * r_ + 8.3334519073e-3f;                                                        \
    p_ = p_ * r_ + 4.1665795894e-2f;                                                        \
    p_ = p_ * r_ + 1.6666665459e-1f;                                                        \
    p_ = p_ * r_ + 5.0000001201e-1f;                                                        \
    f32x16 e_ = (p_ * r_ * r_ + r_ + 1.0f) * (f32x16)((ni_ + 127) << 23);                   \
    (v) = (f32x16)((i32x16)e_ & ~under_);                                                   \
  } while (0)

/* s[c] = exp(s[c] - shift) for c < n; returns the sum. */
static inline __attribute__((always_inline)) float softmax_exp_row(float *s, int64_t n, float shift) {
  f32x16 acc = {0}, v;
  int64_t c = 0;
  for (; c + SOFTMAX_LANES <= n; c += SOFTMAX_LANES) {
    memcpy(&v, s + c, sizeof v);
    v -= shift;
    SOFTMAX_EXP16(v);
    memcpy(s + c, &v, sizeof v);
    acc += v;
  }
  if (c < n) { /* the tail, padded with -inf (which gives 0) */
    v = F32X16_SPLAT(-INFINITY);
    memcpy(&v, s + c, (size_t)(n - c) * sizeof *s);
    v -= shift;
    SOFTMAX_EXP16(v);
    memcpy(s + c, &v, (size_t)(n - c) * sizeof *s);
    acc += v;
  }
  float sum = 0.0f;
  for (int j = 0; j < SOFTMAX_LANES; j++) sum += acc[j];
  return sum;
}

/* max over s[0 .. n). */
static inline __attribute__((always_inline)) float softmax_max_row(const float *s, int64_t n) {
  f32x16 mx = F32X16_SPLAT(-INFINITY), v;
  int64_t c = 0;
  for (; c + SOFTMAX_LANES <= n; c += SOFTMAX_LANES) {
    memcpy(&v, s + c, sizeof v);
    mx = F32X16_SELECT(v > mx, v, mx);
  }
  float m = -INFINITY;
  for (int j = 0; j < SOFTMAX_LANES; j++) m = mx[j] > m ? mx[j] : m;
  for (; c < n; c++) m = s[c] > m ? s[c] : m;
  return m;
}

#endif
