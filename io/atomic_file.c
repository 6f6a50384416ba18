#define _POSIX_C_SOURCE 200809L
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../src/error.h"

char *atomic_temp_name(const char *path) {
  size_t n = strlen(path) + 32;
  char *t = lola_malloc(n, "temporary file name");
  snprintf(t, n, "%s.tmp.%ld", path, (long)getpid());
  return t;
}

static void sync_directory_of(const char *path) {
  char *copy = strdup(path);
  int fd = open(dirname(copy), O_RDONLY);
  if (fd >= 0) {
    fsync(fd); /* the rename itself must be durable, not only the data */
    close(fd);
  }
  free(copy);
}

void atomic_open(atomic_file *af, const char *path) {
  af->final_path = strdup(path);
  af->temp_path = atomic_temp_name(path);
  af->fp = fopen(af->temp_path, "wb");
  if (!af->fp) lola_die(LOLA_EXIT_RUNTIME, "cannot write %s: %s", af->temp_path, strerror(errno));
}

void atomic_rename(const char *temp, const char *path) {
  int fd = open(temp, O_RDONLY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
  if (rename(temp, path) != 0)
    lola_die(LOLA_EXIT_RUNTIME, "cannot rename %s to %s: %s", temp, path, strerror(errno));
  sync_directory_of(path);
}

void atomic_commit(atomic_file *af) {
  int failed = fflush(af->fp) != 0 || ferror(af->fp) || fsync(fileno(af->fp)) != 0;
  failed |= fclose(af->fp) != 0;
  af->fp = NULL;
  if (failed) {
    int err = errno;
    unlink(af->temp_path);
    lola_die(LOLA_EXIT_RUNTIME, "cannot write %s: %s", af->final_path, strerror(err));
  }
  atomic_rename(af->temp_path, af->final_path);
  free(af->temp_path);
  free(af->final_path);
  af->temp_path = af->final_path = NULL;
}

void atomic_abandon(atomic_file *af) {
  if (af->fp) fclose(af->fp);
  if (af->temp_path) unlink(af->temp_path);
  free(af->temp_path);
  free(af->final_path);
  af->fp = NULL;
  af->temp_path = af->final_path = NULL;
}

void atomic_write(const char *path, const void *data, size_t bytes) {
  atomic_file af;
  atomic_open(&af, path);
  if (bytes && fwrite(data, 1, bytes, af.fp) != bytes) {
    int err = errno;
    atomic_abandon(&af);
    lola_die(LOLA_EXIT_RUNTIME, "cannot write %s: %s", path, strerror(err));
  }
  atomic_commit(&af);
}

void make_dirs(const char *path) {
  char *p = strdup(path);
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = '\0';
    if (mkdir(p, 0777) != 0 && errno != EEXIST)
      lola_die(LOLA_EXIT_RUNTIME, "cannot create directory %s: %s", p, strerror(errno));
    *s = '/';
  }
  if (mkdir(p, 0777) != 0 && errno != EEXIST)
    lola_die(LOLA_EXIT_RUNTIME, "cannot create directory %s: %s", p, strerror(errno));
  struct stat st;
  if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
    lola_die(LOLA_EXIT_RUNTIME, "%s exists and is not a directory", p);
  free(p);
}
