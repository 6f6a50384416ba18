#define _GNU_SOURCE
#include "threads.h"

#include <cblas.h>
#include <omp.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "comm.h"

int threads_init(void) {
  int threads = 0;
  const char *env = getenv("OMP_NUM_THREADS");
  if (env && atoi(env) > 0) {
    threads = atoi(env);
  } else {
    cpu_set_t set;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    int bound = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : (int)online;
    if (bound < online)
      threads = bound; /* the launcher gave this rank its own CPUs */
    else
      threads = (int)(online / comm()->local_size);
    if (threads < 1) threads = 1;
  }
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);
  return threads;
}
