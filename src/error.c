#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local lola_error_trap *active_trap;
static lola_error_job job = {.rank = 0, .size = 1};
static void (*quiesce_hook)(void);

void lola_error_set_quiesce(void (*quiesce)(void)) { quiesce_hook = quiesce; }

void lola_error_set_job(const lola_error_job *j) {
  lola_error_job none = {.rank = 0, .size = 1};
  job = j ? *j : none;
}

void lola_set_error_trap(lola_error_trap *trap) { active_trap = trap; }

static _Noreturn void trap_or_return(int code, const char *fmt, va_list ap) {
  lola_error_trap *trap = active_trap;
  active_trap = NULL; /* a failing test must not loop back into its own trap */
  trap->code = code;
  vsnprintf(trap->message, sizeof trap->message, fmt, ap);
  longjmp(trap->env, 1);
}

static void print_message(const char *fmt, va_list ap) {
  char text[4096];
  vsnprintf(text, sizeof text, fmt, ap);
  if (job.size > 1 && job.rank != 0)
    fprintf(stderr, "lola: error (rank %d): %s\n", job.rank, text);
  else
    fprintf(stderr, "lola: error: %s\n", text);
  fflush(stderr);
}

_Noreturn void lola_die(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (active_trap) trap_or_return(code, fmt, ap);
  print_message(fmt, ap);
  va_end(ap);
  if (job.size > 1 && job.abort_job) job.abort_job(code);
  if (quiesce_hook) quiesce_hook();
  if (job.finish) job.finish();
  exit(code);
}

_Noreturn void lola_die_collective(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (active_trap) trap_or_return(code, fmt, ap);
  if (job.rank == 0) print_message(fmt, ap);
  va_end(ap);
  if (quiesce_hook) quiesce_hook();
  if (job.finish) job.finish();
  exit(code);
}

void *lola_malloc(size_t bytes, const char *what) {
  void *p = malloc(bytes ? bytes : 1);
  if (!p) lola_die(LOLA_EXIT_RUNTIME, "out of memory allocating %zu bytes for %s", bytes, what);
  return p;
}

void *lola_realloc(void *p, size_t bytes, const char *what) {
  void *q = realloc(p, bytes ? bytes : 1);
  if (!q) lola_die(LOLA_EXIT_RUNTIME, "out of memory growing %s to %zu bytes", what, bytes);
  return q;
}

void *lola_calloc(size_t count, size_t size, const char *what) {
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (!p) lola_die(LOLA_EXIT_RUNTIME, "out of memory allocating %zu x %zu bytes for %s", count, size, what);
  return p;
}
