/* The job's communicators: MPI world, and the node-local view used for device
 * placement. Every module asks here for its rank instead of calling MPI itself. */
#ifndef LOLA_COMM_H
#define LOLA_COMM_H

#include <mpi.h>

typedef struct {
  int rank, size;             /* in MPI_COMM_WORLD */
  int local_rank, local_size; /* on this node (MPI_COMM_TYPE_SHARED) */
  int node, nodes;            /* node index (by lowest world rank) and node count */
  MPI_Comm world, local;
} lola_comm;

/* Initialise MPI (thread level FUNNELED) and fill the global communicator view. */
void comm_init(int *argc, char ***argv);
void comm_finalize(void);

/* The job's communicator view; valid after comm_init. */
const lola_comm *comm(void);

/* Rank and size shortcuts; rank 0 and size 1 before comm_init (unit helpers). */
int comm_rank(void);
int comm_size(void);

/* Contiguous block [*begin, *end) of `count` items owned by `rank` of `size`,
 * balanced so block lengths differ by at most one. */
void comm_block(long count, int rank, int size, long *begin, long *end);

#endif
