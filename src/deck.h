/* Input decks: libconfig files with @include presets and command-line overrides,
 * validated against the keys the stages declare before any work starts.
 *
 * Rank 0 reads and validates; the resolved deck (includes expanded, overrides
 * applied, defaults filled in) is broadcast as text so every rank sees the same. */
#ifndef LOLA_DECK_H
#define LOLA_DECK_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
  KEY_INT,
  KEY_FLOAT, /* an integer literal is accepted too */
  KEY_BOOL,
  KEY_STRING,
  KEY_INT_LIST,   /* [1, 2, 3] or (1, 2, 3) */
  KEY_FLOAT_LIST, /* integers accepted as elements */
  KEY_STRING_LIST,
} key_type;

/* One key a stage reads. `path` is dotted ("train.batch_size"). Numbers (and
 * list elements) are checked against [min, max] when has_min / has_max is set;
 * strings (and list elements) against `choices` ("a|b|c") when non-NULL.
 * `fallback` is the default in libconfig syntax ("1e-3", "\"cosine\"", "[1, 2]");
 * a key with required = false and fallback = NULL is optional with no default. */
typedef struct {
  const char *path;
  key_type type;
  bool required;
  const char *fallback;
  double min, max;
  bool has_min, has_max;
  const char *choices;
  const char *help;
} deck_key;

/* A set of keys, e.g. those of one stage. Terminated by a key with path NULL. */
typedef struct {
  const char *name;
  const deck_key *keys;
} deck_schema;

typedef struct deck deck;

/* Collective. Load `path`, apply `noverrides` "key.path=value" strings and validate
 * against `schemas`: the keys of every schema are known; `required` and defaults apply
 * to schemas[0] (the common keys) and any schema of the same name, and to the schemas
 * whose name the deck lists under `stages`. On any error rank 0 prints every problem
 * as file:line: message, and every rank exits with code 2. */
deck *deck_load(const char *path, int noverrides, char **overrides, const deck_schema *schemas, int nschemas);
void deck_free(deck *d);

/* Typed access to validated keys (defaults already filled in). Asking for a key
 * the deck does not have, or with another type, is a programming error (dies). */
bool deck_has(const deck *d, const char *path);
long deck_int(const deck *d, const char *path);
double deck_float(const deck *d, const char *path);
bool deck_bool(const deck *d, const char *path);
const char *deck_string(const deck *d, const char *path);
int deck_list_len(const deck *d, const char *path);
long deck_int_at(const deck *d, const char *path, int i);
double deck_float_at(const deck *d, const char *path, int i);
const char *deck_string_at(const deck *d, const char *path, int i);

/* Where a key came from, for error messages: "decks/x.cfg:12" or "command line". */
const char *deck_where(const deck *d, const char *path, char *buf, size_t n);
/* Die with code 2 naming the key and its deck line. Collective: every rank must
 * reach the same call (stages check deck values identically on all ranks). */
void deck_fail(const deck *d, const char *path, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

/* The resolved deck as libconfig text (caller frees). */
char *deck_text(const deck *d);
const char *deck_path(const deck *d);

#endif
