#include "dataset_deck.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

const deck_key dataset_keys[] = {
    {.path = "dataset.name",
     .type = KEY_STRING,
     .fallback = "\"\"",
     .help = "name of the data set (for run names)"},
    {.path = "dataset.path",
     .type = KEY_STRING,
     .required = true,
     .help = "root folder of Well data sets (the reference's server.datasets)"},
    {.path = "dataset.physics",
     .type = KEY_STRING_LIST,
     .required = true,
     .help = "physics folders under dataset.path, concatenated in order"},
    {.path = "dataset.include_filters",
     .type = KEY_STRING_LIST,
     .fallback = "[]",
     .help = "keep files whose name contains any of these"},
    {.path = "dataset.exclude_filters",
     .type = KEY_STRING_LIST,
     .fallback = "[]",
     .help = "drop files whose name contains any of these"},
    {.path = "dataset.dimensions",
     .type = KEY_STRING_LIST,
     .fallback = "[]",
     .help = "spatial dimensions of the data ([] = as the files say)"},
    {.path = "dataset.periodic",
     .type = KEY_BOOL,
     .fallback = "false",
     .help = "periodic padding in the models' convolutions"},
    {.path = "dataset.fields",
     .type = KEY_STRING_LIST,
     .fallback = "[]",
     .help = "channels in order (\"density\", \"momentum_x\"); [] = every time-varying field"},
    {.path = "dataset.transform",
     .type = KEY_STRING_LIST,
     .fallback = "[]",
     .choices = "none|log|log_eps|log1p|arcsinh",
     .help = "per-field transform, in field order"},
    {.path = "dataset.stats.mean", .type = KEY_FLOAT_LIST, .help = "per-field mean after the transforms"},
    {.path = "dataset.stats.std",
     .type = KEY_FLOAT_LIST,
     .min = 0,
     .has_min = true,
     .help = "per-field standard deviation after the transforms"},
    {.path = "dataset.augment",
     .type = KEY_STRING_LIST,
     .fallback = "[]",
     .choices = "random_axis_flip|random_axis_permute|random_axis_roll|log_scalars",
     .help = "augmentations of training samples"},
    {.path = "dataset.log_scalars",
     .type = KEY_STRING_LIST,
     .fallback = "[\"rayleigh\", \"prandtl\", \"rho0\"]",
     .help = "constant scalars logged in the label when augment has log_scalars (case-insensitive)"},
    {.path = NULL},
};

static const char **string_list(const deck *d, const char *key, int *n) {
  *n = deck_has(d, key) ? deck_list_len(d, key) : 0;
  const char **out = lola_calloc((size_t)(*n ? *n : 1), sizeof *out, key);
  for (int i = 0; i < *n; i++) out[i] = deck_string_at(d, key, i);
  return out;
}

void dataset_setup_from_deck(dataset_setup *s, const deck *d, const char *split, int steps, int stride,
                             uint64_t seed) {
  memset(s, 0, sizeof *s);
  dataset_spec *sp = &s->spec;
  sp->root = deck_string(d, "dataset.path");
  sp->split = split;
  sp->steps = steps;
  sp->stride = stride;
  s->physics = string_list(d, "dataset.physics", &sp->nphysics);
  sp->physics = s->physics;
  if (sp->nphysics == 0) deck_fail(d, "dataset.physics", "lists no physics");
  s->include = string_list(d, "dataset.include_filters", &sp->ninclude);
  s->exclude = string_list(d, "dataset.exclude_filters", &sp->nexclude);
  s->fields = string_list(d, "dataset.fields", &sp->nfields);
  sp->include = s->include, sp->exclude = s->exclude, sp->fields = s->fields;
  if (sp->nfields > PREPROCESS_MAX_CHANNELS)
    deck_fail(d, "dataset.fields", "more than %d fields", PREPROCESS_MAX_CHANNELS);

  int naug;
  const char **aug = string_list(d, "dataset.augment", &naug);
  bool log_scalars = false;
  for (int i = 0; i < naug; i++) {
    s->aug.flip |= strcmp(aug[i], "random_axis_flip") == 0;
    s->aug.permute |= strcmp(aug[i], "random_axis_permute") == 0;
    s->aug.roll |= strcmp(aug[i], "random_axis_roll") == 0;
    log_scalars |= strcmp(aug[i], "log_scalars") == 0;
  }
  free(aug);
  s->aug.seed = seed;
  int nlog = 0;
  s->log_scalars =
      log_scalars ? string_list(d, "dataset.log_scalars", &nlog) : lola_calloc(1, sizeof(char *), "");
  sp->log_scalars = s->log_scalars;
  sp->nlog_scalars = nlog;
}

void dataset_setup_check(dataset_setup *s, const deck *d, const dataset *ds) {
  const int C = dataset_channels(ds);
  if (C > PREPROCESS_MAX_CHANNELS)
    deck_fail(d, "dataset.fields", "more than %d channels", PREPROCESS_MAX_CHANNELS);
  int ndims = deck_has(d, "dataset.dimensions") ? deck_list_len(d, "dataset.dimensions") : 0;
  if (ndims > 0 && ndims != dataset_ndims(ds))
    deck_fail(d, "dataset.dimensions", "lists %d dimensions but the data has %d",
              deck_list_len(d, "dataset.dimensions"), dataset_ndims(ds));
  preprocess *p = &s->pre;
  p->channels = C;
  int nt = deck_list_len(d, "dataset.transform");
  if (nt > C) deck_fail(d, "dataset.transform", "has %d entries for %d fields", nt, C);
  for (int c = 0; c < C; c++)
    p->transform[c] = c < nt ? transform_parse(deck_string_at(d, "dataset.transform", c)) : 0;
  bool has_mean = deck_has(d, "dataset.stats.mean"), has_std = deck_has(d, "dataset.stats.std");
  if (has_mean != has_std)
    deck_fail(d, has_mean ? "dataset.stats.std" : "dataset.stats.mean",
              "give both dataset.stats.mean and std");
  p->normalize = has_mean;
  if (has_mean) {
    if (deck_list_len(d, "dataset.stats.mean") != C)
      deck_fail(d, "dataset.stats.mean", "has %d entries for %d fields",
                deck_list_len(d, "dataset.stats.mean"), C);
    if (deck_list_len(d, "dataset.stats.std") != C)
      deck_fail(d, "dataset.stats.std", "has %d entries for %d fields", deck_list_len(d, "dataset.stats.std"),
                C);
    for (int c = 0; c < C; c++) {
      p->mean[c] = deck_float_at(d, "dataset.stats.mean", c);
      p->std[c] = deck_float_at(d, "dataset.stats.std", c);
      if (p->std[c] <= 0) deck_fail(d, "dataset.stats.std", "entry %d is %g; must be > 0", c, p->std[c]);
    }
  }
}

void dataset_setup_free(dataset_setup *s) {
  free(s->physics);
  free(s->include);
  free(s->exclude);
  free(s->fields);
  free(s->log_scalars);
  memset(s, 0, sizeof *s);
}
