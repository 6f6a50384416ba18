#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deck_internal.h"
#include "error.h"

void deck_error_add(deck_errors *e, const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  size_t n = strlen(line);
  if (e->len + n + 2 > e->cap) {
    e->cap = 2 * (e->cap + n + 2);
    e->text = realloc(e->text, e->cap);
    if (!e->text) lola_die(LOLA_EXIT_RUNTIME, "out of memory collecting deck errors");
  }
  memcpy(e->text + e->len, line, n);
  e->len += n;
  e->text[e->len++] = '\n';
  e->text[e->len] = '\0';
  e->count++;
}

void deck_setting_where(const config_setting_t *s, const char *deck_path, char *buf, size_t n) {
  unsigned line = config_setting_source_line(s);
  const char *file = config_setting_source_file(s);
  if (line == 0)
    snprintf(buf, n, "command line");
  else
    snprintf(buf, n, "%s:%u", file ? file : deck_path, line);
}

void deck_setting_path(const config_setting_t *s, char *buf, size_t n) {
  const char *parts[32];
  int depth = 0;
  for (const config_setting_t *p = s; p && config_setting_parent(p) && depth < 32;
       p = config_setting_parent(p))
    parts[depth++] = config_setting_name(p) ? config_setting_name(p) : "[]";
  buf[0] = '\0';
  size_t used = 0;
  for (int i = depth - 1; i >= 0; i--) {
    int w = snprintf(buf + used, n > used ? n - used : 0, "%s%s", used ? "." : "", parts[i]);
    if (w > 0) used += (size_t)w;
  }
}

const deck_key *deck_schema_find(const deck_schema *schemas, int nschemas, const char *path) {
  for (int i = 0; i < nschemas; i++)
    for (const deck_key *k = schemas[i].keys; k && k->path; k++)
      if (strcmp(k->path, path) == 0) return k;
  return NULL;
}

static int edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 127 || lb > 127) return 1 << 20;
  int row[128];
  for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    int diag = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= lb; j++) {
      int up = row[j];
      int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      int best = diag + cost;
      if (row[j] + 1 < best) best = row[j] + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

const char *deck_schema_suggest(const deck_schema *schemas, int nschemas, const char *path) {
  const char *best = NULL;
  int best_d = 1 << 20;
  for (int i = 0; i < nschemas; i++)
    for (const deck_key *k = schemas[i].keys; k && k->path; k++) {
      int d = edit_distance(path, k->path);
      if (d < best_d) {
        best_d = d;
        best = k->path;
      }
    }
  int limit = (int)strlen(path) / 3;
  if (limit < 2) limit = 2;
  return best_d <= limit ? best : NULL;
}

const char *deck_type_words(key_type t) {
  switch (t) {
    case KEY_INT:
      return "an integer";
    case KEY_FLOAT:
      return "a number";
    case KEY_BOOL:
      return "true or false";
    case KEY_STRING:
      return "a string";
    case KEY_INT_LIST:
      return "a list of integers, e.g. [1, 2]";
    case KEY_FLOAT_LIST:
      return "a list of numbers, e.g. [0.5, 1.0]";
    case KEY_STRING_LIST:
      return "a list of strings, e.g. [\"a\", \"b\"]";
  }
  return "?";
}
