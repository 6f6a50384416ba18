/* Isotropic power spectra and cross-correlations of fields, as the reference's
 * lola/fourier.py: |FFT|² with the orthonormal scaling, averaged over shells of
 * equal |k| (k in cycles per pixel, numpy's fftfreq per axis). The shells are
 * floor(sqrt(N)·min(shape)/2) equal bins from 0 to max |k|; bin b holds the
 * frequencies edges[b] < |k| <= edges[b+1] (torch.bucketize), and |k| = 0 is
 * left out. */
#ifndef LOLA_SPECTRUM_H
#define LOLA_SPECTRUM_H

#include <stdint.h>

typedef struct spectrum_plan spectrum_plan;

/* ndim (1 to 3) spatial axes of the given shape. */
spectrum_plan *spectrum_plan_create(int ndim, const int64_t *shape);
void spectrum_plan_free(spectrum_plan *p);

int spectrum_bins(const spectrum_plan *p);
/* The upper edge of each bin (the reference's returned frequencies). */
const double *spectrum_frequencies(const spectrum_plan *p);

/* power[b] for field x (product of shape points). */
void spectrum_power(spectrum_plan *p, const float *x, double *power);
/* cross[b] = shell mean of |X · conj(Y)|. */
void spectrum_cross(spectrum_plan *p, const float *x, const float *y, double *cross);

#endif
