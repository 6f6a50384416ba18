/* Progress of long work, on rank 0: a live line (count/total, rate, ETA) when
 * stderr is a terminal, plain periodic lines when it is a file (batch jobs). */
#ifndef LOLA_PROGRESS_H
#define LOLA_PROGRESS_H

typedef struct {
  const char *what; /* "generate", "train_ae", ... */
  const char *unit; /* "traj", "step", ... */
  long total;
  double start, last_print;
  int live; /* stderr is a terminal */
} progress;

void progress_begin(progress *p, const char *what, const char *unit, long total);
/* `done` items finished so far; `extra` (may be NULL) is appended (e.g. "loss 0.123"). */
void progress_update(progress *p, long done, const char *extra);
void progress_end(progress *p, long done, const char *extra);

/* Wall-clock seconds (monotonic). */
double wall_time(void);

#endif
