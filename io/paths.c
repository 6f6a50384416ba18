#include "paths.h"

#include <stdio.h>

#include "../src/error.h"

char *path_join(char *buf, size_t n, const char *dir, const char *name) {
  int len = snprintf(buf, n, "%s/%s", dir, name);
  if (len < 0 || (size_t)len >= n) lola_die(LOLA_EXIT_RUNTIME, "path too long: %s/%s", dir, name);
  return buf;
}
