#define _POSIX_C_SOURCE 200809L
#include "harness.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../io/atomic_file.h"
#include "../../parallel/comm.h"

enum { MAX_TESTS = 1024 };

typedef struct {
  const char *name, *file;
  test_fn fn;
  int ranks;
} test_case;

static test_case tests[MAX_TESTS];
static int ntests;
static int failures_in_test;

void harness_register(const char *name, const char *file, test_fn fn, int ranks) {
  if (ntests == MAX_TESTS) {
    fprintf(stderr, "harness: too many tests\n");
    exit(1);
  }
  tests[ntests++] = (test_case){name, file, fn, ranks};
}

bool harness_check(bool ok, const char *expr, const char *file, int line) {
  if (!ok) {
    failures_in_test++;
    fprintf(stderr, "  [rank %d] %s:%d: CHECK failed: %s\n", comm_rank(), file, line, expr);
  }
  return ok;
}

bool harness_check_near(double got, double want, double tol, const char *expr, const char *file, int line) {
  bool ok = fabs(got - want) <= tol; /* NaN fails */
  if (!ok) {
    failures_in_test++;
    fprintf(stderr, "  [rank %d] %s:%d: %s: got %.9g, want %.9g (tol %.3g)\n", comm_rank(), file, line, expr,
            got, want, tol);
  }
  return ok;
}

static char tmpdir[512];

const char *harness_tmpdir(void) {
  if (!tmpdir[0]) {
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/lola-unit-%ld-r%d", base ? base : "/tmp", (long)getppid(),
             comm_rank());
    make_dirs(tmpdir);
  }
  return tmpdir;
}

int main(int argc, char **argv) {
  comm_init(&argc, &argv);
  /* One optional filter: a substring of the test or file name to run, or
   * "-substring" to run all but those. */
  const char *filter = argc > 1 ? argv[1] : NULL;
  int passed = 0, failed = 0;
  for (int i = 0; i < ntests; i++) {
    const test_case *t = &tests[i];
    if (t->ranks != comm_size()) continue;
    if (filter && filter[0] == '-' && (strstr(t->name, filter + 1) || strstr(t->file, filter + 1))) continue;
    if (filter && filter[0] != '-' && !strstr(t->name, filter) && !strstr(t->file, filter)) continue;
    failures_in_test = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    t->fn();
    int any = 0;
    MPI_Allreduce(&failures_in_test, &any, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (any)
      failed++;
    else
      passed++;
    if (comm_rank() == 0) {
      printf("%s %s (%d rank%s)\n", any ? "FAIL" : "ok  ", t->name, comm_size(), comm_size() > 1 ? "s" : "");
      fflush(stdout);
    }
  }
  if (comm_rank() == 0) printf("unit: %d passed, %d failed\n", passed, failed);
  comm_finalize();
  return failed ? 1 : 0;
}
