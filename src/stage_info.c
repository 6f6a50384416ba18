/* `info`: where the job's ranks landed and what they will compute on — what a
 * cluster user runs first to check a job's placement. */
#include <cblas.h>
#include <fftw3.h>
#include <hdf5.h>
#include <libconfig.h>
#include <mpi.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../io/atomic_file.h"
#include "../parallel/comm.h"
#include "../parallel/device.h"
#include "log.h"
#include "stage.h"

enum { LINE = 512 };

static const deck_key info_own_keys[] = {
    {.path = "info.per_rank", .type = KEY_BOOL, .fallback = "true", .help = "print one line per rank"},
    {.path = NULL},
};
static const deck_key *const info_keys[] = {info_own_keys, NULL};

static void rank_line(char *buf, size_t n) {
  char host[128] = "?", dev[LINE - 160];
  gethostname(host, sizeof host);
  host[sizeof host - 1] = '\0';
  device_describe(dev, sizeof dev);
  const lola_comm *c = comm();
  snprintf(buf, n, "rank %3d  node %d (%s)  local %d/%d  threads %d  %s", c->rank, c->node, host,
           c->local_rank, c->local_size, omp_get_max_threads(), dev);
}

static void versions(char *buf, size_t n) {
  char mpi[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(mpi, &len);
  mpi[strcspn(mpi, "\n,")] = '\0';
  unsigned h5maj = 0, h5min = 0, h5rel = 0;
  H5get_libversion(&h5maj, &h5min, &h5rel);
  char dev[256];
  device_versions(dev, sizeof dev);
  snprintf(buf, n,
           "MPI       %s\nHDF5      %u.%u.%u (parallel)\nlibconfig %d.%d.%d\nOpenBLAS  %s\nFFTW      %s\n"
           "CUDA      %s\n",
           mpi, h5maj, h5min, h5rel, LIBCONFIG_VER_MAJOR, LIBCONFIG_VER_MINOR, LIBCONFIG_VER_REVISION,
           openblas_get_config(), fftwf_version, dev);
}

static void run_info(const run_ctx *ctx) {
  const lola_comm *c = comm();
  char mine[LINE];
  rank_line(mine, sizeof mine);
  char *all = c->rank == 0 ? malloc((size_t)c->size * LINE) : NULL;
  MPI_Gather(mine, LINE, MPI_CHAR, all, LINE, MPI_CHAR, 0, c->world);
  int gpu = device_is_gpu() ? 1 : 0, gpus = 0;
  MPI_Reduce(&gpu, &gpus, 1, MPI_INT, MPI_SUM, 0, c->world);
  if (c->rank != 0) return;

  char *report = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&report, &len);
  int per_node = c->size / (c->nodes ? c->nodes : 1);
  const char *wait = getenv("OMP_WAIT_POLICY");
  fprintf(
      out,
      "lola %s: %d rank%s on %d node%s (%d%s rank%s per node), %d thread%s per rank (OMP_WAIT_POLICY %s)\n",
      LOLA_VERSION, c->size, c->size == 1 ? "" : "s", c->nodes, c->nodes == 1 ? "" : "s", per_node,
      c->size % c->nodes ? " or more" : "", per_node == 1 ? "" : "s", omp_get_max_threads(),
      omp_get_max_threads() == 1 ? "" : "s", wait ? wait : "unset: spinning threads may slow OpenBLAS");
  char v[2048];
  versions(v, sizeof v);
  fputs(v, out);
  const char *want = deck_string(ctx->deck, "run.device");
  if (!strcmp(want, "cpu") || (!strcmp(want, "auto") && gpus == 0))
    fprintf(out, "model kernels (run.device = %s): the CPU of every rank%s\n", want,
            strcmp(want, "auto") ? "" : " (no GPU visible)");
  else if (!strcmp(want, "emulated"))
    fprintf(out, "model kernels (run.device = emulated): the emulated device (CPU kernels) of every rank\n");
  else if (gpus == c->size)
    fprintf(out, "model kernels (run.device = %s): the GPU of every rank\n", want);
  else
    fprintf(out, "model kernels (run.device = auto): the GPU of %d rank%s, the CPU of %d\n", gpus,
            gpus == 1 ? "" : "s", c->size - gpus);
  if (deck_bool(ctx->deck, "info.per_rank"))
    for (int r = 0; r < c->size; r++) fprintf(out, "%s\n", all + (size_t)r * LINE);
  fclose(out);
  fputs(report, stdout);
  fflush(stdout);

  char path[4096];
  snprintf(path, sizeof path, "%s/info.txt", ctx->run_dir);
  atomic_write(path, report, len);
  free(report);
  free(all);
}

const stage stage_info = {"info", "report ranks, nodes, threads, devices and library versions", info_keys,
                          run_info, .device_ready = false};
