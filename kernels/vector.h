/* Flat-array operations the models use between the other kernels (zeroing,
 * copies, sums, per-sample scalings, selections), so that the code around the
 * kernels never reads or writes an activation itself: activations may live on
 * a device (kernels/backend.h).
 *
 * Per-sample arrays are (batch, n) row-major; per-sample coefficients are
 * vectors of `batch` floats in the same memory as the arrays. Sums run in
 * double in a fixed order. Outputs may alias inputs where said. */
#ifndef LOLA_K_VECTOR_H
#define LOLA_K_VECTOR_H

#include <stdbool.h>
#include <stdint.h>

/* y[i] = value. */
void k_fill(float *y, float value, int64_t n);
/* y[i] = x[i]; no overlap. */
void k_copy(float *y, const float *x, int64_t n);
/* y[i] += x[i]. */
void k_add(float *y, const float *x, int64_t n);
/* y[i] *= a. */
void k_scal(float *y, float a, int64_t n);
/* y[i] = x[i]·z[i]; y may alias x or z. */
void k_mul(float *y, const float *x, const float *z, int64_t n);
/* y[b, i] = x[b, i] + row[i] (one row broadcast over the batch); y may alias x. */
void k_add_row(float *y, const float *x, const float *row, int64_t batch, int64_t n);
/* y[i] = Σ_b x[b, i] (the gradient of a broadcast row). */
void k_sum_rows(float *y, const float *x, int64_t batch, int64_t n);
/* y[b, i] = a[b]·x[b, i] + c[b]·z[b, i]; z and c may be NULL (then that term
 * is absent); y may alias x or z. */
void k_axpby_rows(float *y, const float *a, const float *x, const float *c, const float *z, int64_t batch,
                  int64_t n);
/* y[b, i] = a[b]·(x[b, i] − z[b, i]) (the gradient of a weighted squared
 * error, the difference taken first); y may alias x or z. */
void k_diff_rows(float *y, const float *a, const float *x, const float *z, int64_t batch, int64_t n);
/* y[i] = mask[i] != 0 ? a[i] : b[i], where a NULL a or b reads as 0; y may
 * alias a or b. */
void k_select(float *y, const float *mask, const float *a, const float *b, int64_t n);
/* Σ_b w[b]·Σ_i (p[b, i] − t[b, i])², summed in double (a weighted squared error). */
double k_weighted_sse(const float *p, const float *t, const float *w, int64_t batch, int64_t n);

enum { K_WINDOW_MAX_DIMS = 3 };
/* The local attention mask of a token grid (row-major, `dims` axes of
 * extents grid[d], host arrays): mask[i·L + j] is true when, on every axis d
 * with window[d] > 0, the periodic distance between tokens i and j is at most
 * window[d] / 2. L = Π grid. */
void k_window_mask(bool *mask, int dims, const int64_t *grid, const int *window);

#endif
