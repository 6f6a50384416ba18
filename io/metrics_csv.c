#define _POSIX_C_SOURCE 200809L
#include "metrics_csv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/error.h"
#include "atomic_file.h"

void metrics_append(const char *path, const char *header, const char *row) {
  int fresh = access(path, F_OK) != 0;
  FILE *f = fopen(path, "a");
  if (!f) lola_die(LOLA_EXIT_RUNTIME, "cannot append to %s: %s", path, strerror(errno));
  if (fresh) fprintf(f, "%s\n", header);
  fprintf(f, "%s\n", row);
  if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0)
    lola_die(LOLA_EXIT_RUNTIME, "cannot write %s: %s", path, strerror(errno));
}

void metrics_keep_until(const char *path, const char *header, int64_t last) {
  FILE *in = fopen(path, "r");
  if (!in) return;
  atomic_file out;
  atomic_open(&out, path);
  char *line = NULL;
  size_t cap = 0;
  int first = 1;
  while (getline(&line, &cap, in) > 0) {
    if (first)
      fprintf(out.fp, "%s\n", header);
    else if (strtoll(line, NULL, 10) <= last)
      fputs(line, out.fp);
    first = 0;
  }
  free(line);
  fclose(in);
  atomic_commit(&out);
}
