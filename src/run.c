#define _GNU_SOURCE
#include "run.h"

#include <errno.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../io/atomic_file.h"
#include "../parallel/comm.h"
#include "error.h"
#include "log.h"
#include "stage.h"
#include "stage_backend.h"

enum { MAX_SCHEMAS = 128 };

static char stage_choices[1024];

static deck_key common_keys[] = {
    {.path = "stages",
     .type = KEY_STRING_LIST,
     .required = true,
     .choices = stage_choices,
     .help = "the stages to run, in order"},
    {.path = "run.dir", .type = KEY_STRING, .fallback = NULL, .help = "where everything the run writes goes"},
    {.path = "run.resume",
     .type = KEY_BOOL,
     .fallback = "false",
     .help = "continue a run from its last checkpoint"},
    {.path = "run.overwrite",
     .type = KEY_BOOL,
     .fallback = "false",
     .help = "reuse a run directory that holds a finished run"},
    {.path = NULL},
};

static char default_dir[1024];

const deck_schema *run_schemas(const char *deck_path, int *count) {
  static deck_schema schemas[MAX_SCHEMAS];
  static int n;
  const char *base = strrchr(deck_path, '/');
  base = base ? base + 1 : deck_path;
  int len = (int)strcspn(base, ".");
  snprintf(default_dir, sizeof default_dir, "\"runs/%.*s\"", len, base);
  common_keys[1].fallback = default_dir;
  if (!n) {
    schemas[n++] = (deck_schema){"run", common_keys};
    schemas[n++] = (deck_schema){"run", stage_backend_keys};
    for (int i = 0; lola_stages[i]; i++) {
      const stage *st = lola_stages[i];
      strcat(stage_choices, i ? "|" : "");
      strcat(stage_choices, st->name);
      for (int t = 0; st->keys && st->keys[t] && n < MAX_SCHEMAS; t++)
        schemas[n++] = (deck_schema){st->name, st->keys[t]};
    }
  }
  *count = n;
  return schemas;
}

static int file_exists(const char *path) { return access(path, F_OK) == 0; }

const char *run_prepare(const deck *d) {
  const char *dir = deck_string(d, "run.dir");
  char marker[4096];
  snprintf(marker, sizeof marker, "%s/finished", dir);
  int finished = comm_rank() == 0 && file_exists(marker);
  MPI_Bcast(&finished, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (finished && !deck_bool(d, "run.resume") && !deck_bool(d, "run.overwrite"))
    deck_fail(d, "run.dir",
              "'%s' holds a finished run; choose another run.dir, or pass run.resume=true or "
              "run.overwrite=true",
              dir);
  if (comm_rank() == 0) {
    make_dirs(dir);
    if (finished) unlink(marker);
    char path[4096];
    snprintf(path, sizeof path, "%s/deck.cfg", dir);
    char *text = deck_text(d);
    atomic_write(path, text, strlen(text));
    free(text);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  return dir;
}

void run_finish(const deck *d) {
  MPI_Barrier(MPI_COMM_WORLD);
  if (comm_rank() != 0) return;
  char path[4096], text[256];
  snprintf(path, sizeof path, "%s/finished", deck_string(d, "run.dir"));
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ\n", &tm);
  atomic_write(path, text, strlen(text));
}
