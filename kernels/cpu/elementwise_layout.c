/* Concatenation and channel-first <-> token layout changes. */
#include <string.h>

#include "../elementwise.h"
#include "kernels_cpu.h"

enum { PAR_MIN = 32768, TILE = 32 };

void kcpu_concat_fwd(float *y, const float *a, const float *b, int64_t outer, int64_t a_len, int64_t b_len) {
#pragma omp parallel for schedule(static) if (outer * (a_len + b_len) > PAR_MIN)
  for (int64_t o = 0; o < outer; o++) {
    float *yo = y + o * (a_len + b_len);
    memcpy(yo, a + o * a_len, (size_t)a_len * sizeof *y);
    memcpy(yo + a_len, b + o * b_len, (size_t)b_len * sizeof *y);
  }
}

void kcpu_concat_bwd(float *da, float *db, const float *dy, int64_t outer, int64_t a_len, int64_t b_len) {
#pragma omp parallel for schedule(static) if (outer * (a_len + b_len) > PAR_MIN)
  for (int64_t o = 0; o < outer; o++) {
    const float *g = dy + o * (a_len + b_len);
    if (da) memcpy(da + o * a_len, g, (size_t)a_len * sizeof *da);
    if (db) memcpy(db + o * b_len, g + a_len, (size_t)b_len * sizeof *db);
  }
}

/* y[b] = x[b]ᵀ for `B` (rows, cols) matrices, by cache tiles. */
static void batched_transpose(float *y, const float *x, int64_t B, int64_t rows, int64_t cols) {
  int64_t tr = (rows + TILE - 1) / TILE, tc = (cols + TILE - 1) / TILE;
#pragma omp parallel for collapse(3) schedule(static) if (B * rows * cols > PAR_MIN)
  for (int64_t b = 0; b < B; b++)
    for (int64_t i0 = 0; i0 < tr; i0++)
      for (int64_t j0 = 0; j0 < tc; j0++) {
        const float *xb = x + b * rows * cols;
        float *yb = y + b * rows * cols;
        int64_t i1 = (i0 + 1) * TILE < rows ? (i0 + 1) * TILE : rows;
        int64_t j1 = (j0 + 1) * TILE < cols ? (j0 + 1) * TILE : cols;
        for (int64_t i = i0 * TILE; i < i1; i++)
          for (int64_t j = j0 * TILE; j < j1; j++) yb[j * rows + i] = xb[i * cols + j];
      }
}

void kcpu_to_tokens_fwd(float *y, const float *x, int64_t B, int64_t C, int64_t S) {
  batched_transpose(y, x, B, C, S);
}
void kcpu_to_tokens_bwd(float *dx, const float *dy, int64_t B, int64_t C, int64_t S) {
  batched_transpose(dx, dy, B, S, C);
}
void kcpu_to_channels_fwd(float *y, const float *x, int64_t B, int64_t C, int64_t S) {
  batched_transpose(y, x, B, S, C);
}
void kcpu_to_channels_bwd(float *dx, const float *dy, int64_t B, int64_t C, int64_t S) {
  batched_transpose(dx, dy, B, C, S);
}
