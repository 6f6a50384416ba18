/* torch.nn.Linear as a module: weight (out, in) and an optional bias (out),
 * registered as "<prefix>.weight" / "<prefix>.bias", initialised as torch
 * does (kaiming_uniform with a = sqrt(5): both bounds 1/sqrt(in)). The input
 * is `rows` rows of `in` floats (tokens (B, N, C) flatten to B·N rows). */
#ifndef LOLA_NN_LINEAR_H
#define LOLA_NN_LINEAR_H

#include <stdbool.h>
#include <stdint.h>

#include "../../kernels/rng.h"
#include "../tensor.h"

typedef struct {
  int64_t in, out;
  int weight, bias; /* registry indices; bias -1 when there is none */
} linear;

void linear_declare(linear *m, param_registry *r, const char *prefix, int64_t in, int64_t out, bool bias);
/* torch's reset_parameters: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias. */
void linear_init(const linear *m, param_registry *r, rng_key key);
/* y[rows, out] = x·Wᵀ + b. Saves nothing: backward takes the same x. */
void linear_forward(const linear *m, const param_registry *r, float *y, const float *x, int64_t rows);
/* dx (overwritten, may be NULL) and dW, db (accumulated) from dy and the forward's x. */
void linear_backward(const linear *m, param_registry *r, float *dx, const float *dy, const float *x,
                     int64_t rows);

/* Helpers shared by the modules' initialisers: U(-bound, bound) and N(0, std²)
 * into parameter `index`, from the stream (key, index) so that each parameter
 * draws its own numbers. */
void param_fill_uniform(param_registry *r, int index, rng_key key, float bound);
void param_fill_normal(param_registry *r, int index, rng_key key, float std);
void param_scale(param_registry *r, int index, float factor);

#endif
