#include "stage.h"

#include <string.h>

extern const stage stage_info;
extern const stage stage_generate;
extern const stage stage_inspect;
extern const stage stage_stats;
extern const stage stage_train_ae;
extern const stage stage_cache_latents;
extern const stage stage_train_surrogate;
extern const stage stage_train_diffusion;
extern const stage stage_eval;

/* Pipeline order: a deck may list any subset, and they run in the deck's order. */
const stage *const lola_stages[] = {
    &stage_info,          &stage_generate,        &stage_inspect,         &stage_stats, &stage_train_ae,
    &stage_cache_latents, &stage_train_surrogate, &stage_train_diffusion, &stage_eval,  NULL,
};

const stage *stage_find(const char *name) {
  for (int i = 0; lola_stages[i]; i++)
    if (strcmp(lola_stages[i]->name, name) == 0) return lola_stages[i];
  return NULL;
}
