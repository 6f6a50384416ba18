/* `lola inspect`: validate Well files against the layout and summarise them
 * (fields and their kinds, shapes, trajectories, steps, time step, boundary
 * conditions, scalars). */
#ifndef LOLA_WELL_INSPECT_H
#define LOLA_WELL_INSPECT_H

#include <stdio.h>

/* The HDF5 files at `path`: the file itself, or every *.hdf5 / *.h5 below a
 * folder (recursively, sorted). Dies (data) when there are none. Free with
 * h5_free_strings. */
int well_inspect_collect(const char *path, char ***files);

/* Open (this process only), validate and summarise one file to `out`. Returns
 * its number of trajectories. Layout errors die with exit code 3. */
long well_inspect_file(const char *path, FILE *out);

/* Collective. Validate every file under `path` and return the summary text
 * (caller frees); the `inspect` stage and `lola inspect PATH` print it. */
char *well_inspect_report(const char *path, size_t *len);

#endif
