#include "eval_metrics.h"

#include <math.h>
#include <stdlib.h>

#include "error.h"

int64_t eval_scores_workspace(const spectrum_plan *p, int64_t points) {
  return points + 6 * (int64_t)spectrum_bins(p);
}

static void moments(const float *u, const float *v, int members, int64_t points, double *vbar,
                    field_scores *s) {
  double m1 = 0, m2 = 0;
  for (int64_t i = 0; i < points; i++) {
    m1 += u[i];
    m2 += (double)u[i] * u[i];
  }
  m1 /= (double)points;
  m2 /= (double)points;
  double var = 0, se = 0, dev = 0, su = 0, sv = 0;
  for (int64_t i = 0; i < points; i++) {
    double mean = 0;
    for (int m = 0; m < members; m++) mean += v[(int64_t)m * points + i];
    mean /= members;
    vbar[i] = mean;
    for (int m = 0; m < members; m++) dev += pow(v[(int64_t)m * points + i] - mean, 2);
    var += pow(u[i] - m1, 2);
    se += pow(u[i] - mean, 2);
    su += u[i];
    sv += mean;
  }
  var /= (double)(points - 1); /* torch.var: unbiased */
  double mse = se / (double)points;
  s->m1 = m1;
  s->m2 = m2;
  s->spread = members > 1 ? sqrt((members + 1.0) / (members - 1.0) * dev / ((double)points * members)) : NAN;
  s->rmse = sqrt(mse);
  s->nrmse = sqrt(mse / (m2 + 1e-6));
  s->vrmse = sqrt(mse / (var + 1e-6));
  s->invariant = 1 - sv / su;
}

void eval_field_scores(spectrum_plan *plan, const float *u, const float *v, int members, int64_t points,
                       double *work, field_scores *out) {
  int bins = spectrum_bins(plan);
  double *vbar = work, *pu = work + points, *pv = pu + bins, *cuv = pv + bins, *tmp = cuv + bins;
  double *se_p = tmp + bins, *se_c = se_p + bins;
  moments(u, v, members, points, vbar, out);
  spectrum_power(plan, u, pu);
  for (int b = 0; b < bins; b++) pv[b] = cuv[b] = 0;
  for (int m = 0; m < members; m++) {
    const float *vm = v + (int64_t)m * points;
    spectrum_power(plan, vm, tmp);
    for (int b = 0; b < bins; b++) pv[b] += tmp[b] / members;
    spectrum_cross(plan, u, vm, tmp);
    for (int b = 0; b < bins; b++) cuv[b] += tmp[b] / members;
  }
  for (int b = 0; b < bins; b++) {
    se_p[b] = pow(1 - (pv[b] + 1e-6) / (pu[b] + 1e-6), 2);
    se_c[b] = pow(1 - (cuv[b] + 1e-6) / sqrt(pu[b] * pv[b] + 1e-12), 2);
  }
  /* Bands: 2^linspace(log2 k_0, -1, 4); [e_i, e_{i+1}] for i < 3, k >= e_3 for the last. */
  const double *k = spectrum_frequencies(plan);
  double lo = log2(k[0]), edge[4];
  for (int i = 0; i < 4; i++) edge[i] = pow(2.0, lo + (-1.0 - lo) * i / 3.0);
  for (int band = 0; band < 4; band++) {
    double sp = 0, sc = 0;
    int n = 0;
    for (int b = 0; b < bins; b++) {
      int in = band < 3 ? (edge[band] <= k[b] && k[b] <= edge[band + 1]) : (edge[3] <= k[b]);
      if (!in) continue;
      sp += se_p[b];
      sc += se_c[b];
      n++;
    }
    out->spectral[2 * band] = n ? sqrt(sp / n) : NAN; /* torch.mean of nothing is NaN */
    out->spectral[2 * band + 1] = n ? sqrt(sc / n) : NAN;
  }
}
