#include "device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/error.h"
#include "comm.h"
#ifdef LOLA_CUDA
#include "../kernels/cuda/cuda_device.h"
#endif

static int selected_gpu = -1;
static bool activated;

bool device_select(void) {
#ifdef LOLA_CUDA
  int n = cuda_device_count();
  if (n > 0) selected_gpu = comm()->local_rank % n;
#endif
  return selected_gpu >= 0;
}

bool device_is_gpu(void) { return selected_gpu >= 0; }

bool device_activate(void) {
  if (activated || selected_gpu < 0) return activated;
#ifdef LOLA_CUDA
  activated = cuda_select_device(selected_gpu) == 0;
#endif
  return activated;
}

enum { PCI_ID = 32 };

void device_check_exclusive(bool use_gpu) {
  const lola_comm *c = comm();
  if (c->size == 1) return;
  char mine[PCI_ID] = "";
#ifdef LOLA_CUDA
  if (use_gpu && selected_gpu >= 0 && cuda_device_pci_id(selected_gpu, mine, PCI_ID) != 0) mine[0] = 0;
#else
  (void)use_gpu;
#endif
  char *all = lola_malloc((size_t)c->local_size * PCI_ID, "GPU ids of the node");
  MPI_Allgather(mine, PCI_ID, MPI_CHAR, all, PCI_ID, MPI_CHAR, c->local);
  for (int i = 0; i < c->local_size; i++)
    for (int j = i + 1; j < c->local_size; j++)
      if (all[i * PCI_ID] && !strncmp(all + i * PCI_ID, all + j * PCI_ID, PCI_ID))
        lola_die(LOLA_EXIT_DECK,
                 "node-local ranks %d and %d of node %d both drive the GPU at PCI %s: NCCL needs one GPU "
                 "per rank; launch one rank per GPU (srun --gpus-per-task=1, or as many ranks per node as "
                 "GPUs) or set run.device = \"cpu\"",
                 i, j, c->node, all + i * PCI_ID);
  free(all);
}

void cpu_model(char *buf, size_t n) {
  snprintf(buf, n, "unknown CPU");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) != 0) continue;
    const char *colon = strchr(line, ':');
    if (!colon) break;
    colon++;
    while (*colon == ' ') colon++;
    snprintf(buf, n, "%.*s", (int)strcspn(colon, "\n"), colon);
    break;
  }
  fclose(f);
}

void device_describe(char *buf, size_t n) {
#ifdef LOLA_CUDA
  if (selected_gpu >= 0) {
    cuda_device_describe(selected_gpu, buf, n);
    return;
  }
#endif
  char model[256];
  cpu_model(model, sizeof model);
  snprintf(buf, n, "CPU: %s (%ld cores online)", model, sysconf(_SC_NPROCESSORS_ONLN));
}

void device_versions(char *buf, size_t n) {
#ifdef LOLA_CUDA
  cuda_versions(buf, n);
#else
  snprintf(buf, n, "built without CUDA");
#endif
}
