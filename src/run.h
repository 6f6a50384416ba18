/* The run: keys every deck has (stages, run.*), the run directory, and the
 * program's schema (common keys + every stage's keys) for deck validation. */
#ifndef LOLA_RUN_H
#define LOLA_RUN_H

#include "deck.h"

/* Schemas for deck_load: [0] the common keys, then one per (stage, key table).
 * Built once; valid for the program's lifetime. run.dir defaults to
 * runs/<deck name without extension>. */
const deck_schema *run_schemas(const char *deck_path, int *count);

/* Collective. Create run.dir, refuse a finished run unless run.resume or
 * run.overwrite, save the resolved deck as <run.dir>/deck.cfg. Returns run.dir. */
const char *run_prepare(const deck *d);

/* Collective. Mark the run finished (<run.dir>/finished), after every stage ran. */
void run_finish(const deck *d);

#endif
