/* Per-sample scaling, AdaLN modulation and residual mixing.
 *
 * A (B, C, S) or (B, S, C) array is walked as rows of contiguous floats:
 * channel-first rows are one (b, c) over S positions (one vector value per
 * row); token rows are one (b, s) over C channels (the vector runs along the
 * row). Gradients of per-channel vectors are reduced in double by channel
 * blocks: each block is owned by one thread and summed in a fixed order, so
 * there are no races and the result does not depend on the thread count. */
#include <math.h>
#include <stddef.h>

#include "../elementwise.h"
#include "kernels_cpu.h"

enum { PAR_MIN = 32768, CHANNEL_BLOCK = 64 };

void kcpu_scale_fwd(float *y, const float *x, const float *s, int64_t batch, int64_t per_sample) {
#pragma omp parallel for schedule(static) if (batch * per_sample > PAR_MIN)
  for (int64_t b = 0; b < batch; b++)
    for (int64_t i = b * per_sample; i < (b + 1) * per_sample; i++) y[i] = s[b] * x[i];
}

void kcpu_scale_bwd(float *dx, float *ds, const float *dy, const float *x, const float *s, int64_t batch,
                    int64_t per_sample) {
  /* ds first: dx may overwrite dy (in place). */
  if (ds) {
#pragma omp parallel for schedule(static) if (batch * per_sample > PAR_MIN)
    for (int64_t b = 0; b < batch; b++) {
      double acc = 0.0;
      for (int64_t i = b * per_sample; i < (b + 1) * per_sample; i++) acc += (double)dy[i] * x[i];
      ds[b] += (float)acc;
    }
  }
  if (dx) kcpu_scale_fwd(dx, dy, s, batch, per_sample);
}

/* For sample b and channels [c0, c0 + width): g1[c] = Σ_s dy·u1 and
 * g2[c] = Σ_s dy·u2, where a NULL u2 means 1 (the sum of dy). */
static void channel_sums(const float *dy, const float *u1, const float *u2, double *g1, double *g2, int64_t b,
                         int64_t c0, int64_t width, int64_t C, int64_t S, k_layout layout) {
  for (int64_t c = 0; c < width; c++) g1[c] = g2[c] = 0.0;
  if (layout == K_TOKENS) {
    for (int64_t s = 0; s < S; s++) {
      int64_t row = (b * S + s) * C + c0;
      const float *g = dy + row, *a = u1 + row;
      if (u2) {
        const float *z = u2 + row;
        for (int64_t c = 0; c < width; c++) g1[c] += (double)g[c] * a[c], g2[c] += (double)g[c] * z[c];
      } else {
        for (int64_t c = 0; c < width; c++) g1[c] += (double)g[c] * a[c], g2[c] += g[c];
      }
    }
  } else {
    for (int64_t c = 0; c < width; c++) {
      int64_t row = (b * C + c0 + c) * S;
      const float *g = dy + row, *a = u1 + row, *z = u2 ? u2 + row : NULL;
      double a1 = 0.0, a2 = 0.0;
      for (int64_t s = 0; s < S; s++) a1 += (double)g[s] * a[s], a2 += z ? (double)g[s] * z[s] : g[s];
      g1[c] = a1;
      g2[c] = a2;
    }
  }
}

void kcpu_modulate_fwd(float *y, const float *x, const float *scale, const float *shift, int64_t vstride,
                       int64_t B, int64_t C, int64_t S, k_layout layout) {
  int64_t rows = layout == K_TOKENS ? B * S : B * C, len = layout == K_TOKENS ? C : S;
#pragma omp parallel for schedule(static) if (B * C * S > PAR_MIN)
  for (int64_t q = 0; q < rows; q++) {
    const float *xq = x + q * len;
    float *yq = y + q * len;
    if (layout == K_TOKENS) {
      int64_t v = q / S * vstride;
      for (int64_t c = 0; c < len; c++)
        yq[c] = (scale ? 1.0f + scale[v + c] : 1.0f) * xq[c] + (shift ? shift[v + c] : 0.0f);
    } else {
      int64_t v = q / C * vstride + q % C;
      float a = scale ? 1.0f + scale[v] : 1.0f, t = shift ? shift[v] : 0.0f;
      for (int64_t s = 0; s < len; s++) yq[s] = a * xq[s] + t;
    }
  }
}

void kcpu_modulate_bwd(float *dx, float *dscale, float *dshift, const float *dy, const float *x,
                       const float *scale, int64_t vstride, int64_t B, int64_t C, int64_t S,
                       k_layout layout) {
  /* Vector gradients first: dx may overwrite dy (in place). */
  if (dscale || dshift) {
    int64_t blocks = (C + CHANNEL_BLOCK - 1) / CHANNEL_BLOCK;
#pragma omp parallel for schedule(static) if (B * C * S > PAR_MIN)
    for (int64_t blk = 0; blk < blocks; blk++) {
      int64_t c0 = blk * CHANNEL_BLOCK, width = C - c0 < CHANNEL_BLOCK ? C - c0 : CHANNEL_BLOCK;
      double gs[CHANNEL_BLOCK], gt[CHANNEL_BLOCK];
      for (int64_t b = 0; b < B; b++) {
        channel_sums(dy, x, NULL, gs, gt, b, c0, width, C, S, layout);
        for (int64_t c = 0; c < width; c++) {
          if (dscale) dscale[b * vstride + c0 + c] += (float)gs[c];
          if (dshift) dshift[b * vstride + c0 + c] += (float)gt[c];
        }
      }
    }
  }
  if (dx) kcpu_modulate_fwd(dx, dy, scale, NULL, vstride, B, C, S, layout);
}

void kcpu_residual_mix_fwd(float *y, const float *x, const float *r, const float *c, int64_t vstride,
                           int64_t B, int64_t C, int64_t S, k_layout layout) {
  int64_t rows = layout == K_TOKENS ? B * S : B * C, len = layout == K_TOKENS ? C : S;
#pragma omp parallel for schedule(static) if (B * C * S > PAR_MIN)
  for (int64_t q = 0; q < rows; q++) {
    const float *xq = x + q * len, *rq = r + q * len;
    float *yq = y + q * len;
    if (layout == K_TOKENS) {
      const float *cq = c + q / S * vstride;
      for (int64_t ch = 0; ch < len; ch++)
        yq[ch] = (xq[ch] + cq[ch] * rq[ch]) / sqrtf(1.0f + cq[ch] * cq[ch]);
    } else {
      float cv = c[q / C * vstride + q % C], k = 1.0f / sqrtf(1.0f + cv * cv);
      for (int64_t s = 0; s < len; s++) yq[s] = (xq[s] + cv * rq[s]) * k;
    }
  }
}

/* y = (x + c·r)·k with k = (1 + c²)^(-1/2): dy/dx = k, dy/dr = c·k and
 * dy/dc = r·k - (x + c·r)·c·k³ = k³·(r - c·x). */
void kcpu_residual_mix_bwd(float *dx, float *dr, float *dc, const float *dy, const float *x, const float *r,
                           const float *c, int64_t vstride, int64_t B, int64_t C, int64_t S,
                           k_layout layout) {
  /* dc first: dx or dr may overwrite dy (in place). */
  if (dc) {
    int64_t blocks = (C + CHANNEL_BLOCK - 1) / CHANNEL_BLOCK;
#pragma omp parallel for schedule(static) if (B * C * S > PAR_MIN)
    for (int64_t blk = 0; blk < blocks; blk++) {
      int64_t c0 = blk * CHANNEL_BLOCK, width = C - c0 < CHANNEL_BLOCK ? C - c0 : CHANNEL_BLOCK;
      double gr[CHANNEL_BLOCK], gx[CHANNEL_BLOCK];
      for (int64_t b = 0; b < B; b++) {
        channel_sums(dy, r, x, gr, gx, b, c0, width, C, S, layout);
        for (int64_t ch = 0; ch < width; ch++) {
          double cv = c[b * vstride + c0 + ch], k2 = 1.0 / (1.0 + cv * cv);
          dc[b * vstride + c0 + ch] += (float)(k2 * sqrt(k2) * (gr[ch] - cv * gx[ch]));
        }
      }
    }
  }
  if (!dx && !dr) return;
  int64_t rows = layout == K_TOKENS ? B * S : B * C, len = layout == K_TOKENS ? C : S;
#pragma omp parallel for schedule(static) if (B * C * S > PAR_MIN)
  for (int64_t q = 0; q < rows; q++) {
    const float *g = dy + q * len;
    float *dxq = dx ? dx + q * len : NULL, *drq = dr ? dr + q * len : NULL;
    if (layout == K_TOKENS) {
      const float *cq = c + q / S * vstride;
      for (int64_t j = 0; j < len; j++) {
        float k = 1.0f / sqrtf(1.0f + cq[j] * cq[j]), gj = g[j]; /* read before dx or dr may overwrite it */
        if (dxq) dxq[j] = k * gj;
        if (drq) drq[j] = cq[j] * k * gj;
      }
    } else {
      float cv = c[q / C * vstride + q % C], k = 1.0f / sqrtf(1.0f + cv * cv);
      for (int64_t j = 0; j < len; j++) {
        float gj = g[j];
        if (dxq) dxq[j] = k * gj;
        if (drq) drq[j] = cv * k * gj;
      }
    }
  }
}
