/* Rotary position embedding (kernels/rope.h). One thread per (token, pair):
 * cos / sin computed once in double (as the CPU) and applied to every sample;
 * sums over the batch and over tokens run in double in a fixed order. */
#include "../rope.h"
#include "column_sums.cuh"
#include "common.cuh"
#include "kernels_cuda.h"

#define GRID_STRIDE(i, n)                                                   \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); \
       i += (int64_t)gridDim.x * blockDim.x)

enum { THREADS = 256, GRID_MAX_DIMS = 6 };

struct grid_shape {
  int dims;
  int64_t shape[GRID_MAX_DIMS];
};

__global__ static void grid_coords_k(float *coo, grid_shape g, int64_t tokens) {
  GRID_STRIDE(l, tokens) {
    int64_t rest = l;
    for (int d = g.dims - 1; d >= 0; d--) {
      coo[l * g.dims + d] = (float)(rest % g.shape[d]);
      rest /= g.shape[d];
    }
  }
}

extern "C" void kc_grid_coords(float *coo, int dims, const int64_t *shape) {
  if (dims < 0 || dims > GRID_MAX_DIMS)
    lola_die(1, "grid coordinates: %d dims (at most %d supported)", dims, (int)GRID_MAX_DIMS);
  grid_shape g = {};
  g.dims = dims;
  int64_t tokens = 1;
  for (int d = 0; d < dims; d++) {
    g.shape[d] = shape[d];
    tokens *= shape[d];
  }
  if (tokens <= 0 || dims == 0) return;
  grid_coords_k<<<kc_blocks(tokens, THREADS), THREADS, 0, kc_stream()>>>(coo, g, tokens);
  KC_LAUNCH_CHECK();
}

__global__ static void angles_fwd_k(float *angles, const float *coo, const float *theta, int64_t tokens,
                                    int64_t ndim, int64_t pairs) {
  GRID_STRIDE(i, tokens * pairs) {
    int64_t l = i / pairs, m = i % pairs;
    double a = 0.0;
    for (int64_t d = 0; d < ndim; d++) a += (double)coo[l * ndim + d] * theta[d * pairs + m];
    angles[i] = (float)a;
  }
}

/* coo[l, d] · dangles[l, m], for dtheta[d, m] += Σ_l (column_sums.cuh: the
 * tokens in fixed chunks, deterministic; a thread per (d, m) over 1280 tokens
 * kept 6 blocks busy). */
struct angle_terms {
  const float *dangles, *coo;
  int64_t ndim, pairs;
  __device__ double2 operator()(int64_t d, int64_t l, int64_t m) const {
    return make_double2((double)coo[l * ndim + d] * dangles[l * pairs + m], 0.0);
  }
};

extern "C" void kc_rope_angles_fwd(float *angles, const float *coo, const float *theta, int64_t tokens,
                                   int64_t ndim, int64_t pairs) {
  if (tokens * pairs <= 0) return;
  angles_fwd_k<<<kc_blocks(tokens * pairs, THREADS), THREADS, 0, kc_stream()>>>(angles, coo, theta, tokens,
                                                                                ndim, pairs);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_rope_angles_bwd(float *dtheta, const float *dangles, const float *coo, int64_t tokens,
                                   int64_t ndim, int64_t pairs) {
  if (!dtheta || ndim * pairs <= 0) return;
  kc_column_sums(dtheta, NULL, pairs, ndim, tokens, pairs, angle_terms{dangles, coo, ndim, pairs});
}

static int64_t pairs_of(int64_t channels) {
  if (channels % 2 != 0) lola_die(1, "rope: %lld channels (an even number is needed)", (long long)channels);
  return channels / 2;
}

/* Pair m of token l in every sample; y may be x (each pair is read before it is written). */
__global__ static void rope_fwd_k(float *y, const float *x, const float *angles, int64_t batch,
                                  int64_t tokens, int64_t pairs) {
  GRID_STRIDE(i, tokens * pairs) {
    int64_t l = i / pairs, m = i % pairs;
    double sd, cd;
    sincos((double)angles[i], &sd, &cd);
    float c = (float)cd, s = (float)sd;
    for (int64_t b = 0; b < batch; b++) {
      int64_t at = ((b * tokens + l) * pairs + m) * 2;
      float re = x[at], im = x[at + 1];
      y[at] = re * c - im * s;
      y[at + 1] = re * s + im * c;
    }
  }
}

/* dx = rotate(dy) by −angle (dx may be dy); dangles[l, m] += Σ_b (dy₁·y₀ − dy₀·y₁), b in order. */
__global__ static void rope_bwd_k(float *dx, float *dangles, const float *dy, const float *y,
                                  const float *angles, int64_t batch, int64_t tokens, int64_t pairs) {
  GRID_STRIDE(i, tokens * pairs) {
    int64_t l = i / pairs, m = i % pairs;
    double sd, cd;
    sincos((double)angles[i], &sd, &cd);
    float c = (float)cd, s = (float)sd;
    double da = 0.0;
    for (int64_t b = 0; b < batch; b++) {
      int64_t at = ((b * tokens + l) * pairs + m) * 2;
      float g0 = dy[at], g1 = dy[at + 1];
      da += (double)g1 * y[at] - (double)g0 * y[at + 1];
      if (dx) {
        dx[at] = g0 * c + g1 * s;
        dx[at + 1] = -g0 * s + g1 * c;
      }
    }
    if (dangles) dangles[i] += (float)da;
  }
}

extern "C" void kc_rope_fwd(float *y, const float *x, const float *angles, int64_t batch, int64_t tokens,
                            int64_t channels) {
  const int64_t pairs = pairs_of(channels);
  if (tokens * pairs <= 0) return;
  rope_fwd_k<<<kc_blocks(tokens * pairs, THREADS), THREADS, 0, kc_stream()>>>(y, x, angles, batch, tokens,
                                                                              pairs);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_rope_bwd(float *dx, float *dangles, const float *dy, const float *y, const float *angles,
                            int64_t batch, int64_t tokens, int64_t channels) {
  const int64_t pairs = pairs_of(channels);
  if (tokens * pairs <= 0 || (!dx && !dangles)) return;
  rope_bwd_k<<<kc_blocks(tokens * pairs, THREADS), THREADS, 0, kc_stream()>>>(dx, dangles, dy, y, angles,
                                                                              batch, tokens, pairs);
  KC_LAUNCH_CHECK();
}
