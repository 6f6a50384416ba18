/* `inspect`: validate Well files and print what they hold, e.g.
 *   lola inputs/inspect.cfg inspect.path=/data/the_well/rayleigh_benard */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "../io/atomic_file.h"
#include "../io/h5util.h"
#include "../parallel/comm.h"
#include "stage.h"
#include "well_inspect.h"

static const deck_key inspect_own_keys[] = {
    {.path = "inspect.path",
     .type = KEY_STRING,
     .required = true,
     .help = "a Well HDF5 file, or a folder searched for *.hdf5 / *.h5"},
    {.path = NULL},
};
static const deck_key *const inspect_keys[] = {inspect_own_keys, NULL};

char *well_inspect_report(const char *path, size_t *len) {
  /* Every rank validates the same files, so a bad file ends the job with one
   * message and exit code 3 everywhere; rank 0 prints. */
  bool was = h5_errors_collective(true);
  char **files;
  int n = well_inspect_collect(path, &files);
  char *text = NULL;
  FILE *out = open_memstream(&text, len);
  long ntraj = 0;
  for (int i = 0; i < n; i++) ntraj += well_inspect_file(files[i], out);
  fprintf(out, "%d file%s, %ld trajectories: valid Well layout\n", n, n == 1 ? "" : "s", ntraj);
  fclose(out);
  h5_errors_collective(was);
  h5_free_strings(files, n);
  return text;
}

static void run_inspect(const run_ctx *ctx) {
  size_t len = 0;
  char *text = well_inspect_report(deck_string(ctx->deck, "inspect.path"), &len);
  if (comm_rank() == 0) {
    fputs(text, stdout);
    fflush(stdout);
    char path[4096];
    snprintf(path, sizeof path, "%s/inspect.txt", ctx->run_dir);
    atomic_write(path, text, len);
  }
  free(text);
}

const stage stage_inspect = {"inspect", "validate Well HDF5 files and summarise their contents", inspect_keys,
                             run_inspect, .device_ready = false};
