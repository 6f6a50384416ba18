#include "allreduce.h"

#include <mpi.h>

#include "../src/error.h"
#include "comm.h"

void allreduce_sum_doubles(double *v, int n) {
  if (comm_size() == 1) return;
  int rc = MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) lola_die(LOLA_EXIT_RUNTIME, "all-reduce of %d values failed (MPI error %d)", n, rc);
}
