/* The reference's SineEncoding (lola/nn/embedding.py): for D features,
 * F = D/2 frequencies f_i = ω^(-i/(F-1)) (numpy linspace(0, 1, F), ω = 1e3
 * by default, computed in double and stored as the module's float32 `freqs`
 * buffer, which is part of its state_dict), and
 *
 *   e(x) = [sin(x·f_0) … sin(x·f_{F-1}), cos(x·f_0) … cos(x·f_{F-1})]
 *
 * (the sines first, then the cosines, as torch.cat). x is an activation:
 * dx is overwritten. */
#ifndef LOLA_K_EMBEDDING_H
#define LOLA_K_EMBEDDING_H

#include <stdint.h>

#define K_SINE_OMEGA 1e3

/* freqs[F]; features must be even. */
void k_sine_freqs(float *freqs, int64_t features, double omega);
/* y[n, D] from positions x[n]. */
void k_sine_encoding_fwd(float *y, const float *x, const float *freqs, int64_t n, int64_t features);
void k_sine_encoding_bwd(float *dx, const float *dy, const float *x, const float *freqs, int64_t n,
                         int64_t features);

#endif
