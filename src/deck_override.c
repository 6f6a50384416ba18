/* Command-line overrides "key.path=value", typed as the deck (or the key's
 * declaration) says, like the reference's hydra overrides. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deck_internal.h"
#include "error.h"

static int copy_value(config_setting_t *dst_parent, const char *name, const config_setting_t *src);

static int copy_scalar(config_setting_t *dst, const config_setting_t *src) {
  switch (config_setting_type(src)) {
    case CONFIG_TYPE_INT:
      return config_setting_set_int(dst, config_setting_get_int(src));
    case CONFIG_TYPE_INT64:
      return config_setting_set_int64(dst, config_setting_get_int64(src));
    case CONFIG_TYPE_FLOAT:
      return config_setting_set_float(dst, config_setting_get_float(src));
    case CONFIG_TYPE_BOOL:
      return config_setting_set_bool(dst, config_setting_get_bool(src));
    case CONFIG_TYPE_STRING:
      return config_setting_set_string(dst, config_setting_get_string(src));
    default:
      return CONFIG_FALSE;
  }
}

/* Copy src (scalar, array or list of scalars) as a new child `name` of dst_parent. */
static int copy_value(config_setting_t *dst_parent, const char *name, const config_setting_t *src) {
  int type = config_setting_type(src);
  config_setting_t *dst = config_setting_add(dst_parent, name, type);
  if (!dst) return CONFIG_FALSE;
  if (type == CONFIG_TYPE_ARRAY || type == CONFIG_TYPE_LIST) {
    for (int i = 0; i < config_setting_length(src); i++) {
      const config_setting_t *e = config_setting_get_elem(src, (unsigned)i);
      if (config_setting_is_aggregate(e)) return CONFIG_FALSE;
      if (!copy_value(dst, NULL, e)) return CONFIG_FALSE;
    }
    return CONFIG_TRUE;
  }
  return copy_scalar(dst, src);
}

config_setting_t *deck_set_from_text(config_t *cfg, const char *path, const char *value_text) {
  config_t tmp;
  config_init(&tmp);
  size_t n = strlen(value_text) + 16;
  char *doc = lola_malloc(n, "deck value");
  snprintf(doc, n, "v = %s;", value_text);
  int ok = config_read_string(&tmp, doc);
  free(doc);
  config_setting_t *src = ok ? config_lookup(&tmp, "v") : NULL;
  if (!src || config_setting_type(src) == CONFIG_TYPE_GROUP) {
    config_destroy(&tmp);
    return NULL;
  }
  /* Walk (and create) the groups along the path, then replace the leaf. */
  char *copy = strdup(path);
  config_setting_t *parent = config_root_setting(cfg);
  char *save = NULL, *part = strtok_r(copy, ".", &save), *next;
  config_setting_t *result = NULL;
  for (; part; part = next) {
    next = strtok_r(NULL, ".", &save);
    config_setting_t *child = config_setting_get_member(parent, part);
    if (next) {
      if (!child) child = config_setting_add(parent, part, CONFIG_TYPE_GROUP);
      if (!child || config_setting_type(child) != CONFIG_TYPE_GROUP) break;
      parent = child;
      continue;
    }
    if (child) config_setting_remove(parent, part);
    if (copy_value(parent, part, src)) result = config_setting_get_member(parent, part);
  }
  free(copy);
  config_destroy(&tmp);
  return result;
}

static int is_string_type(key_type t) { return t == KEY_STRING || t == KEY_STRING_LIST; }

/* Quote a bare word so that `run.dir=/tmp/x` works without shell-escaped quotes. */
static char *quoted(const char *v) {
  size_t n = 2 * strlen(v) + 3;
  char *q = lola_malloc(n, "deck value"), *w = q;
  *w++ = '"';
  for (; *v; v++) {
    if (*v == '"' || *v == '\\') *w++ = '\\';
    *w++ = *v;
  }
  *w++ = '"';
  *w = '\0';
  return q;
}

/* Quote every element of a bracketed list of bare words: [a, b] -> ["a", "b"]. */
static char *quoted_list(const char *v) {
  size_t n = 3 * strlen(v) + 8;
  char *out = lola_malloc(n, "deck value");
  char *inner = strdup(v + 1);
  inner[strlen(inner) - 1] = '\0';
  strcpy(out, "[");
  char *save = NULL;
  int first = 1;
  for (char *tok = strtok_r(inner, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    while (*tok == ' ') tok++;
    size_t len = strlen(tok);
    while (len && tok[len - 1] == ' ') tok[--len] = '\0';
    char *q = tok[0] == '"' ? strdup(tok) : quoted(tok);
    strcat(out, first ? "" : ", ");
    strcat(out, q);
    free(q);
    first = 0;
  }
  strcat(out, "]");
  free(inner);
  return out;
}

/* libconfig arrays are homogeneous: [1, 0.5] for a list of numbers becomes [1.0, 0.5]. */
static char *floated_list(const char *v) {
  size_t n = 3 * strlen(v) + 8;
  char *out = lola_malloc(n, "deck value");
  char *inner = strndup(v + 1, strlen(v) - 2);
  strcpy(out, "[");
  char *save = NULL;
  int first = 1;
  for (char *tok = strtok_r(inner, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    while (*tok == ' ') tok++;
    strcat(out, first ? "" : ", ");
    strcat(out, tok);
    if (!strpbrk(tok, ".eEn")) strcat(out, ".0"); /* "n": leave nan/inf to validation */
    first = 0;
  }
  strcat(out, "]");
  free(inner);
  return out;
}

void deck_apply_overrides(config_t *cfg, int n, char **overrides, const deck_schema *schemas, int nschemas,
                          deck_errors *errors) {
  for (int i = 0; i < n; i++) {
    const char *eq = strchr(overrides[i], '=');
    if (!eq || eq == overrides[i]) {
      deck_error_add(errors, "command line: '%s' is not an override of the form key.path=value",
                     overrides[i]);
      continue;
    }
    char *key = strndup(overrides[i], (size_t)(eq - overrides[i]));
    const char *value = eq + 1;
    const deck_key *k = deck_schema_find(schemas, nschemas, key);
    const config_setting_t *existing = config_lookup(cfg, key);
    if (!k) {
      const char *hint = deck_schema_suggest(schemas, nschemas, key);
      deck_error_add(errors, "command line: unknown key '%s'%s%s%s", key, hint ? " (did you mean '" : "",
                     hint ? hint : "", hint ? "'?)" : "");
      free(key);
      continue;
    }
    int want_string = is_string_type(k->type);
    if (existing && !config_setting_is_aggregate(existing))
      want_string = config_setting_type(existing) == CONFIG_TYPE_STRING;
    char *text = NULL;
    size_t len = strlen(value);
    if (want_string && value[0] != '"' && value[0] != '[' && value[0] != '(')
      text = quoted(value);
    else if (want_string && len > 1 && value[0] == '[' && value[len - 1] == ']' && value[1] != '"')
      text = quoted_list(value);
    else if (k->type == KEY_FLOAT_LIST && len > 1 && value[0] == '[' && value[len - 1] == ']')
      text = floated_list(value);
    else
      text = strdup(value);
    config_setting_t *s = deck_set_from_text(cfg, key, text);
    if (!s) {
      deck_error_add(errors, "command line: key '%s' must be %s, not '%s'", key, deck_type_words(k->type),
                     value);
    } else if (k->type == KEY_FLOAT && config_setting_type(s) == CONFIG_TYPE_INT) {
      /* Typed as declared: 1 becomes 1.0 for a float key. */
      double v = config_setting_get_int(s);
      char buf[64];
      snprintf(buf, sizeof buf, "%.17g", v);
      if (!strpbrk(buf, ".eE")) strcat(buf, ".0");
      deck_set_from_text(cfg, key, buf);
    }
    free(text);
    free(key);
  }
}
