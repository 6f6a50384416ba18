/* A stage is one step of the pipeline that a deck can list under `stages`.
 * Each stage declares every deck key it reads, so a deck is validated in full
 * before any work starts. */
#ifndef LOLA_STAGE_H
#define LOLA_STAGE_H

#include "deck.h"

typedef struct {
  const deck *deck;
  const char *run_dir; /* run.dir, created before the first stage runs */
} run_ctx;

typedef struct {
  const char *name;
  const char *summary;
  const deck_key *keys; /* terminated by {NULL} */
  void (*run)(const run_ctx *ctx);
} stage;

/* Every stage the program knows, in pipeline order; NULL-terminated. */
extern const stage *const lola_stages[];

const stage *stage_find(const char *name);

#endif
