/* Files that must survive a crash are written to a temporary name in the same
 * directory, flushed to disk, and renamed into place: readers see the old file
 * or the new one, never half of one. */
#ifndef LOLA_ATOMIC_FILE_H
#define LOLA_ATOMIC_FILE_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
  FILE *fp;
  char *final_path;
  char *temp_path;
} atomic_file;

/* Open "<path>.tmp.<pid>" for writing; dies (runtime) naming `path` on failure. */
void atomic_open(atomic_file *af, const char *path);
/* fflush + fsync + rename onto the final path + fsync of the directory. */
void atomic_commit(atomic_file *af);
/* Close and delete the temporary file (error paths). */
void atomic_abandon(atomic_file *af);

/* Whole-buffer convenience: write `bytes` from `data` to `path` atomically. */
void atomic_write(const char *path, const void *data, size_t bytes);

/* Temporary name used for `path` by this process (caller frees). Collective
 * writers (parallel HDF5) use it with atomic_rename. */
char *atomic_temp_name(const char *path);
/* fsync `temp` and rename it onto `path`, then fsync the directory. */
void atomic_rename(const char *temp, const char *path);

/* mkdir -p; dies naming the path on failure. */
void make_dirs(const char *path);

#endif
