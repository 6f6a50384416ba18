/* Shared between the deck's loader, override, validation and access files. */
#ifndef LOLA_DECK_INTERNAL_H
#define LOLA_DECK_INTERNAL_H

#include <libconfig.h>

#include "deck.h"

struct deck {
  config_t cfg;
  char *path;
  char *where; /* "path\tfile:line\n" per leaf, from rank 0 */
};

/* Problems found while loading are collected, then printed together. */
typedef struct {
  char *text;
  size_t len, cap;
  int count;
} deck_errors;

void deck_error_add(deck_errors *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "an integer", "a list of numbers, e.g. [0.5, 1.0]", ... */
const char *deck_type_words(key_type t);

/* "file:line" of a setting, or "command line" for overrides (line 0). */
void deck_setting_where(const config_setting_t *s, const char *deck_path, char *buf, size_t n);

/* Dotted path of a setting ("a.b.c"); lists of groups are not supported in decks. */
void deck_setting_path(const config_setting_t *s, char *buf, size_t n);

const deck_key *deck_schema_find(const deck_schema *schemas, int nschemas, const char *path);
/* The known key closest to `path` (edit distance), or NULL when none is close. */
const char *deck_schema_suggest(const deck_schema *schemas, int nschemas, const char *path);

/* Apply "key=value" overrides to cfg, typed by the deck's setting or the schema. */
void deck_apply_overrides(config_t *cfg, int n, char **overrides, const deck_schema *schemas, int nschemas,
                          deck_errors *errors);

/* Check every setting and fill defaults for the active schemas. */
void deck_validate(config_t *cfg, const char *deck_path, const deck_schema *schemas, int nschemas,
                   deck_errors *errors);

/* Create (or replace) the setting at dotted `path` from libconfig value text. Returns it, or NULL. */
config_setting_t *deck_set_from_text(config_t *cfg, const char *path, const char *value_text);

#endif
