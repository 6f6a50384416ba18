#define _GNU_SOURCE
#include "stats_csv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../src/error.h"

static const char *const spectral_names[EVAL_SPECTRAL] = {"psd_rmse_low", "ccr_rmse_low",  "psd_rmse_mid",
                                                          "ccr_rmse_mid", "psd_rmse_high", "ccr_rmse_high",
                                                          "psd_rmse_top", "ccr_rmse_top"};

char *stats_csv_header(int labels) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  fputs(
      "run,target,compression,method,settings,guidance,context,overlap,speed,split,index,start,seed,field,"
      "lead_time,relative,m1,m2,spread,rmse,nrmse,vrmse,invariant",
      f);
  for (int i = 0; i < EVAL_SPECTRAL; i++) fprintf(f, ",%s", spectral_names[i]);
  for (int i = 0; i < labels; i++) fprintf(f, ",label_%d", i);
  fclose(f);
  return text;
}

void stats_csv_row(char *buf, size_t n, const stats_row_key *k, int field, int64_t lead, bool relative,
                   const field_scores *s) {
  int w = snprintf(
      buf, n,
      "%s,%s,%.9g,%s,%s,%s,%d,%d,%.9g,%s,%lld,%lld,%lld,%d,%lld,%s,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g",
      k->run, k->target, k->compression, k->method, k->settings, k->guidance, k->context, k->overlap,
      k->speed, k->split, (long long)k->index, (long long)k->start, (long long)k->seed, field,
      (long long)lead, relative ? "True" : "False", s->m1, s->m2, s->spread, s->rmse, s->nrmse, s->vrmse,
      s->invariant);
  for (int i = 0; i < EVAL_SPECTRAL && w > 0 && (size_t)w < n; i++)
    w += snprintf(buf + w, n - (size_t)w, ",%.9g", s->spectral[i]);
  for (int i = 0; i < k->labels && w > 0 && (size_t)w < n; i++)
    w += snprintf(buf + w, n - (size_t)w, ",%.9g", (double)k->label[i]);
  if (w < 0 || (size_t)w >= n) lola_die(LOLA_EXIT_RUNTIME, "stats.csv row longer than %zu bytes", n);
}

void stats_csv_append(const char *path, int labels, const char *text) {
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0666);
  if (fd < 0) lola_die(LOLA_EXIT_RUNTIME, "cannot open %s: %s", path, strerror(errno));
  if (flock(fd, LOCK_EX) != 0) lola_die(LOLA_EXIT_RUNTIME, "cannot lock %s: %s", path, strerror(errno));
  struct stat st;
  int failed = fstat(fd, &st) != 0;
  if (!failed && st.st_size == 0) {
    char *header = stats_csv_header(labels);
    failed |= write(fd, header, strlen(header)) < 0 || write(fd, "\n", 1) != 1;
    free(header);
  }
  size_t len = strlen(text), done = 0;
  while (!failed && done < len) {
    ssize_t w = write(fd, text + done, len - done);
    if (w <= 0)
      failed = 1;
    else
      done += (size_t)w;
  }
  failed |= fsync(fd) != 0;
  flock(fd, LOCK_UN);
  close(fd);
  if (failed) lola_die(LOLA_EXIT_RUNTIME, "cannot write %s: %s", path, strerror(errno));
}
