/* The CSV rows of one evaluated trajectory, as experiments/eval.py writes
 * them: for every field, every lead state t = context-1 .. L-1 and relative in
 * (False, True), the scores of src/eval_metrics.h of the members against the
 * truth (relative = False) or against the autoencoder's reconstruction
 * (relative = True); lead time (t - context + 1) · stride. */
#ifndef LOLA_EVAL_SCORE_H
#define LOLA_EVAL_SCORE_H

#include <stdint.h>

#include "../io/stats_csv.h"

typedef struct {
  int C, ndims, members, context, stride;
  long L;
  int64_t shape[3];
} eval_score_layout;

/* truth, reconstruction (C, L, *shape); members (M, C, L, *shape), physical
 * units. Returns the rows (each ending in a newline), caller frees. */
char *eval_score_rows(const eval_score_layout *lay, const stats_row_key *key, const float *truth,
                      const float *recon, const float *members);

#endif
