/* Device-side timing (CUDA events on the kernels' stream) and the bf16 GEMM peak. */
#ifndef LOLA_CUDA_TIMING_H
#define LOLA_CUDA_TIMING_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void kc_timer_start(void);
double kc_timer_stop_ms(void);
double kc_bf16_gemm_tflops(int64_t n, int reps);
/* bf16 products of m×k by k×n, operands stored in bf16 or in fp32 (FAST_16BF). */
double kc_gemm_storage_tflops(int64_t m, int64_t n, int64_t k, bool bf16_storage, int reps);

#ifdef __cplusplus
}
#endif

#endif
