#include "eval_score.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

enum { ROW_BYTES = 4096 };

char *eval_score_rows(const eval_score_layout *lay, const stats_row_key *key, const float *truth,
                      const float *recon, const float *members) {
  int64_t points = 1;
  for (int k = 0; k < lay->ndims; k++) points *= lay->shape[k];
  const int M = lay->members;
  const long L = lay->L;
  spectrum_plan *plan = spectrum_plan_create(lay->ndims, lay->shape);
  double *work = lola_malloc(sizeof(double) * (size_t)eval_scores_workspace(plan, points), "eval scores");
  float *v = lola_malloc(sizeof(float) * (size_t)(M * points), "eval members of a state");
  const long rows = (long)lay->C * (L - lay->context + 1) * 2;
  char *text = lola_malloc((size_t)rows * ROW_BYTES + 1, "eval rows");
  size_t used = 0;
  text[0] = 0;
  for (int c = 0; c < lay->C; c++)
    for (long t = lay->context - 1; t < L; t++) {
      for (int m = 0; m < M; m++)
        memcpy(v + m * points, members + (((int64_t)m * lay->C + c) * L + t) * points,
               sizeof(float) * (size_t)points);
      for (int relative = 0; relative < 2; relative++) {
        const float *u = (relative ? recon : truth) + ((int64_t)c * L + t) * points;
        field_scores s;
        eval_field_scores(plan, u, v, M, points, work, &s);
        stats_csv_row(text + used, ROW_BYTES - 1, key, c, (int64_t)(t - lay->context + 1) * lay->stride,
                      relative, &s);
        used += strlen(text + used);
        text[used++] = '\n';
        text[used] = 0;
      }
    }
  free(v);
  free(work);
  spectrum_plan_free(plan);
  return text;
}
