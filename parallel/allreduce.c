#include "allreduce.h"

#include <mpi.h>

#include "../src/error.h"
#include "comm.h"

/* 4 Mi floats (16 MiB) per bucket: large enough to reach full bandwidth, small
 * enough that MPI never needs a giant internal staging buffer. */
enum { BUCKET_FLOATS = 4 << 20 };

void allreduce_mean(float *buf, int64_t n) {
  int size = comm_size();
  if (size == 1) return;
  for (int64_t off = 0; off < n; off += BUCKET_FLOATS) {
    int count = (int)(n - off < BUCKET_FLOATS ? n - off : BUCKET_FLOATS);
    int rc = MPI_Allreduce(MPI_IN_PLACE, buf + off, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) lola_die(LOLA_EXIT_RUNTIME, "gradient all-reduce failed (MPI error %d)", rc);
  }
  float inv = 1.0f / (float)size;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) buf[i] *= inv;
}

void allreduce_sum_doubles(double *v, int n) {
  if (comm_size() == 1) return;
  int rc = MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) lola_die(LOLA_EXIT_RUNTIME, "all-reduce of %d values failed (MPI error %d)", n, rc);
}
