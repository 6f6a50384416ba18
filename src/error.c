#include "error.h"

#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../parallel/comm.h"

static lola_error_trap *active_trap;

void lola_set_error_trap(lola_error_trap *trap) { active_trap = trap; }

static noreturn void trap_or_return(int code, const char *fmt, va_list ap) {
  lola_error_trap *trap = active_trap;
  active_trap = NULL; /* a failing test must not loop back into its own trap */
  trap->code = code;
  vsnprintf(trap->message, sizeof trap->message, fmt, ap);
  longjmp(trap->env, 1);
}

static void print_message(const char *fmt, va_list ap) {
  char text[4096];
  vsnprintf(text, sizeof text, fmt, ap);
  if (comm_size() > 1 && comm_rank() != 0)
    fprintf(stderr, "lola: error (rank %d): %s\n", comm_rank(), text);
  else
    fprintf(stderr, "lola: error: %s\n", text);
  fflush(stderr);
}

noreturn void lola_die(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (active_trap) trap_or_return(code, fmt, ap);
  print_message(fmt, ap);
  va_end(ap);
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized && comm_size() > 1) MPI_Abort(MPI_COMM_WORLD, code);
  if (initialized && !finalized) MPI_Finalize();
  exit(code);
}

noreturn void lola_die_collective(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (active_trap) trap_or_return(code, fmt, ap);
  if (comm_rank() == 0) print_message(fmt, ap);
  va_end(ap);
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Finalize();
  exit(code);
}

void *lola_malloc(size_t bytes, const char *what) {
  void *p = malloc(bytes ? bytes : 1);
  if (!p) lola_die(LOLA_EXIT_RUNTIME, "out of memory allocating %zu bytes for %s", bytes, what);
  return p;
}

void *lola_calloc(size_t count, size_t size, const char *what) {
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (!p) lola_die(LOLA_EXIT_RUNTIME, "out of memory allocating %zu x %zu bytes for %s", count, size, what);
  return p;
}
