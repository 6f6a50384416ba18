/* Building file paths without silent truncation. */
#ifndef LOLA_PATHS_H
#define LOLA_PATHS_H

#include <stddef.h>

enum { LOLA_PATH_MAX = 4096 };

/* buf <- "dir/name"; dies (runtime) naming both when it does not fit. Returns buf. */
char *path_join(char *buf, size_t n, const char *dir, const char *name);

#endif
