/* Field preprocessing as the reference's lola.data.field_preprocess /
 * field_postprocess: a per-channel transform (log, log_eps, log1p, arcsinh),
 * then (x - mean) / std; the postprocess undoes both in reverse order.
 * States are channel-last: x[point][channel]. Computed in double, stored float. */
#ifndef LOLA_PREPROCESS_H
#define LOLA_PREPROCESS_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
  TRANSFORM_NONE,
  TRANSFORM_LOG,     /* log x,         inverse exp y */
  TRANSFORM_LOG_EPS, /* log(x + 1e-6), inverse exp(y) - 1e-6 */
  TRANSFORM_LOG1P,   /* log1p x,       inverse expm1 y */
  TRANSFORM_ARCSINH, /* asinh x,       inverse sinh y */
} field_transform;

enum { PREPROCESS_MAX_CHANNELS = 64 };

typedef struct {
  int channels;
  field_transform transform[PREPROCESS_MAX_CHANNELS];
  bool normalize; /* apply mean / std (false: transforms only, as the stats stage) */
  double mean[PREPROCESS_MAX_CHANNELS], std[PREPROCESS_MAX_CHANNELS];
} preprocess;

/* "log", "log_eps", "log1p", "arcsinh"; "" or "none" is the identity; -1 otherwise. */
int transform_parse(const char *name);
const char *transform_name(field_transform t);
double transform_forward(field_transform t, double x);
double transform_inverse(field_transform t, double y);

/* x holds `points` states of p->channels channels each, transformed in place. */
void preprocess_apply(const preprocess *p, float *x, size_t points);
void preprocess_invert(const preprocess *p, float *x, size_t points);

#endif
