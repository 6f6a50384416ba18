/* The samplers' element-wise updates and the emulators' window layouts
 * (kernels/sampler.h) on the GPU. The updates spell every double operation
 * with its round-to-nearest intrinsic (__dmul_rn, __dadd_rn, ...), which nvcc
 * never fuses into a multiply-add: the GPU evaluates the CPU's expressions
 * operation for operation and gives the same floats. Scalars derived from the
 * schedule (keep, noise, as/at) are computed once on the host, as the CPU
 * twins do. */
#include "../sampler.h"
#include "common.cuh"
#include "kernels_cuda.h"

#define GRID_STRIDE(i, n)                                                   \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); \
       i += (int64_t)gridDim.x * blockDim.x)

enum { THREADS = 256 };

__global__ static void ddim_k(float *x, const float *mean, const float *eps, int64_t n, double at, double as,
                              double keep, double noise) {
  GRID_STRIDE(i, n) {
    double m = mean[i];
    double v = __dadd_rn(__dmul_rn(as, m), __dmul_rn(keep, __dsub_rn((double)x[i], __dmul_rn(at, m))));
    x[i] = (float)__dadd_rn(v, eps ? __dmul_rn(noise, (double)eps[i]) : 0.0);
  }
}

__global__ static void velocity_k(float *z, const float *x, const float *mean, int64_t n, double a,
                                  double s) {
  GRID_STRIDE(i, n) { z[i] = (float)__ddiv_rn(__dsub_rn((double)x[i], __dmul_rn(a, (double)mean[i])), s); }
}

__global__ static void euler_k(float *y, const float *x, const float *z, int64_t n, double ratio, double h) {
  GRID_STRIDE(i, n) { y[i] = (float)__dadd_rn(__dmul_rn(ratio, (double)x[i]), __dmul_rn(h, (double)z[i])); }
}

__global__ static void heun_k(float *y, const float *x, const float *zt, const float *mean, int64_t n,
                              double ratio, double as, double ss, double h) {
  GRID_STRIDE(i, n) {
    double zs = __ddiv_rn(__dsub_rn((double)y[i], __dmul_rn(as, (double)mean[i])), ss);
    double corr = __ddiv_rn(__dmul_rn(h, __dadd_rn((double)zt[i], zs)), 2.0);
    y[i] = (float)__dadd_rn(__dmul_rn(ratio, (double)x[i]), corr);
  }
}

__global__ static void pc_correct_k(float *x, const float *mean, const float *eps, int64_t n, double at,
                                    double delta, double amp) {
  GRID_STRIDE(i, n) {
    double xi = x[i];
    double v = __dadd_rn(xi, __dmul_rn(delta, __dsub_rn(__dmul_rn(at, (double)mean[i]), xi)));
    x[i] = (float)__dadd_rn(v, __dmul_rn(amp, (double)eps[i]));
  }
}

/* The coefficients and the ring offsets, by value. */
struct ab_args {
  double coef[K_SAMPLER_MAX_ORDER];
  int64_t slot[K_SAMPLER_MAX_ORDER];
  int k;
};

__global__ static void ab_k(float *x, const float *history, ab_args a, int64_t n, double ratio, double as) {
  GRID_STRIDE(i, n) {
    double integral = 0;
    for (int j = 0; j < a.k; j++)
      integral = __dadd_rn(integral, __dmul_rn(a.coef[j], (double)history[a.slot[j] + i]));
    x[i] = (float)__dadd_rn(__dmul_rn(ratio, (double)x[i]), __dmul_rn(as, integral));
  }
}

__global__ static void place_k(float *y, float *mask, const float *obs, int64_t total, int64_t C, int64_t L,
                               int64_t P, int64_t observed) {
  GRID_STRIDE(i, total) {
    int64_t r = i / P, p = i % P, b = r / (C * L), c = r / L % C, l = r % L;
    bool seen = l < observed;
    y[i] = seen ? obs[((b * observed + l) * C + c) * P + p] : 0.0f;
    mask[i] = seen ? 1.0f : 0.0f;
  }
}

__global__ static void to_state_major_k(float *out, const float *x, int64_t total, int64_t C, int64_t L,
                                        int64_t P) {
  GRID_STRIDE(i, total) {
    int64_t r = i / P, p = i % P, b = r / (C * L), c = r / L % C, l = r % L;
    out[((b * L + l) * C + c) * P + p] = x[i];
  }
}

extern "C" void kc_sampler_ddim(float *x, const float *mean, const float *eps, int64_t n, double at,
                                double st, double as, double ss, double tau) {
  if (n <= 0) return;
  double keep = ss * sqrt(1 - tau) / st, noise = ss * sqrt(tau);
  ddim_k<<<kc_blocks(n, THREADS), THREADS, 0, kc_stream()>>>(x, mean, eps, n, at, as, keep, noise);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_sampler_velocity(float *z, const float *x, const float *mean, int64_t n, double a,
                                    double s) {
  if (n <= 0) return;
  velocity_k<<<kc_blocks(n, THREADS), THREADS, 0, kc_stream()>>>(z, x, mean, n, a, s);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_sampler_euler(float *y, const float *x, const float *z, int64_t n, double at, double as,
                                 double h) {
  if (n <= 0) return;
  euler_k<<<kc_blocks(n, THREADS), THREADS, 0, kc_stream()>>>(y, x, z, n, as / at, h);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_sampler_heun(float *y, const float *x, const float *zt, const float *mean, int64_t n,
                                double at, double as, double ss, double h) {
  if (n <= 0) return;
  heun_k<<<kc_blocks(n, THREADS), THREADS, 0, kc_stream()>>>(y, x, zt, mean, n, as / at, as, ss, h);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_sampler_pc_correct(float *x, const float *mean, const float *eps, int64_t n, double at,
                                      double delta, double amp) {
  if (n <= 0) return;
  pc_correct_k<<<kc_blocks(n, THREADS), THREADS, 0, kc_stream()>>>(x, mean, eps, n, at, delta, amp);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_sampler_ab(float *x, const float *history, const double *coef, int k, int first, int order,
                              int64_t n, double at, double as) {
  if (k < 1 || k > order || order > K_SAMPLER_MAX_ORDER)
    lola_die(1, "kc_sampler_ab: %d coefficients over a ring of %d (at most %d)", k, order,
             K_SAMPLER_MAX_ORDER);
  if (n <= 0) return;
  ab_args a = {};
  a.k = k;
  for (int j = 0; j < k; j++) {
    a.coef[j] = coef[j];
    a.slot[j] = (int64_t)((first + j) % order) * n;
  }
  ab_k<<<kc_blocks(n, THREADS), THREADS, 0, kc_stream()>>>(x, history, a, n, as / at, as);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_window_place(float *y, float *mask, const float *obs, int64_t batch, int64_t C, int64_t L,
                                int64_t P, int64_t observed) {
  int64_t total = batch * C * L * P;
  if (total <= 0) return;
  place_k<<<kc_blocks(total, THREADS), THREADS, 0, kc_stream()>>>(y, mask, obs, total, C, L, P, observed);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_window_to_state_major(float *out, const float *x, int64_t batch, int64_t C, int64_t L,
                                         int64_t P) {
  int64_t total = batch * C * L * P;
  if (total <= 0) return;
  to_state_major_k<<<kc_blocks(total, THREADS), THREADS, 0, kc_stream()>>>(out, x, total, C, L, P);
  KC_LAUNCH_CHECK();
}
