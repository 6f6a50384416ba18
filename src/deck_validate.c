/* Every setting of a deck must be a declared key of the right type, in range;
 * the keys active stages require must be there; defaults fill the rest. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deck_internal.h"

static int is_int(const config_setting_t *s) {
  int t = config_setting_type(s);
  return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
}

static double number_of(const config_setting_t *s) {
  return is_int(s) ? (double)config_setting_get_int64(s) : config_setting_get_float(s);
}

static int scalar_matches(const config_setting_t *s, key_type t) {
  switch (t) {
    case KEY_INT:
    case KEY_INT_LIST:
      return is_int(s);
    case KEY_FLOAT:
    case KEY_FLOAT_LIST:
      return is_int(s) || config_setting_type(s) == CONFIG_TYPE_FLOAT;
    case KEY_BOOL:
      return config_setting_type(s) == CONFIG_TYPE_BOOL;
    case KEY_STRING:
    case KEY_STRING_LIST:
      return config_setting_type(s) == CONFIG_TYPE_STRING;
  }
  return 0;
}

static int in_choices(const char *choices, const char *v) {
  size_t n = strlen(v);
  for (const char *c = choices; c && *c;) {
    const char *bar = strchr(c, '|');
    size_t len = bar ? (size_t)(bar - c) : strlen(c);
    if (len == n && strncmp(c, v, n) == 0) return 1;
    c = bar ? bar + 1 : NULL;
  }
  return 0;
}

/* Range and choice checks of one scalar (a list element too). */
static void check_value(const config_setting_t *s, const deck_key *k, const char *where,
                        deck_errors *errors) {
  if (config_setting_type(s) == CONFIG_TYPE_STRING) {
    const char *v = config_setting_get_string(s);
    if (k->choices && !in_choices(k->choices, v))
      deck_error_add(errors, "%s: key '%s': '%s' is not one of %s", where, k->path, v, k->choices);
    return;
  }
  if (config_setting_type(s) == CONFIG_TYPE_BOOL) return;
  double v = number_of(s);
  if (!isfinite(v))
    deck_error_add(errors, "%s: key '%s': value %g is not finite", where, k->path, v);
  else if (k->has_min && v < k->min)
    deck_error_add(errors, "%s: key '%s': %g is below the minimum %g", where, k->path, v, k->min);
  else if (k->has_max && v > k->max)
    deck_error_add(errors, "%s: key '%s': %g is above the maximum %g", where, k->path, v, k->max);
}

static void check_leaf(const config_setting_t *s, const deck_key *k, const char *where, deck_errors *errors) {
  int list_key = k->type == KEY_INT_LIST || k->type == KEY_FLOAT_LIST || k->type == KEY_STRING_LIST;
  int is_list = config_setting_type(s) == CONFIG_TYPE_ARRAY || config_setting_type(s) == CONFIG_TYPE_LIST;
  if (list_key != is_list) {
    deck_error_add(errors, "%s: key '%s' must be %s", where, k->path, deck_type_words(k->type));
    return;
  }
  if (!is_list) {
    if (!scalar_matches(s, k->type)) {
      deck_error_add(errors, "%s: key '%s' must be %s", where, k->path, deck_type_words(k->type));
      return;
    }
    check_value(s, k, where, errors);
    return;
  }
  for (int i = 0; i < config_setting_length(s); i++) {
    const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
    if (!scalar_matches(e, k->type)) {
      deck_error_add(errors, "%s: key '%s' must be %s (element %d is not)", where, k->path,
                     deck_type_words(k->type), i);
      return;
    }
    check_value(e, k, where, errors);
  }
}

static int is_prefix_of_key(const deck_schema *schemas, int nschemas, const char *path) {
  size_t n = strlen(path);
  for (int i = 0; i < nschemas; i++)
    for (const deck_key *k = schemas[i].keys; k && k->path; k++)
      if (strncmp(k->path, path, n) == 0 && k->path[n] == '.') return 1;
  return 0;
}

static void walk(const config_setting_t *group, const char *deck_path, const deck_schema *schemas,
                 int nschemas, deck_errors *errors) {
  for (int i = 0; i < config_setting_length(group); i++) {
    const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
    char path[512], where[512];
    deck_setting_path(s, path, sizeof path);
    deck_setting_where(s, deck_path, where, sizeof where);
    const deck_key *k = deck_schema_find(schemas, nschemas, path);
    if (config_setting_type(s) == CONFIG_TYPE_GROUP && !k && is_prefix_of_key(schemas, nschemas, path)) {
      walk(s, deck_path, schemas, nschemas, errors);
      continue;
    }
    if (!k) {
      const char *hint = deck_schema_suggest(schemas, nschemas, path);
      deck_error_add(errors, "%s: unknown key '%s'%s%s%s", where, path, hint ? " (did you mean '" : "",
                     hint ? hint : "", hint ? "'?)" : "");
      continue;
    }
    if (config_setting_type(s) == CONFIG_TYPE_GROUP) {
      deck_error_add(errors, "%s: key '%s' must be %s, not a group", where, path, deck_type_words(k->type));
      continue;
    }
    check_leaf(s, k, where, errors);
  }
}

static int stage_listed(const config_t *cfg, const char *name) {
  const config_setting_t *stages = config_lookup(cfg, "stages");
  if (!stages) return 0;
  for (int i = 0; i < config_setting_length(stages); i++) {
    const char *s = config_setting_get_string_elem(stages, i);
    if (s && strcmp(s, name) == 0) return 1;
  }
  return 0;
}

static void require_and_fill(config_t *cfg, const char *deck_path, const deck_schema *schema,
                             deck_errors *errors) {
  for (const deck_key *k = schema->keys; k && k->path; k++) {
    if (config_lookup(cfg, k->path)) continue;
    if (k->required) {
      deck_error_add(errors, "%s: missing required key '%s' (%s%s%s)", deck_path, k->path,
                     k->help ? k->help : "", k->help ? ", needed by " : "needed by ", schema->name);
    } else if (k->fallback && !deck_set_from_text(cfg, k->path, k->fallback)) {
      deck_error_add(errors, "%s: key '%s': its default %s cannot be set (a group of that name exists?)",
                     deck_path, k->path, k->fallback);
    }
  }
}

void deck_validate(config_t *cfg, const char *deck_path, const deck_schema *schemas, int nschemas,
                   deck_errors *errors) {
  walk(config_root_setting(cfg), deck_path, schemas, nschemas, errors);
  if (errors->count) return;         /* defaults on top of a broken deck would only add noise */
  for (int i = 0; i < nschemas; i++) /* the first schema's tables (the run's own) always apply */
    if (!strcmp(schemas[i].name, schemas[0].name) || stage_listed(cfg, schemas[i].name))
      require_and_fill(cfg, deck_path, &schemas[i], errors);
}
