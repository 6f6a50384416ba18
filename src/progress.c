#define _POSIX_C_SOURCE 200809L
#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "../parallel/comm.h"

/* Batch logs get a plain line at most this often (seconds). */
enum { PLAIN_INTERVAL = 10 };

double wall_time(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void format_duration(double s, char *buf, size_t n) {
  if (s < 0 || s > 1e8) {
    snprintf(buf, n, "--");
  } else if (s < 100) {
    snprintf(buf, n, "%.0fs", s);
  } else if (s < 6000) {
    snprintf(buf, n, "%dm%02ds", (int)s / 60, (int)s % 60);
  } else {
    snprintf(buf, n, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
  }
}

static void print_line(progress *p, long done, const char *extra, int final) {
  double elapsed = wall_time() - p->start;
  double rate = elapsed > 0 ? (double)done / elapsed : 0;
  char eta[32], took[32];
  format_duration(rate > 0 ? (double)(p->total - done) / rate : -1, eta, sizeof eta);
  format_duration(elapsed, took, sizeof took);
  int pct = p->total > 0 ? (int)(100.0 * (double)done / (double)p->total) : 100;
  fprintf(stderr, "%s%s %ld/%ld %s (%d%%) %.3g %s/s %s %s%s%s%s", p->live ? "\r\033[K" : "", p->what, done,
          p->total, p->unit, pct, rate, p->unit, final ? "took" : "eta", final ? took : eta,
          extra ? " | " : "", extra ? extra : "", p->live && !final ? "" : "\n");
  fflush(stderr);
  p->last_print = wall_time();
}

void progress_begin(progress *p, const char *what, const char *unit, long total) {
  p->what = what;
  p->unit = unit;
  p->total = total;
  p->start = p->last_print = wall_time();
  p->live = isatty(fileno(stderr));
}

void progress_update(progress *p, long done, const char *extra) {
  if (comm_rank() != 0) return;
  double now = wall_time();
  double interval = p->live ? 0.2 : PLAIN_INTERVAL;
  if (now - p->last_print < interval) return;
  print_line(p, done, extra, 0);
}

void progress_end(progress *p, long done, const char *extra) {
  if (comm_rank() != 0) return;
  print_line(p, done, extra, 1);
}
