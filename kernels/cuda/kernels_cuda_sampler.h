/* The CUDA twins of the samplers' element-wise updates and the emulators'
 * window layouts (kernels/sampler.h, kernels/cuda/sampler.cu): kc_<op> has
 * exactly the signature and semantics of k_<op>, with every array pointer in
 * device memory; `coef` is a host array (copied by value into the kernel).
 * Included by kernels_cuda.h. */
#ifndef LOLA_KERNELS_CUDA_SAMPLER_H
#define LOLA_KERNELS_CUDA_SAMPLER_H

#include <stdint.h>

#include "../sampler.h"

#ifdef __cplusplus
extern "C" {
#endif

void kc_sampler_ddim(float *x, const float *mean, const float *eps, int64_t n, double at, double st,
                     double as, double ss, double tau);
void kc_sampler_velocity(float *z, const float *x, const float *mean, int64_t n, double a, double s);
void kc_sampler_euler(float *y, const float *x, const float *z, int64_t n, double at, double as, double h);
void kc_sampler_heun(float *y, const float *x, const float *zt, const float *mean, int64_t n, double at,
                     double as, double ss, double h);
void kc_sampler_pc_correct(float *x, const float *mean, const float *eps, int64_t n, double at, double delta,
                           double amp);
void kc_sampler_ab(float *x, const float *history, const double *coef, int k, int first, int order, int64_t n,
                   double at, double as);
void kc_window_place(float *y, float *mask, const float *obs, int64_t batch, int64_t C, int64_t L, int64_t P,
                     int64_t observed);
void kc_window_to_state_major(float *out, const float *x, int64_t batch, int64_t C, int64_t L, int64_t P);

#ifdef __cplusplus
}
#endif

#endif
