/* A stage is one step of the pipeline that a deck can list under `stages`.
 * Each stage declares every deck key it reads, so a deck is validated in full
 * before any work starts. */
#ifndef LOLA_STAGE_H
#define LOLA_STAGE_H

#include <stdbool.h>

#include "deck.h"

typedef struct {
  const deck *deck;
  const char *run_dir; /* run.dir, created before the first stage runs */
} run_ctx;

/* `keys` lists the key tables the stage reads, NULL-terminated; each table ends
 * with {NULL}. Tables shared by several stages (the dataset's keys, say) are
 * listed by each of them, e.g.
 *   static const deck_key *const stats_keys[] = {dataset_keys, stats_own_keys, NULL}; */
typedef struct {
  const char *name;
  const char *summary;
  const deck_key *const *keys;
  void (*run)(const run_ctx *ctx);
  bool device_ready; /* its kernels may run on a GPU (src/stage_backend.h) */
} stage;

/* Every stage the program knows, in pipeline order; NULL-terminated. */
extern const stage *const lola_stages[];

const stage *stage_find(const char *name);

#endif
