#include "preprocess.h"

#include <math.h>
#include <string.h>

static const double LOG_EPS = 1e-6; /* lola/data.py TRANSFORMS["log_eps"] */

int transform_parse(const char *name) {
  if (!name || !*name || strcmp(name, "none") == 0) return TRANSFORM_NONE;
  if (strcmp(name, "log") == 0) return TRANSFORM_LOG;
  if (strcmp(name, "log_eps") == 0) return TRANSFORM_LOG_EPS;
  if (strcmp(name, "log1p") == 0) return TRANSFORM_LOG1P;
  if (strcmp(name, "arcsinh") == 0) return TRANSFORM_ARCSINH;
  return -1;
}

const char *transform_name(field_transform t) {
  static const char *names[] = {"none", "log", "log_eps", "log1p", "arcsinh"};
  return (unsigned)t < sizeof names / sizeof *names ? names[t] : "?";
}

double transform_forward(field_transform t, double x) {
  switch (t) {
    case TRANSFORM_LOG:
      return log(x);
    case TRANSFORM_LOG_EPS:
      return log(x + LOG_EPS);
    case TRANSFORM_LOG1P:
      return log1p(x);
    case TRANSFORM_ARCSINH:
      return asinh(x);
    default:
      return x;
  }
}

double transform_inverse(field_transform t, double y) {
  switch (t) {
    case TRANSFORM_LOG:
      return exp(y);
    case TRANSFORM_LOG_EPS:
      return exp(y) - LOG_EPS;
    case TRANSFORM_LOG1P:
      return expm1(y);
    case TRANSFORM_ARCSINH:
      return sinh(y);
    default:
      return y;
  }
}

static bool is_identity(const preprocess *p) {
  if (p->normalize) return false;
  for (int c = 0; c < p->channels; c++)
    if (p->transform[c] != TRANSFORM_NONE) return false;
  return true;
}

/* Channel by channel, so the transform is chosen once per channel, not per value. */
void preprocess_apply(const preprocess *p, float *x, size_t points) {
  const int C = p->channels;
  if (is_identity(p)) return;
  for (int c = 0; c < C; c++) {
    const field_transform t = p->transform[c];
    const double mean = p->normalize ? p->mean[c] : 0.0, scale = p->normalize ? 1.0 / p->std[c] : 1.0;
    float *xc = x + c;
#pragma omp parallel for schedule(static) if (points > 65536)
    for (size_t i = 0; i < points; i++) {
      double v = xc[i * (size_t)C];
      switch (t) {
        case TRANSFORM_LOG:
          v = log(v);
          break;
        case TRANSFORM_LOG_EPS:
          v = log(v + LOG_EPS);
          break;
        case TRANSFORM_LOG1P:
          v = log1p(v);
          break;
        case TRANSFORM_ARCSINH:
          v = asinh(v);
          break;
        default:
          break;
      }
      xc[i * (size_t)C] = (float)((v - mean) * scale);
    }
  }
}

void preprocess_invert(const preprocess *p, float *x, size_t points) {
  const int C = p->channels;
  if (is_identity(p)) return;
  for (int c = 0; c < C; c++) {
    const field_transform t = p->transform[c];
    const double mean = p->normalize ? p->mean[c] : 0.0, std = p->normalize ? p->std[c] : 1.0;
    float *xc = x + c;
#pragma omp parallel for schedule(static) if (points > 65536)
    for (size_t i = 0; i < points; i++)
      xc[i * (size_t)C] = (float)transform_inverse(t, xc[i * (size_t)C] * std + mean);
  }
}
