/* Rank 0 talks to the user; other ranks stay quiet unless something fails. */
#ifndef LOLA_LOG_H
#define LOLA_LOG_H

#include <stdio.h>

/* Printed by rank 0 only, to stdout, followed by a newline. */
void lola_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Printed by rank 0 only, to stderr, as "lola: warning: ...". */
void lola_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
