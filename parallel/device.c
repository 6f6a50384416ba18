#include "device.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "comm.h"
#ifdef LOLA_CUDA
#include "../kernels/cuda/cuda_device.h"
#endif

static int selected_gpu = -1;

bool device_select(void) {
#ifdef LOLA_CUDA
  int n = cuda_device_count();
  if (n > 0 && cuda_select_device(comm()->local_rank % n) == 0) selected_gpu = comm()->local_rank % n;
#endif
  return selected_gpu >= 0;
}

bool device_is_gpu(void) { return selected_gpu >= 0; }

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
