/* Convolution geometry shared by the CPU convolution files: the shape padded
 * to three spatial dims (leading size-1 dims with kernel 1, stride 1, pad 0),
 * and im2col / col2im over a tile of output rows. Private to kernels/cpu.
 *
 * A "row" is one line of the innermost output dim; output row r has outer
 * coordinates (r / out[1], r % out[1]). A column tile for rows [r0, r1) is a
 * (Cin·kvol, (r1 - r0)·out[2]) matrix whose row k = (ci, t0, t1, t2) holds the
 * input value each output position sees through kernel tap t, exactly the
 * flattening of a torch weight (Cout, Cin, k0, k1, k2). */
#ifndef LOLA_K_CONV_GEOM_H
#define LOLA_K_CONV_GEOM_H

#include <stdbool.h>
#include <stdint.h>

#include "../conv.h"

typedef struct {
  int64_t batch, cin, cout;
  int64_t in[3], out[3];
  int kernel[3], stride[3], pad[3];
  bool circular;
  int64_t kvol, ck;  /* kernel volume, Cin·kvol */
  int64_t vin, vout; /* spatial volumes */
  int64_t rows, wo;  /* output rows and their length */
  bool pointwise;    /* 1x1x1 kernel, stride 1, no pad: x itself is the column matrix */
} conv_geom;

/* Validates s (dies naming the bad field) and fills g. */
void conv_geom_init(conv_geom *g, const k_conv_shape *s);

/* Output rows per tile so a column tile stays near the cache budget. */
int64_t conv_geom_tile_rows(const conv_geom *g);

/* col[ck, (r1-r0)·wo] ← patches of one sample x[cin, vin] for output rows [r0, r1). */
void conv_im2col(float *col, const float *x, const conv_geom *g, int64_t r0, int64_t r1);

/* dx[cin, vin] += the patches in col scattered back (the adjoint of conv_im2col). */
void conv_col2im(float *dx, const float *col, const conv_geom *g, int64_t r0, int64_t r1);

#endif
