/* A convolution's shape as the CUDA paths use it: padded to three spatial
 * dims (leading size-1 dims with kernel 1, stride 1, pad 0), validated, with
 * the derived sizes. Shared by the im2col path (conv.cu) and cuDNN's
 * (conv_cudnn.cu). */
#ifndef LOLA_CONV_GEOM_CUH
#define LOLA_CONV_GEOM_CUH

#include <stdbool.h>
#include <stdint.h>

#include "../conv.h"

typedef struct {
  int64_t batch, cin, cout;
  int in[3], out[3], kernel[3], stride[3], pad[3];
  int circular;
  int kvol;
  int64_t ck;     /* Cin·kvol */
  int vin, vout;  /* spatial volumes */
  bool pointwise; /* 1x1x1 kernel, stride 1, no pad: x itself is the column matrix */
} cgeom;

/* Validates s (dying with the CPU's messages) and fills g. */
void kc_conv_geom(cgeom *g, const k_conv_shape *s);

/* y[n][o][p] += b[o] over the whole batch. */
void kc_conv_add_bias(float *y, const float *b, const cgeom *g);

/* cuDNN's path (conv_cudnn.cu). conv_cudnn_takes: whether this shape goes
 * through cuDNN under the current engine setting and precision (the library
 * loads, zero padding, sizes within its 32-bit descriptors, an algorithm in
 * every direction within `budget` floats of scratch).
 * conv_cudnn_workspace_floats: what it needs of the caller's workspace, of
 * which the last `budget` floats (the im2col path's own size, at least a few
 * MiB) are cuDNN's scratch; the rest holds bf16 copies. Sizes depend on the
 * precision: set it (and the engine) before sizing workspaces. */
bool conv_cudnn_takes(const cgeom *g, int64_t budget);
int64_t conv_cudnn_workspace_floats(const cgeom *g, bool backward, int64_t budget);
/* The forward: false when cuDNN refused it (the caller runs im2col). The
 * backward clears *dx and *dw as it computes them; what is left (a refusal)
 * is the caller's to compute the im2col way. */
bool conv_cudnn_fwd(float *y, const float *x, const float *w, const float *b, const cgeom *g, float *work,
                    int64_t budget);
void conv_cudnn_bwd(float **dx, float **dw, const float *dy, const float *x, const float *w, const cgeom *g,
                    float *work, int64_t budget);

#endif
