/* One error path for the whole program.
 *
 * Exit codes: 2 = deck or usage, 3 = data, 1 = runtime. A fatal error prints one
 * message (prefixed with the rank when it is not rank 0) and aborts every rank
 * through MPI_Abort, so that no rank is left waiting in a collective. */
#ifndef LOLA_ERROR_H
#define LOLA_ERROR_H

#include <stddef.h>

enum { LOLA_EXIT_RUNTIME = 1, LOLA_EXIT_DECK = 2, LOLA_EXIT_DATA = 3 };

/* Print "lola: error: <message>" once and abort the job with `code`. */
_Noreturn void lola_die(int code, const char *fmt, ...) __attribute__((__noreturn__, format(printf, 2, 3)));

/* Like lola_die, for errors that every rank detects together (deck validation):
 * rank 0 prints, then all ranks finalise MPI and exit with `code` without MPI_Abort. */
_Noreturn void lola_die_collective(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Allocation that never returns NULL: dies with a runtime error naming `what`. */
void *lola_malloc(size_t bytes, const char *what);
void *lola_calloc(size_t count, size_t size, const char *what);
/* realloc that dies naming `what` instead of returning NULL. */
void *lola_realloc(void *p, size_t bytes, const char *what);

/* How a fatal error ends the job. The communicator layer (parallel/comm.c)
 * installs this once MPI is up; before that, or in programs without MPI, an
 * error prints and exits. */
typedef struct {
  int rank, size;
  void (*abort_job)(int code); /* end every rank now (MPI_Abort) */
  void (*finish)(void);        /* this rank's clean MPI shutdown before exit */
} lola_error_job;
void lola_error_set_job(const lola_error_job *job); /* NULL: back to print-and-exit */
/* Run by lola_die and lola_die_collective before the job's shutdown
 * (MPI_Finalize, exit): a library that a helper thread may be inside (HDF5,
 * io/h5util.h) waits for it there and keeps it out, so that the shutdown
 * does not tear the library down under the helper. One function; NULL none. */
void lola_error_set_quiesce(void (*quiesce)(void));

/* While a trap is set, lola_die and lola_die_collective on the thread that
 * set it copy their message and exit code into it and longjmp to `env`
 * instead of exiting: tests, and helper threads that hand their errors to
 * the main thread (src/batch_prefetch.h). Each thread has its own trap. */
#include <setjmp.h>
#include <stddef.h>
typedef struct {
  jmp_buf env;
  int code;
  char message[1024];
} lola_error_trap;
void lola_set_error_trap(lola_error_trap *trap); /* NULL to clear */

#endif
