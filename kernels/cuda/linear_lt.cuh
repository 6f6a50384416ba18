/* Linear forward with the bias added in cuBLASLt's epilogue (linear_lt.cu). */
#ifndef LOLA_LINEAR_LT_CUH
#define LOLA_LINEAR_LT_CUH

#include <stdint.h>

/* y = x·wᵀ + b in the precision of kc_get_precision, or false (nothing
 * written) when cuBLASLt has no algorithm for the shape or refuses the call.
 * rows, in, out > 0; b not NULL. */
bool kc_linear_fwd_lt(float *y, const float *x, const float *w, const float *b, int64_t rows, int64_t in,
                      int64_t out);

#endif
