#include "stage.h"

#include <string.h>

extern const stage stage_info;

/* Pipeline order: a deck may list any subset, and they run in the deck's order. */
const stage *const lola_stages[] = {
    &stage_info,
    NULL,
};

const stage *stage_find(const char *name) {
  for (int i = 0; lola_stages[i]; i++)
    if (strcmp(lola_stages[i]->name, name) == 0) return lola_stages[i];
  return NULL;
}
