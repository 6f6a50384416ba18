#include "spectrum.h"

#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

struct spectrum_plan {
  int bins;
  int64_t points;
  int *bin_of;    /* shell of each frequency; 0 holds |k| = 0 */
  int64_t *count; /* frequencies per shell */
  double *edges;  /* bins + 1 */
  double *sum;    /* scratch, bins + 1 */
  fftwf_complex *in, *fx, *fy;
  fftwf_plan plan_x, plan_y;
};

static double fftfreq(int64_t i, int64_t n) { return (double)(i <= (n - 1) / 2 ? i : i - n) / (double)n; }

spectrum_plan *spectrum_plan_create(int ndim, const int64_t *shape) {
  if (ndim < 1 || ndim > 3) lola_die(LOLA_EXIT_RUNTIME, "spectrum: %d spatial dims (1 to 3 supported)", ndim);
  spectrum_plan *p = lola_calloc(1, sizeof *p, "spectrum plan");
  int64_t n[3] = {1, 1, 1}, smallest = shape[0];
  p->points = 1;
  for (int d = 0; d < ndim; d++) {
    n[3 - ndim + d] = shape[d];
    p->points *= shape[d];
    if (shape[d] < smallest) smallest = shape[d];
  }
  p->bins = (int)floor(sqrt((double)ndim) * (double)smallest / 2);
  if (p->bins < 1) p->bins = 1;
  double *k = lola_malloc(sizeof(double) * (size_t)p->points, "spectrum |k|"), kmax = 0;
  for (int64_t i = 0; i < n[0]; i++)
    for (int64_t j = 0; j < n[1]; j++)
      for (int64_t l = 0; l < n[2]; l++) {
        double a = fftfreq(i, n[0]), b = fftfreq(j, n[1]), c = fftfreq(l, n[2]);
        double v = sqrt(a * a + b * b + c * c);
        k[(i * n[1] + j) * n[2] + l] = v;
        if (v > kmax) kmax = v;
      }
  p->edges = lola_malloc(sizeof(double) * (size_t)(p->bins + 1), "spectrum edges");
  for (int b = 0; b <= p->bins; b++) p->edges[b] = kmax * (double)b / (double)p->bins; /* torch.linspace */
  p->bin_of = lola_malloc(sizeof(int) * (size_t)p->points, "spectrum bins");
  p->count = lola_calloc((size_t)p->bins + 1, sizeof(int64_t), "spectrum counts");
  p->sum = lola_calloc((size_t)p->bins + 1, sizeof(double), "spectrum sums");
  for (int64_t i = 0; i < p->points; i++) {
    int b = 0; /* torch.bucketize(right=False): the first edge >= |k| */
    while (b < p->bins && p->edges[b] < k[i]) b++;
    p->bin_of[i] = b;
    p->count[b]++;
  }
  free(k);
  int dims[3];
  for (int d = 0; d < ndim; d++) dims[d] = (int)shape[d];
  p->in = fftwf_alloc_complex((size_t)p->points);
  p->fx = fftwf_alloc_complex((size_t)p->points);
  p->fy = fftwf_alloc_complex((size_t)p->points);
  p->plan_x = fftwf_plan_dft(ndim, dims, p->in, p->fx, FFTW_FORWARD, FFTW_ESTIMATE);
  p->plan_y = fftwf_plan_dft(ndim, dims, p->in, p->fy, FFTW_FORWARD, FFTW_ESTIMATE);
  return p;
}

void spectrum_plan_free(spectrum_plan *p) {
  if (!p) return;
  fftwf_destroy_plan(p->plan_x);
  fftwf_destroy_plan(p->plan_y);
  fftwf_free(p->in);
  fftwf_free(p->fx);
  fftwf_free(p->fy);
  free(p->bin_of);
  free(p->count);
  free(p->edges);
  free(p->sum);
  free(p);
}

int spectrum_bins(const spectrum_plan *p) { return p->bins; }
const double *spectrum_frequencies(const spectrum_plan *p) { return p->edges + 1; }

static void transform(spectrum_plan *p, const float *x, fftwf_plan plan) {
  for (int64_t i = 0; i < p->points; i++) {
    p->in[i][0] = x[i];
    p->in[i][1] = 0.0f;
  }
  fftwf_execute(plan);
}

/* Shell means of v[i] (one value per frequency), bins 1.. into out[0..bins). */
static void shell_means(spectrum_plan *p, double *out) {
  for (int b = 0; b < p->bins; b++) out[b] = p->sum[b + 1] / (double)(p->count[b + 1] ? p->count[b + 1] : 1);
}

void spectrum_power(spectrum_plan *p, const float *x, double *power) {
  transform(p, x, p->plan_x);
  memset(p->sum, 0, sizeof(double) * (size_t)(p->bins + 1));
  double norm = 1.0 / (double)p->points; /* "ortho": |X|² / N */
  for (int64_t i = 0; i < p->points; i++) {
    double re = p->fx[i][0], im = p->fx[i][1];
    p->sum[p->bin_of[i]] += (re * re + im * im) * norm;
  }
  shell_means(p, power);
}

void spectrum_cross(spectrum_plan *p, const float *x, const float *y, double *cross) {
  transform(p, x, p->plan_x);
  transform(p, y, p->plan_y);
  memset(p->sum, 0, sizeof(double) * (size_t)(p->bins + 1));
  double norm = 1.0 / (double)p->points;
  for (int64_t i = 0; i < p->points; i++) {
    double a = p->fx[i][0], b = p->fx[i][1], c = p->fy[i][0], d = p->fy[i][1];
    double re = a * c + b * d, im = b * c - a * d; /* X · conj(Y) */
    p->sum[p->bin_of[i]] += sqrt(re * re + im * im) * norm;
  }
  shell_means(p, cross);
}
