/* Elementwise ops and the per-channel modulations of kernels/elementwise.h. */
#include "column_sums.cuh"
#include "common.cuh"
#include "kernels_cuda.h"

#define GRID_STRIDE(i, n)                                                   \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); \
       i += (int64_t)gridDim.x * blockDim.x)

__global__ static void silu_fwd(float *y, const float *x, int64_t n) {
  GRID_STRIDE(i, n) { y[i] = x[i] / (1.0f + expf(-x[i])); }
}
__global__ static void silu_bwd(float *dx, const float *dy, const float *x, int64_t n) {
  GRID_STRIDE(i, n) {
    float s = 1.0f / (1.0f + expf(-x[i]));
    dx[i] = dy[i] * s * (1.0f + x[i] * (1.0f - s));
  }
}

extern "C" void kc_silu_fwd(float *y, const float *x, int64_t n) {
  silu_fwd<<<kc_blocks(n, 256), 256, 0, kc_stream()>>>(y, x, n);
  KC_LAUNCH_CHECK();
}
extern "C" void kc_silu_bwd(float *dx, const float *dy, const float *x, int64_t n) {
  silu_bwd<<<kc_blocks(n, 256), 256, 0, kc_stream()>>>(dx, dy, x, n);
  KC_LAUNCH_CHECK();
}

__device__ static float saturate(float v, int kind) {
  switch (kind) {
    case K_SAT_SOFTCLIP:
      return v / (1.0f + fabsf(v) / 5.0f);
    case K_SAT_SOFTCLIP2:
      return v * rsqrtf(1.0f + (v / 5.0f) * (v / 5.0f));
    case K_SAT_TANH:
      return 5.0f * tanhf(v / 5.0f);
    case K_SAT_ARCSINH:
      return asinhf(v);
    default:
      return v;
  }
}
__device__ static float saturate_slope(float v, int kind) {
  switch (kind) {
    case K_SAT_SOFTCLIP: {
      float a = 1.0f + fabsf(v) / 5.0f;
      return 1.0f / (a * a);
    }
    case K_SAT_SOFTCLIP2: {
      float q = rsqrtf(1.0f + (v / 5.0f) * (v / 5.0f));
      return q * q * q;
    }
    case K_SAT_TANH: {
      float t = tanhf(v / 5.0f);
      return 1.0f - t * t;
    }
    case K_SAT_ARCSINH:
      return rsqrtf(1.0f + v * v);
    default:
      return 1.0f;
  }
}
__global__ static void sat_fwd(float *y, const float *x, int64_t n, int kind) {
  GRID_STRIDE(i, n) { y[i] = saturate(x[i], kind); }
}
__global__ static void sat_bwd(float *dx, const float *dy, const float *x, int64_t n, int kind) {
  GRID_STRIDE(i, n) { dx[i] = dy[i] * saturate_slope(x[i], kind); }
}
extern "C" void kc_saturate_fwd(float *y, const float *x, int64_t n, k_saturation kind) {
  sat_fwd<<<kc_blocks(n, 256), 256, 0, kc_stream()>>>(y, x, n, (int)kind);
  KC_LAUNCH_CHECK();
}
extern "C" void kc_saturate_bwd(float *dx, const float *dy, const float *x, int64_t n, k_saturation kind) {
  sat_bwd<<<kc_blocks(n, 256), 256, 0, kc_stream()>>>(dx, dy, x, n, (int)kind);
  KC_LAUNCH_CHECK();
}

/* Index of (b, c, s) in either layout. */
__device__ static int64_t at(int64_t b, int64_t c, int64_t s, int64_t C, int64_t S, int layout) {
  return layout == K_TOKENS ? (b * S + s) * C + c : (b * C + c) * S + s;
}

__global__ static void modulate_fwd(float *y, const float *x, const float *scale, const float *shift,
                                    int64_t vstride, int64_t B, int64_t C, int64_t S, int layout) {
  GRID_STRIDE(i, B * C * S) {
    int64_t c = layout == K_TOKENS ? i % C : (i / S) % C, b = i / (C * S);
    int64_t v = b * vstride + c;
    y[i] = (scale ? 1.0f + scale[v] : 1.0f) * x[i] + (shift ? shift[v] : 0.0f);
  }
}

__global__ static void modulate_dx(float *dx, const float *dy, const float *scale, int64_t vstride, int64_t B,
                                   int64_t C, int64_t S, int layout) {
  GRID_STRIDE(i, B * C * S) {
    int64_t c = layout == K_TOKENS ? i % C : (i / S) % C, b = i / (C * S);
    dx[i] = (scale ? 1.0f + scale[b * vstride + c] : 1.0f) * dy[i];
  }
}

/* One thread per modulation entry (b, c) (per c when vstride is 0): its sums
 * over positions (and samples) in a fixed order, so results are deterministic. */
__global__ static void modulate_dvec(float *dscale, float *dshift, const float *dy, const float *x,
                                     int64_t vstride, int64_t B, int64_t C, int64_t S, int layout) {
  int64_t nb = vstride ? B : 1;
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < nb * C;
       t += (int64_t)gridDim.x * blockDim.x) {
    int64_t c = t % C, b0 = t / C;
    double gs = 0, gt = 0;
    for (int64_t b = vstride ? b0 : 0; b < (vstride ? b0 + 1 : B); b++)
      for (int64_t s = 0; s < S; s++) {
        int64_t i = at(b, c, s, C, S, layout);
        gs += (double)dy[i] * x[i];
        gt += dy[i];
      }
    if (dscale) dscale[b0 * vstride + c] += (float)gs;
    if (dshift) dshift[b0 * vstride + c] += (float)gt;
  }
}

/* Token layout: (dy·x, dy) at row r of group g (a sample, or all of them
 * when the vectors are shared), for the column sums. */
struct modulate_terms {
  const float *dy, *x;
  int64_t rows, C;
  __device__ double2 operator()(int64_t g, int64_t r, int64_t c) const {
    int64_t i = (g * rows + r) * C + c;
    return make_double2((double)dy[i] * x[i], dy[i]);
  }
};

extern "C" void kc_modulate_fwd(float *y, const float *x, const float *scale, const float *shift,
                                int64_t vstride, int64_t B, int64_t C, int64_t S, k_layout layout) {
  modulate_fwd<<<kc_blocks(B * C * S, 256), 256, 0, kc_stream()>>>(y, x, scale, shift, vstride, B, C, S,
                                                                   (int)layout);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_modulate_bwd(float *dx, float *dscale, float *dshift, const float *dy, const float *x,
                                const float *scale, int64_t vstride, int64_t B, int64_t C, int64_t S,
                                k_layout layout) {
  /* Vector gradients first: dx may overwrite dy (in place); the stream orders the two. */
  if ((dscale || dshift) && layout == K_TOKENS) { /* sums down the channels' columns */
    int64_t groups = vstride ? B : 1, rows = vstride ? S : B * S;
    kc_column_sums(dscale, dshift, vstride, groups, rows, C, modulate_terms{dy, x, rows, C});
  } else if (dscale || dshift) {
    int64_t n = (vstride ? B : 1) * C;
    modulate_dvec<<<kc_blocks(n, 128), 128, 0, kc_stream()>>>(dscale, dshift, dy, x, vstride, B, C, S,
                                                              (int)layout);
    KC_LAUNCH_CHECK();
  }
  if (dx) {
    modulate_dx<<<kc_blocks(B * C * S, 256), 256, 0, kc_stream()>>>(dx, dy, scale, vstride, B, C, S,
                                                                    (int)layout);
    KC_LAUNCH_CHECK();
  }
}

__global__ static void mix_fwd(float *y, const float *x, const float *r, const float *cvec, int64_t vstride,
                               int64_t B, int64_t C, int64_t S, int layout) {
  GRID_STRIDE(i, B * C * S) {
    int64_t c = layout == K_TOKENS ? i % C : (i / S) % C, b = i / (C * S);
    float cv = cvec[b * vstride + c];
    y[i] = (x[i] + cv * r[i]) * rsqrtf(1.0f + cv * cv);
  }
}

__global__ static void mix_dxr(float *dx, float *dr, const float *dy, const float *cvec, int64_t vstride,
                               int64_t B, int64_t C, int64_t S, int layout) {
  GRID_STRIDE(i, B * C * S) {
    int64_t c = layout == K_TOKENS ? i % C : (i / S) % C, b = i / (C * S);
    float cv = cvec[b * vstride + c], k = rsqrtf(1.0f + cv * cv),
          g = dy[i]; /* before dx or dr may overwrite it */
    if (dx) dx[i] = k * g;
    if (dr) dr[i] = cv * k * g;
  }
}

__global__ static void mix_dc(float *dc, const float *dy, const float *x, const float *r, const float *cvec,
                              int64_t vstride, int64_t B, int64_t C, int64_t S, int layout) {
  int64_t nb = vstride ? B : 1;
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < nb * C;
       t += (int64_t)gridDim.x * blockDim.x) {
    int64_t c = t % C, b0 = t / C;
    double g = 0;
    for (int64_t b = vstride ? b0 : 0; b < (vstride ? b0 + 1 : B); b++) {
      double cv = cvec[b * vstride + c], k = 1.0 / sqrt(1.0 + cv * cv);
      for (int64_t s = 0; s < S; s++) {
        int64_t i = at(b, c, s, C, S, layout);
        g += dy[i] * (r[i] * k - (x[i] + cv * r[i]) * cv * k * k * k);
      }
    }
    dc[b0 * vstride + c] += (float)g;
  }
}

/* Token layout: the dc term at row r of group g, for the column sums. */
struct mix_terms {
  const float *dy, *x, *r, *cvec;
  int64_t vstride, rows, C, S;
  __device__ double2 operator()(int64_t g, int64_t row, int64_t c) const {
    int64_t b = vstride ? g : row / S, i = (g * rows + row) * C + c;
    double cv = cvec[b * vstride + c], k = 1.0 / sqrt(1.0 + cv * cv);
    return make_double2(dy[i] * (r[i] * k - (x[i] + cv * r[i]) * cv * k * k * k), 0.0);
  }
};

extern "C" void kc_residual_mix_fwd(float *y, const float *x, const float *r, const float *c, int64_t vstride,
                                    int64_t B, int64_t C, int64_t S, k_layout layout) {
  mix_fwd<<<kc_blocks(B * C * S, 256), 256, 0, kc_stream()>>>(y, x, r, c, vstride, B, C, S, (int)layout);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_residual_mix_bwd(float *dx, float *dr, float *dc, const float *dy, const float *x,
                                    const float *r, const float *c, int64_t vstride, int64_t B, int64_t C,
                                    int64_t S, k_layout layout) {
  /* dc first: dx or dr may overwrite dy (in place); the stream orders the two. */
  if (dc && layout == K_TOKENS) { /* sums down the channels' columns */
    int64_t groups = vstride ? B : 1, rows = vstride ? S : B * S;
    kc_column_sums(dc, NULL, vstride, groups, rows, C, mix_terms{dy, x, r, c, vstride, rows, C, S});
  } else if (dc) {
    int64_t n = (vstride ? B : 1) * C;
    mix_dc<<<kc_blocks(n, 128), 128, 0, kc_stream()>>>(dc, dy, x, r, c, vstride, B, C, S, (int)layout);
    KC_LAUNCH_CHECK();
  }
  if (dx || dr) {
    mix_dxr<<<kc_blocks(B * C * S, 256), 256, 0, kc_stream()>>>(dx, dr, dy, c, vstride, B, C, S, (int)layout);
    KC_LAUNCH_CHECK();
  }
}
