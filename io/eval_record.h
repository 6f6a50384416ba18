/* Raw evaluation trajectories: <run.dir>/eval/<method>_<index>.h5 with
 *   truth    (C, L, *grid)     the trajectory, physical units
 *   members  (M, C, L, *grid)  the first M ensemble members, physical units
 * float32, and attributes method, index, start, stride, context, fields.
 * Written by one process, under a temporary name renamed into place. */
#ifndef LOLA_EVAL_RECORD_H
#define LOLA_EVAL_RECORD_H

#include <stdint.h>

typedef struct {
  const char *method;
  long index, start;
  int stride, context;
  int C, ndims, members;
  long L;
  int64_t shape[3];
  const char *const *fields; /* C names */
} eval_record_layout;

void eval_record_write(const char *path, const eval_record_layout *lay, const float *truth,
                       const float *members);

#endif
