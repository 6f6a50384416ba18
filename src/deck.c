/* Loading a deck: rank 0 reads, overrides, validates and fills defaults; the
 * resolved text and each key's origin are broadcast so all ranks agree. */
#define _GNU_SOURCE
#include <libgen.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../parallel/comm.h"
#include "deck_internal.h"
#include "error.h"

/* @include paths resolve against the deck's own folder when it holds presets/,
 * else $LOLA_INPUTS, else the project's inputs/ folder. */
static char *include_dir_for(const char *path) {
  char *copy = strdup(path);
  char *dir = strdup(dirname(copy));
  free(copy);
  char probe[4096];
  struct stat st;
  snprintf(probe, sizeof probe, "%s/presets", dir);
  if (stat(probe, &st) == 0 && S_ISDIR(st.st_mode)) return dir;
  free(dir);
  const char *env = getenv("LOLA_INPUTS");
  return strdup(env && *env ? env : LOLA_INPUTS_DIR);
}

static void collect_where(const config_setting_t *group, const char *deck_path, FILE *out) {
  for (int i = 0; i < config_setting_length(group); i++) {
    const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
    if (config_setting_type(s) == CONFIG_TYPE_GROUP) {
      collect_where(s, deck_path, out);
      continue;
    }
    char path[512], where[512];
    deck_setting_path(s, path, sizeof path);
    deck_setting_where(s, deck_path, where, sizeof where);
    fprintf(out, "%s\t%s\n", path, where);
  }
}

static char *config_to_text(const config_t *cfg) {
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  config_write(cfg, mem);
  fclose(mem);
  return text;
}

/* Rank 0: read, override, validate. Returns NULL and fills errors on failure. */
static deck *load_on_root(const char *path, int noverrides, char **overrides, const deck_schema *schemas,
                          int nschemas, deck_errors *errors) {
  deck *d = lola_calloc(1, sizeof *d, "deck");
  d->path = strdup(path);
  config_init(&d->cfg);
  char *inc = include_dir_for(path);
  config_set_include_dir(&d->cfg, inc);
  free(inc);
  FILE *probe = fopen(path, "r");
  if (!probe) {
    deck_error_add(errors, "%s: cannot open the deck", path);
  } else {
    fclose(probe);
    if (!config_read_file(&d->cfg, path)) {
      const char *file = config_error_file(&d->cfg);
      deck_error_add(errors, "%s:%d: %s", file ? file : path, config_error_line(&d->cfg),
                     config_error_text(&d->cfg));
    }
  }
  if (!errors->count) deck_apply_overrides(&d->cfg, noverrides, overrides, schemas, nschemas, errors);
  if (!errors->count) deck_validate(&d->cfg, path, schemas, nschemas, errors);
  if (errors->count) {
    deck_free(d);
    return NULL;
  }
  char *where = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&where, &len);
  collect_where(config_root_setting(&d->cfg), path, mem);
  fclose(mem);
  d->where = where;
  return d;
}

static void bcast_text(char **text) {
  long n = comm_rank() == 0 ? (long)strlen(*text) + 1 : 0;
  MPI_Bcast(&n, 1, MPI_LONG, 0, MPI_COMM_WORLD);
  if (comm_rank() != 0) *text = lola_malloc((size_t)n, "deck text");
  MPI_Bcast(*text, (int)n, MPI_CHAR, 0, MPI_COMM_WORLD);
}

deck *deck_load(const char *path, int noverrides, char **overrides, const deck_schema *schemas,
                int nschemas) {
  deck_errors errors = {0};
  deck *d = NULL;
  if (comm_rank() == 0) d = load_on_root(path, noverrides, overrides, schemas, nschemas, &errors);
  int failed = errors.count;
  MPI_Bcast(&failed, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (failed) {
    /* Every problem at once, one per line, then exit 2 everywhere. */
    size_t len = errors.len;
    if (len && errors.text[len - 1] == '\n') errors.text[len - 1] = '\0';
    lola_die_collective(LOLA_EXIT_DECK, "invalid deck (%d problem%s):\n%s", failed, failed > 1 ? "s" : "",
                        errors.text ? errors.text : "");
  }
  char *text = comm_rank() == 0 ? config_to_text(&d->cfg) : NULL;
  bcast_text(&text);
  char *where = comm_rank() == 0 ? d->where : NULL;
  bcast_text(&where);
  if (comm_rank() != 0) {
    d = lola_calloc(1, sizeof *d, "deck");
    d->path = strdup(path);
    config_init(&d->cfg);
    if (!config_read_string(&d->cfg, text))
      lola_die(LOLA_EXIT_RUNTIME, "internal: resolved deck did not parse on rank %d", comm_rank());
    d->where = where;
  }
  free(text);
  return d;
}

void deck_free(deck *d) {
  if (!d) return;
  config_destroy(&d->cfg);
  free(d->path);
  free(d->where);
  free(d);
}

char *deck_text(const deck *d) { return config_to_text(&d->cfg); }
const char *deck_path(const deck *d) { return d->path; }

const char *deck_where(const deck *d, const char *path, char *buf, size_t n) {
  size_t len = strlen(path);
  for (const char *line = d->where; line && *line;) {
    const char *end = strchr(line, '\n');
    if (strncmp(line, path, len) == 0 && line[len] == '\t') {
      size_t w = (size_t)((end ? end : line + strlen(line)) - (line + len + 1));
      if (w >= n) w = n - 1;
      memcpy(buf, line + len + 1, w);
      buf[w] = '\0';
      return buf;
    }
    line = end ? end + 1 : NULL;
  }
  snprintf(buf, n, "%s (default)", d->path);
  return buf;
}

void deck_fail(const deck *d, const char *path, const char *fmt, ...) {
  char where[512], text[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  lola_die_collective(LOLA_EXIT_DECK, "%s: key '%s': %s", deck_where(d, path, where, sizeof where), path,
                      text);
}
