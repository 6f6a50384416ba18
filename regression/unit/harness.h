/* The unit-test harness: tests register themselves with TEST / TEST_RANKS and
 * build/unit runs those whose rank count matches the MPI world size, closing
 * with "N passed, N failed". A multi-rank test fails if it fails on any rank. */
#ifndef LOLA_HARNESS_H
#define LOLA_HARNESS_H

#include <math.h>
#include <stdbool.h>

#include "../../src/error.h"

typedef void (*test_fn)(void);
void harness_register(const char *name, const char *file, test_fn fn, int ranks);
bool harness_check(bool ok, const char *expr, const char *file, int line);
bool harness_check_near(double got, double want, double tol, const char *expr, const char *file, int line);

/* A test that runs in the single-process pass (1 rank). */
#define TEST(name) TEST_RANKS(name, 1)
/* A test that runs when the world has exactly `n` ranks. */
#define TEST_RANKS(name, n)                                        \
  static void name(void);                                          \
  __attribute__((constructor)) static void register_##name(void) { \
    harness_register(#name, __FILE__, name, n);                    \
  }                                                                \
  static void name(void)

#define CHECK(cond) harness_check((cond), #cond, __FILE__, __LINE__)
/* |got - want| <= tol */
#define CHECK_NEAR(got, want, tol) \
  harness_check_near((got), (want), (tol), #got " ~ " #want, __FILE__, __LINE__)
/* |got - want| <= rtol * max(|want|, 1e-30) */
#define CHECK_REL(got, want, rtol)                                                                        \
  harness_check_near((got), (want), (rtol)*fmax(fabs((double)(want)), 1e-30), #got " ~ " #want, __FILE__, \
                     __LINE__)

/* Run `body` expecting it to call lola_die; true when it did with `code`.
 * The message is left in trap.message for further checks. */
#define EXPECT_DIE(trap_, code_, body) \
  ({                                   \
    volatile bool died_ = false;       \
    if (setjmp((trap_).env) == 0) {    \
      lola_set_error_trap(&(trap_));   \
      body;                            \
      lola_set_error_trap(NULL);       \
    } else {                           \
      died_ = (trap_).code == (code_); \
    }                                  \
    died_;                             \
  })

/* A scratch directory unique to this test run and rank (created on demand). */
const char *harness_tmpdir(void);

#endif
