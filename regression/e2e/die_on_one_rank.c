/* A job where one rank hits a fatal error while the others wait in a collective:
 * the whole job must end promptly with the error's exit code and one message. */
#include <mpi.h>
#include <stdlib.h>

#include "../../parallel/comm.h"
#include "../../src/error.h"

int main(int argc, char **argv) {
  comm_init(&argc, &argv);
  int victim = argc > 1 ? atoi(argv[1]) : 1;
  if (comm_rank() == victim) lola_die(LOLA_EXIT_DATA, "simulated data error in file fixture.h5");
  MPI_Barrier(MPI_COMM_WORLD); /* the survivors would wait here forever without MPI_Abort */
  comm_finalize();
  return 0;
}
