#include "log.h"

#include <stdarg.h>

#include "../parallel/comm.h"

void lola_log(const char *fmt, ...) {
  if (comm_rank() != 0) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stdout, fmt, ap);
  va_end(ap);
  fputc('\n', stdout);
  fflush(stdout);
}

void lola_warn(const char *fmt, ...) {
  if (comm_rank() != 0) return;
  va_list ap;
  va_start(ap, fmt);
  fputs("lola: warning: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
}
