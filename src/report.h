/* `lola report RUN_DIR`: the paper's VRMSE table from <RUN_DIR>/eval/stats.csv —
 * for each method (method and sampler settings), the mean VRMSE against the
 * truth (relative = False) over fields and trajectories, in lead-time bins
 * 1-20, 21-60 and 61 to the end. */
#ifndef LOLA_REPORT_H
#define LOLA_REPORT_H

#include <stdio.h>

/* Prints the table to `out`; returns the number of methods found. Dies (data)
 * when the file is missing or lacks a column. */
int report_vrmse(const char *stats_csv, FILE *out);

#endif
