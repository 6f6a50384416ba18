/* Metrics tables (CSV) that grow one row per epoch and survive crashes: each
 * row is appended and fsynced; a resumed run first drops the rows written after
 * the checkpoint it resumes from, so the table never holds an epoch twice. */
#ifndef LOLA_METRICS_CSV_H
#define LOLA_METRICS_CSV_H

#include <stdint.h>

/* Append `row` (no newline) to `path`, writing `header` first when the file is new. */
void metrics_append(const char *path, const char *header, const char *row);

/* Keep the rows whose first column (an integer) is <= `last`, under `header`
 * (a table written by an older version gains the newer columns' names; its
 * rows keep their fields); rewrite the file atomically. Missing file:
 * nothing to do. */
void metrics_keep_until(const char *path, const char *header, int64_t last);

#endif
