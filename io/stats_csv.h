/* The evaluation table <run.dir>/eval/stats.csv: the reference's columns, in its
 * order, one row per (trajectory, field, lead time, relative). Several eval jobs
 * may append to one file: each append takes an exclusive lock, writes the header
 * if the file is empty, then its rows, then fsyncs. */
#ifndef LOLA_STATS_CSV_H
#define LOLA_STATS_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../src/eval_metrics.h"

typedef struct {
  const char *run, *target, *method, *settings, *guidance, *split;
  double compression, speed;
  int context, overlap;
  int64_t index, start, seed;
  int labels;
  const float *label;
} stats_row_key;

/* Header line for `labels` label columns (no newline). Caller frees. */
char *stats_csv_header(int labels);
/* One row (no newline) into buf. */
void stats_csv_row(char *buf, size_t n, const stats_row_key *k, int field, int64_t lead, bool relative,
                   const field_scores *s);
/* Append `text` (rows, each ending in a newline) under the lock. */
void stats_csv_append(const char *path, int labels, const char *text);

#endif
