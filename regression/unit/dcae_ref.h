/* A plain double-precision DCAE, written independently of the kernels as loop
 * nests, for checking the float modules' forwards and (by central finite
 * differences, regression/unit/gradcheck.h) their backwards.
 *
 * Parameters are read from `pv`, a double copy of the registry's values (same
 * offsets), through the modules' registry indices. */
#ifndef LOLA_TEST_DCAE_REF_H
#define LOLA_TEST_DCAE_REF_H

#include "../../src/dcae.h"
#include "../../src/nn/resblock.h"

/* A double copy of every parameter value (caller frees). */
double *dref_param_copy(const param_registry *r);
const double *dref_param(const param_registry *r, const double *pv, int index);

/* torch.nn.ConvNd, padding kernel/2 (zeros or circular), any stride. */
void dref_conv(double *y, const double *x, const double *w, const double *b, int64_t batch,
               const conv_module_config *c, const dcae_grid *in);
void dref_conv_module(double *y, const double *x, const conv_module *m, const param_registry *r,
                      const double *pv, int64_t batch, const dcae_grid *in);
/* Over channels, variance divided by C - 1 (torch.var_mean), eps 1e-5. */
void dref_layernorm_channels(double *y, const double *x, int64_t batch, int64_t channels, int64_t positions);
void dref_groupnorm(double *y, const double *x, int64_t batch, int64_t channels, int64_t groups,
                    int64_t positions);
/* torch.nn.MultiheadAttention on the positions of (B, C, N). */
void dref_attention(double *y, const double *x, const self_attention_nd *m, const param_registry *r,
                    const double *pv, int64_t batch, int64_t tokens);
/* The ResBlock; dropout as torch's in training (mask from the documented
 * counter-based draws) when p->train. */
void dref_resblock(double *y, const double *x, const resblock *m, const param_registry *r, const double *pv,
                   const dcae_pass *p, int64_t batch, const dcae_grid *g);

/* einops "B C (L l) (H h) (W w) -> B (C l h w) L H W" and its inverse; `in` full resolution. */
void dref_patchify(double *y, const double *x, int64_t batch, int64_t channels, const dcae_grid *in,
                   const int *patch);
void dref_unpatchify(double *y, const double *x, int64_t batch, int64_t channels, const dcae_grid *in,
                     const int *patch);

#endif

/* ---- gradient checks of a float module against a double reference ---- */

/* y = module(x) in double with parameters pv. */
typedef void (*dref_forward_fn)(double *y, const double *x, const double *pv, void *ctx);

typedef struct {
  double y_err;     /* forward: float output against the double reference */
  double x_err;     /* input gradient against central differences */
  double param_err; /* parameter gradients (r->grads) against central differences */
} dref_report;

/* Errors are max |a - b| / (1e-3·|b| + 1e-4·max|b|) over each array (<= 1
 * passes). The objective is Σ dy·y; the parameter gradient is checked on every
 * `param_stride`-th element of each parameter (1: all); dx NULL skips the input. */
dref_report dref_gradcheck(dref_forward_fn f, void *ctx, const float *x, int64_t nx, const float *y,
                           int64_t ny, const float *dy, const float *dx, const param_registry *r,
                           int64_t param_stride);

/* Every parameter value uniform in [-scale, scale) (deterministic). */
void dref_fill_params(param_registry *r, double scale, unsigned seed);

/* A DCAE encoder or decoder in double, layer by layer; returns the output
 * channels and sets *out to the output grid. y must hold the output. */
int64_t dref_dcae(double *y, const double *x, const dcae_stack *m, const param_registry *r, const double *pv,
                  const dcae_pass *p, int64_t batch, const dcae_grid *in, dcae_grid *out);
