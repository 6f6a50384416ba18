/* Typed reads of validated deck keys. A missing key or a type mismatch here is a
 * programming error: validation guarantees what the stage declared. */
#include <stdio.h>

#include "deck_internal.h"
#include "error.h"

static const config_setting_t *need(const deck *d, const char *path) {
  const config_setting_t *s = config_lookup(&d->cfg, path);
  if (!s) lola_die(LOLA_EXIT_RUNTIME, "internal: deck key '%s' read but not declared or defaulted", path);
  return s;
}

static const config_setting_t *need_elem(const deck *d, const char *path, int i) {
  const config_setting_t *s = need(d, path);
  const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
  if (!e) lola_die(LOLA_EXIT_RUNTIME, "internal: deck key '%s' has no element %d", path, i);
  return e;
}

static int is_int(const config_setting_t *s) {
  return config_setting_type(s) == CONFIG_TYPE_INT || config_setting_type(s) == CONFIG_TYPE_INT64;
}

bool deck_has(const deck *d, const char *path) { return config_lookup(&d->cfg, path) != NULL; }

long deck_int(const deck *d, const char *path) {
  const config_setting_t *s = need(d, path);
  if (!is_int(s)) lola_die(LOLA_EXIT_RUNTIME, "internal: deck key '%s' is not an integer", path);
  return (long)config_setting_get_int64(s);
}

double deck_float(const deck *d, const char *path) {
  const config_setting_t *s = need(d, path);
  return is_int(s) ? (double)config_setting_get_int64(s) : config_setting_get_float(s);
}

bool deck_bool(const deck *d, const char *path) {
  const config_setting_t *s = need(d, path);
  if (config_setting_type(s) != CONFIG_TYPE_BOOL)
    lola_die(LOLA_EXIT_RUNTIME, "internal: deck key '%s' is not a boolean", path);
  return config_setting_get_bool(s);
}

const char *deck_string(const deck *d, const char *path) {
  const char *v = config_setting_get_string(need(d, path));
  if (!v) lola_die(LOLA_EXIT_RUNTIME, "internal: deck key '%s' is not a string", path);
  return v;
}

int deck_list_len(const deck *d, const char *path) { return config_setting_length(need(d, path)); }

long deck_int_at(const deck *d, const char *path, int i) {
  return (long)config_setting_get_int64(need_elem(d, path, i));
}

double deck_float_at(const deck *d, const char *path, int i) {
  const config_setting_t *e = need_elem(d, path, i);
  return is_int(e) ? (double)config_setting_get_int64(e) : config_setting_get_float(e);
}

const char *deck_string_at(const deck *d, const char *path, int i) {
  const char *v = config_setting_get_string(need_elem(d, path, i));
  if (!v) lola_die(LOLA_EXIT_RUNTIME, "internal: deck key '%s'[%d] is not a string", path, i);
  return v;
}
