#include "allreduce.h"

#include <mpi.h>

#include "../kernels/backend.h"
#include "../kernels/vector.h"
#include "../src/error.h"
#include "comm.h"
#include "nccl_comm.h"

/* 4 Mi floats (16 MiB) per bucket: large enough to reach full bandwidth, small
 * enough that MPI never needs a giant internal staging buffer. */
enum { BUCKET_FLOATS = 4 << 20 };

void allreduce_mean(float *buf, int64_t n) {
  int size = comm_size();
  if (size == 1) return;
  if (k_backend() == K_BACKEND_CUDA) { /* device buffers: NCCL on the kernels' stream */
    nccl_allreduce_mean(buf, n);
    return;
  }
  /* Host memory, or the memory behind the emulated device's addresses (as a
   * CUDA-aware MPI would take device buffers). */
  float *host = k_backend_host_address(buf);
  for (int64_t off = 0; off < n; off += BUCKET_FLOATS) {
    int count = (int)(n - off < BUCKET_FLOATS ? n - off : BUCKET_FLOATS);
    int rc = MPI_Allreduce(MPI_IN_PLACE, host + off, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) lola_die(LOLA_EXIT_RUNTIME, "gradient all-reduce failed (MPI error %d)", rc);
  }
  k_scal(buf, 1.0f / (float)size, n);
}

void allreduce_sum_doubles(double *v, int n) {
  if (comm_size() == 1) return;
  int rc = MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) lola_die(LOLA_EXIT_RUNTIME, "all-reduce of %d values failed (MPI error %d)", n, rc);
}
